"""The L-layer network of the seed: forward pass with a cache, backward pass.

Shapes (rows are examples; weights in the seed's orientation)::

    A0 = X          (m, n_0)
    W[l]            (n_l, n_{l-1})          b[l]  (n_l,)
    Z[l] = A[l-1] @ W[l].T + b[l]           (m, n_l)
    A[l] = g[l](Z[l])                       (m, n_l)

All parameters live in one flat contiguous buffer, laid out
``[W1, ..., WL, b1, ..., bL]``; ``net.params`` hands out the seed-named views
into it. The weights come first so that the L2 penalty and other per-weight
updates act on one contiguous slice.
"""

from __future__ import annotations

import copy
import functools
import math
import numbers
from types import MappingProxyType
from typing import NamedTuple

import numpy as np

from ..errors import ConfigError, DataError, ShapeError
from ..layers import Dense, Dropout, layer_from_config
from ..limits import require_memory
from ..ops.losses import CLASSIFICATION_LOSSES, FUSED, get_loss
from .checks import as_numeric_2d, check_finite

DTYPES = ("float32", "float64")


class Network:
    """A feedforward network trained by backpropagation.

    Parameters
    ----------
    layers : list of Dense and Dropout
        The layers in order. A ``Dropout`` acts on the output of the ``Dense``
        layer before it (or, placed first, on the input).
    loss : str, optional
        ``"cross_entropy"``, ``"binary_cross_entropy"``, ``"mse"``, ``"mae"``
        or ``"huber"``. By default chosen from the output activation: softmax
        -> cross_entropy, sigmoid -> binary_cross_entropy, otherwise mse.
    input_dim : int, optional
        Number of input features ``n_0``. Without it the network is built on
        its first input.
    seed : int, optional
        Seed of the network's NumPy ``Generator``, the only source of
        randomness (initialisation, shuffling, dropout).
    dtype : {"float32", "float64"}, default "float32"
        Precision of parameters and computation. Inputs are cast to it.
    l2 : float, default 0
        L2 penalty ``lambda``: the loss gains ``lambda/(2m) sum_l ||W[l]||^2``.

    Examples
    --------
    >>> import layerwise as lw
    >>> net = lw.Network([lw.Dense(4), lw.Dense(3, activation="softmax")], input_dim=2, seed=0)
    >>> net.params["W1"].shape
    (4, 2)
    """

    def __init__(self, layers, loss: str | None = None, input_dim: int | None = None,
                 seed: int | None = None, dtype: str = "float32", l2: float = 0.0):
        layers = list(layers)
        if not layers or not any(isinstance(layer, Dense) for layer in layers):
            raise ConfigError("a Network needs at least one Dense layer")
        for index, layer in enumerate(layers):
            if not isinstance(layer, (Dense, Dropout)):
                raise ConfigError(f"layer {index} must be a Dense or Dropout layer, received {layer!r}")
            if isinstance(layer, Dropout) and index > 0 and isinstance(layers[index - 1], Dropout):
                raise ConfigError(f"layers {index - 1} and {index} are consecutive Dropout layers; merge them")
        if isinstance(layers[-1], Dropout):
            raise ConfigError("the last layer must be Dense, not Dropout")
        if str(dtype) not in DTYPES:
            raise ConfigError(f"dtype must be one of {', '.join(DTYPES)}, received {dtype!r}")
        if not isinstance(l2, numbers.Real) or l2 < 0:
            raise ConfigError(f"l2 must be a non-negative number, received {l2!r}")
        self.layers = layers
        self.dense = [layer for layer in layers if isinstance(layer, Dense)]
        self.dropouts = _dropouts_by_output(layers)
        output = self.dense[-1].activation.name
        if loss is None:
            loss = {"softmax": "cross_entropy", "sigmoid": "binary_cross_entropy"}.get(output, "mse")
        self.loss_fn = get_loss(loss)
        self.fused = (output, self.loss_fn.name) in FUSED
        self.dtype = np.dtype(str(dtype))
        self.seed = seed
        self.rng = np.random.default_rng(seed)
        self.l2 = float(l2)
        self.classes = None
        self.input_dim = None
        self.theta = self.dtheta = None
        if input_dim is not None:
            self.build(input_dim)

    # ------------------------------------------------------------------ build
    @property
    def L(self) -> int:
        """Number of Dense layers, the seed's ``L``."""
        return len(self.dense)

    @property
    def built(self) -> bool:
        return self.theta is not None

    def build(self, input_dim: int) -> Network:
        """Allocate and initialise the parameters for ``input_dim`` features."""
        if isinstance(input_dim, bool) or not isinstance(input_dim, numbers.Integral) or input_dim < 1:
            raise ConfigError(f"input_dim must be a positive integer, received {input_dim!r}")
        n_params = sum(math.prod(shape) for shape in self.parameter_shapes(input_dim).values())
        require_memory(self.memory_needed(input_dim), f"the parameters and gradients of a network of "
                       f"{self._describe(input_dim)} ({n_params} {self.dtype.name} values each)")
        self.input_dim = int(input_dim)
        widths = [self.input_dim] + [layer.units for layer in self.dense]
        self.theta = np.zeros(self.n_params_for(widths), dtype=self.dtype)
        self.dtheta = np.zeros_like(self.theta)
        self._views = _param_views(self.theta, widths)
        self.n_weights = sum(W.size for W, _ in self._views)
        for layer, (W, b) in zip(self.dense, self._views):
            layer.bind(W, b)
            layer.initialize(self.rng)
        self.grad_views = _param_views(self.dtheta, widths)
        return self

    def parameter_shapes(self, input_dim: int) -> dict[str, tuple[int, ...]]:
        """The names and shapes of the parameters for ``input_dim`` input features, without allocating.

        Each layer reports its own parameters and output size; every layer but
        ``Dropout`` takes the next number ``l`` (``W<l>``, ``b<l>``).
        """
        shapes, width, l = {}, int(input_dim), 0
        for layer in self.layers:
            if not isinstance(layer, Dropout):
                l += 1
            shapes.update({f"{name}{l}": shape for name, shape in layer.parameter_shapes(width).items()})
            width = layer.output_size(width)
        return shapes

    def memory_needed(self, input_dim: int) -> int:
        """Bytes that :meth:`build` allocates for ``input_dim`` features, at its peak.

        ``theta`` and ``dtheta``, plus the float64 array in which the
        initialiser draws the largest parameter before it is copied in.
        """
        sizes = [math.prod(shape) for shape in self.parameter_shapes(input_dim).values()]
        return 2 * sum(sizes) * self.dtype.itemsize + 8 * max(sizes, default=0)

    def _describe(self, input_dim: int) -> str:
        """``4 -> 16 -> 3``: the widths of the input and of each numbered layer's output."""
        widths, width = [int(input_dim)], int(input_dim)
        for layer in self.layers:
            width = layer.output_size(width)
            if not isinstance(layer, Dropout):
                widths.append(width)
        return " -> ".join(map(str, widths))

    @staticmethod
    def n_params_for(widths: list[int]) -> int:
        return sum(n_out * (n_in + 1) for n_in, n_out in zip(widths[:-1], widths[1:]))

    def _ensure_built(self, n_features: int) -> None:
        if not self.built:
            self.build(n_features)

    @property
    def params(self) -> dict[str, np.ndarray]:
        """Live parameter arrays keyed ``W1, b1, ..., WL, bL``; writes change the network."""
        self._require_built()
        out = {}
        for l, layer in enumerate(self.dense, start=1):
            out[f"W{l}"], out[f"b{l}"] = layer.W, layer.b
        return out

    @property
    def n_params(self) -> int:
        self._require_built()
        return self.theta.size

    def _require_built(self) -> None:
        if not self.built:
            raise ConfigError("the network is not built yet: pass input_dim= or call forward/fit on data first")

    # ---------------------------------------------------------------- checks
    def check_X(self, X, name: str = "X") -> np.ndarray:
        """Validate ``X`` and return it as a 2-D array of the network's dtype."""
        X = as_numeric_2d(X, name, dtype=self.dtype)
        self._ensure_built(X.shape[1])
        if X.shape[1] != self.input_dim:
            raise ShapeError(
                f"Dense layer 1 expects {self.input_dim} input features, received {X.shape[1]}"
            )
        return X

    def check_Y(self, Y, m: int | None = None) -> np.ndarray:
        """Validate targets and return them as an ``(m, K)`` array of the network's dtype.

        Cross-entropy accepts integer class labels ``0 .. K-1`` of shape
        ``(m,)`` and one-hot rows; a single-output network accepts ``(m,)``.
        """
        K = self.dense[-1].units
        try:
            Y = np.asarray(Y)
        except (ValueError, TypeError) as exc:
            raise DataError(f"Y must be a numeric array ({exc})") from None
        if Y.dtype.kind not in "biuf":
            raise DataError(f"Y must be numeric, received an array of dtype {Y.dtype}")
        if Y.ndim == 0 or Y.ndim > 2 or Y.size == 0:
            raise ShapeError(f"Y must be a non-empty 1-D or 2-D array, received shape {Y.shape}")
        check_finite(Y, "Y")
        if m is not None and Y.shape[0] != m:
            raise ShapeError(f"X and Y must have the same number of examples (rows); received {m} and {Y.shape[0]}")
        labels = Y.ndim == 1 or (Y.shape[1] == 1 and K > 1)
        if labels and self.loss_fn.name == "cross_entropy":
            return self._one_hot(Y.reshape(-1))
        if Y.ndim == 1:
            Y = Y.reshape(-1, 1)
        if Y.shape[1] != K:
            raise ShapeError(
                f"Y has {Y.shape[1]} column(s) but the output layer (Dense layer {self.L}) has {K} unit(s)"
            )
        return Y.astype(self.dtype, copy=False)

    def _one_hot(self, labels: np.ndarray) -> np.ndarray:
        K = self.dense[-1].units
        if labels.dtype.kind == "f" and not np.all(labels == np.round(labels)):
            raise DataError("class labels must be integers, received non-integer values")
        bad = (labels < 0) | (labels >= K)
        if bad.any():
            first = int(np.argmax(bad))
            raise DataError(
                f"class labels must lie in 0..{K - 1} for an output layer of {K} units; "
                f"{int(bad.sum())} label(s) out of range, the first is {labels[first].item()!r} at row {first}"
            )
        Y = np.zeros((labels.size, K), dtype=self.dtype)
        Y[np.arange(labels.size), labels.astype(np.intp)] = 1
        return Y

    def check_sample_weight(self, sample_weight, m: int) -> np.ndarray | None:
        """Validate per-example weights: shape ``(m,)``, finite, non-negative, not all zero."""
        if sample_weight is None:
            return None
        w = as_numeric_2d(np.asarray(sample_weight).reshape(-1, 1), "sample_weight", dtype=self.dtype).ravel()
        if w.size != m:
            raise ShapeError(f"sample_weight must have one weight per example ({m}), received {w.size}")
        if (w < 0).any() or not w.sum() > 0:
            raise DataError("sample_weight must be non-negative with a positive sum")
        return w

    # --------------------------------------------------------------- forward
    def forward(self, X, training: bool = False):
        """Run the forward pass.

        Parameters
        ----------
        X : array-like of shape (m, n_0)
        training : bool, default False
            Apply dropout (the masks are stored in the cache as ``D<l>``).

        Returns
        -------
        AL : ndarray of shape (m, n_L)
            The output ``A<L>`` (a copy the caller owns).
        cache : dict
            ``A0, Z1, A1, ..., ZL, AL`` (and dropout masks ``D<l>``).
        """
        X = self.check_X(X)
        cache = self._forward(X, training)
        return cache[f"A{self.L}"], cache

    def _forward(self, X: np.ndarray, training: bool = False, workspace: dict | None = None) -> dict:
        """The seed's forward loop; ``workspace`` (see :func:`layerwise.training.make_workspace`)
        supplies preallocated outputs."""
        ws = _NO_WORKSPACE if workspace is None else workspace
        dropouts = self.dropouts if training else _NO_WORKSPACE
        cache = {}
        cache["A0"] = A = X if 0 not in dropouts else self._dropout(0, X, cache, ws)
        for l, (layer, (z, a)) in enumerate(zip(self.dense, _forward_keys(self.L)), start=1):
            Z, A = layer.forward(A, ws.get(z), ws.get(a))  # Z = W.A_prev + b ; A = g(Z)
            cache[z] = Z
            cache[a] = A = A if l not in dropouts else self._dropout(l, A, cache, ws)
        return cache

    def _dropout(self, l: int, A: np.ndarray, cache: dict, ws) -> np.ndarray:
        """Apply layer ``l``'s dropout (0: the input, which is not modified), keeping its mask as
        ``cache["D<l>"]``; the mask and the dropped input go into the workspace's ``D<l>`` and ``A0``."""
        dropout = self.dropouts[l]
        if dropout.rate == 0:
            return A
        cache[f"D{l}"] = D = dropout.mask(self.rng, A.shape, self.dtype, out=ws.get(f"D{l}"))
        return np.multiply(A, D, out=ws.get("A0") if l == 0 else A)

    # -------------------------------------------------------------- backward
    def backward(self, cache: dict, Y, sample_weight=None) -> dict[str, np.ndarray]:
        """Run the backward pass of the seed.

        Parameters
        ----------
        cache : dict
            The cache returned by :meth:`forward`.
        Y : array-like
            Targets: one-hot rows or integer labels for cross-entropy,
            otherwise an ``(m, K)`` array (``(m,)`` when ``K == 1``).
        sample_weight : array-like of shape (m,), optional
            Per-example weights; the loss becomes their weighted mean.

        Returns
        -------
        grads : dict
            ``dW<l>``, ``db<l>`` (exactly ``dJ/dW``, ``dJ/db`` of the mean
            loss), ``dZ<l>`` and ``dA<l>`` (per-example derivatives,
            ``m * dJ/dZ`` and ``m * dJ/dA``) for every layer. ``dA<L>`` is
            present only on the general output path, where it is computed.
        """
        m = cache["A0"].shape[0]
        Y = self.check_Y(Y, m)
        w = self.check_sample_weight(sample_weight, m)
        dtheta = np.empty_like(self.theta)
        grad_views = _param_views(dtheta, self._widths)
        grads = self._backward(cache, Y, w, dtheta, grad_views)
        for l, (dW, db) in enumerate(grad_views, start=1):
            grads[f"dW{l}"], grads[f"db{l}"] = dW, db
        return grads

    @property
    def _widths(self) -> list[int]:
        return [self.input_dim] + [layer.units for layer in self.dense]

    def _backward(self, cache: dict, Y: np.ndarray, sample_weight: np.ndarray | None,
                  dtheta: np.ndarray, grad_views: list, workspace: dict | None = None) -> dict:
        """Backpropagate from the output to layer 1, writing ``dW``, ``db`` into ``dtheta``.

        With a ``workspace`` the per-example derivatives are written into
        its buffers, which the next batch reuses.
        """
        ws = _NO_WORKSPACE if workspace is None else workspace
        L, m = self.L, Y.shape[0]
        keys = _backward_keys(L)
        grads = {}
        AL, ZL = cache[keys[-1].A], cache[keys[-1].Z]
        if self.fused:
            dZ = np.subtract(AL, Y, out=ws.get(keys[-1].dZ))  # dZ_L = A_L - Y (the seed's shortcut)
        else:
            grads[keys[-1].dA] = dA = self.loss_fn.grad(AL, Y)  # dA_L = dJ/dA_L
            dZ = self.dense[-1].activation.backward(dA, ZL, AL, out=ws.get(keys[-1].dZ))  # dZ_L = dA_L * g'(Z_L)
        if sample_weight is not None:  # the weighted mean; a training batch whose weights are all 0 adds nothing
            total = sample_weight.sum()
            dZ *= (sample_weight * (m / total if total > 0 else 0.0))[:, None]
        for l in range(L, 0, -1):
            layer, key = self.dense[l - 1], keys[l - 1]
            scratch = ws.get(key.S)
            if l < L:
                D = cache.get(key.D)
                if D is not None:
                    dA = np.multiply(dA, D, out=ws.get(key.dZ))  # through the mask (dA itself stays as it was)
                A = cache[key.A] if D is None else layer.activation.forward(cache[key.Z], out=ws.get(key.G))  # g(Z)
                dZ = layer.activation.backward(dA, cache[key.Z], A, out=ws.get(key.dZ), scratch=scratch)  # dA * g'(Z)
            grads[key.dZ] = dZ
            dW, db = grad_views[l - 1]
            dA = layer.backward(dZ, cache[key.A_prev], dW, db, ws.get(key.dA_prev), need_dA_prev=l > 1,
                                scratch=scratch)
            if l > 1:
                grads[key.dA_prev] = dA
        if self.l2:
            decay = np.multiply(self.theta[: self.n_weights], self.l2 / m, out=ws.get("decay"))
            dtheta[: self.n_weights] += decay  # dW += (lambda/m) W
        return grads

    # ------------------------------------------------------------------ loss
    def loss(self, AL, Y, sample_weight=None) -> float:
        """The cost ``J``: the mean (or weighted mean) loss plus the L2 penalty."""
        AL = np.asarray(AL)
        Y = self.check_Y(Y, AL.shape[0])
        w = self.check_sample_weight(sample_weight, AL.shape[0])
        return self._loss(AL, Y, w)

    def _loss(self, AL: np.ndarray, Y: np.ndarray, sample_weight: np.ndarray | None = None,
              scratch: np.ndarray | None = None) -> float:
        """``J``; ``scratch``, shaped like ``AL``, spares the loss its temporaries."""
        J = self.loss_fn.value(AL, Y, sample_weight, out=scratch)
        if self.l2:
            W = self.theta[: self.n_weights]
            J += self.l2 / (2 * Y.shape[0]) * float(np.dot(W, W))
        return J

    # -------------------------------------------------------------- predict
    @property
    def is_classifier(self) -> bool:
        return self.loss_fn.name in CLASSIFICATION_LOSSES

    def predict_proba(self, X) -> np.ndarray:
        """Return the output activations ``A<L>`` (probabilities for classifiers)."""
        return self._output(self.check_X(X))

    def _output(self, X: np.ndarray) -> np.ndarray:
        """``A<L>`` of checked inputs without a cache: each ``A<l>`` is written over its ``Z<l>``."""
        A = X
        for layer in self.dense:
            Z = np.empty((X.shape[0], layer.units), dtype=self.dtype)
            _, A = layer.forward(A, Z, Z)  # Z = W.A_prev + b ; A = g(Z), in place
        return A

    def predict(self, X) -> np.ndarray:
        """Predict targets.

        Cross-entropy networks return class indices (or ``classes`` labels
        when set); binary cross-entropy returns 0/1 of shape ``(m,)`` for one
        output and ``(m, K)`` for multi-label; regression returns ``A<L>``.
        """
        AL = self.predict_proba(X)
        if self.loss_fn.name == "cross_entropy":
            index = AL.argmax(axis=1)
        elif self.loss_fn.name == "binary_cross_entropy":
            index = (AL > 0.5).astype(np.int64)
            if AL.shape[1] == 1:
                index = index.ravel()
        else:
            return AL
        return index if self.classes is None else np.asarray(self.classes)[index]

    # ---------------------------------------------------------------- config
    def get_config(self) -> dict:
        """A JSON-compatible description from which :meth:`from_config` rebuilds the network."""
        return {
            "layers": [layer.get_config() for layer in self.layers],
            "loss": self.loss_fn.name,
            "input_dim": self.input_dim,
            "seed": self.seed,
            "dtype": self.dtype.name,
            "l2": self.l2,
            "classes": None if self.classes is None else list(self.classes),
        }

    @classmethod
    def from_config(cls, config: dict) -> Network:
        """Build an (initialised) network from :meth:`get_config` output."""
        layers = [layer_from_config(layer) for layer in config["layers"]]
        net = cls(layers, loss=config["loss"], input_dim=config.get("input_dim"), seed=config.get("seed"),
                  dtype=config.get("dtype", "float32"), l2=config.get("l2", 0.0))
        net.classes = config.get("classes")
        return net

    def copy(self) -> Network:
        """An independent deep copy (parameters, generator state and all)."""
        return copy.deepcopy(self)

    def __setstate__(self, state: dict) -> None:
        """Unpickling and deep copies: the layers' ``W``, ``b`` and the gradient views are views of the
        flat buffers again (pickle stores each view as an array of its own)."""
        self.__dict__.update(state)
        if self.built:
            self._views = _param_views(self.theta, self._widths)
            self.grad_views = _param_views(self.dtheta, self._widths)
            for layer, (W, b) in zip(self.dense, self._views):
                layer.bind(W, b)

    def astype(self, dtype: str) -> Network:
        """A copy of the network in another dtype (the generator state is copied too)."""
        twin = Network.from_config({**self.get_config(), "dtype": str(dtype), "input_dim": None})
        twin.rng = copy.deepcopy(self.rng)
        if self.built:
            twin.build(self.input_dim)
            twin.theta[...] = self.theta
        twin.classes = self.classes
        return twin

    def fit(self, X, Y, epochs: int = 10, batch_size: int = 32, optimizer="adam", *, lr: float | None = None,
            schedule=None, validation_data=None, validation_split: float = 0.0, shuffle: bool = True,
            callbacks=None, class_weight=None, sample_weight=None, early_stopping=None,
            clip_norm: float | None = None, l2: float | None = None, checkpoint=None, resume_from=None,
            diagnostics=False, distributed=None, verbose: int = 1):
        """Train by mini-batch backpropagation.

        Parameters
        ----------
        X : array-like of shape (m, n_0)
        Y : array-like
            Targets, as for :meth:`backward`.
        epochs : int, default 10
        batch_size : int, default 32
            The last, partial batch of each epoch is used too.
        optimizer : str or Optimizer, default "adam"
            "sgd", "rmsprop", "adam", "adamw" or an optimizer object.
        lr : float, optional
            Learning rate (the optimizer's default otherwise).
        schedule : str or Schedule, optional
            Learning-rate schedule, stepped once per epoch.
        validation_data : tuple (X_val, Y_val), optional
        validation_split : float, default 0
            Fraction held out for validation, stratified for classifiers.
        shuffle : bool, default True
            Shuffle every epoch with the network's generator.
        callbacks : list, optional
            Objects with ``on_train_begin``, ``on_epoch_begin``, ``on_batch_end``,
            ``on_epoch_end`` and ``on_train_end`` hooks.
        class_weight : dict or "balanced", optional
        sample_weight : array-like of shape (m,), optional
            The loss becomes the weighted mean over examples.
        early_stopping : bool or EarlyStopping, optional
            Stop when the validation loss stops improving and restore the best weights.
        clip_norm : float, optional
            Clip the global gradient norm to this value.
        l2 : float, optional
            Set the L2 penalty ``lambda`` before training.
        checkpoint : path, optional
            Write a resumable checkpoint after every epoch.
        resume_from : path, optional
            Continue a run from a checkpoint, bit-identically.
        diagnostics : bool or GradientMonitor, optional
            Watch gradient health while training.
        distributed : {None, "mpi"}, optional
            ``"mpi"``: train data-parallel on the ranks of ``mpiexec -n N``
            (every rank calls ``fit`` with the same arguments); the result
            equals one process's up to rounding. Only rank 0 prints and
            writes the checkpoint; diagnostics watch rank 0's shards. See
            :mod:`layerwise.distributed`.
        verbose : int, default 1
            0 silent; 1 a live bar on a terminal, a line per epoch otherwise; 2 a line per epoch.

        Returns
        -------
        History
        """
        from ..train.loop import fit

        return fit(self, X, Y, epochs=epochs, batch_size=batch_size, optimizer=optimizer, lr=lr, schedule=schedule,
                   validation_data=validation_data, validation_split=validation_split, shuffle=shuffle,
                   callbacks=callbacks, class_weight=class_weight, sample_weight=sample_weight,
                   early_stopping=early_stopping, clip_norm=clip_norm, l2=l2, checkpoint=checkpoint,
                   resume_from=resume_from, diagnostics=diagnostics, distributed=distributed, verbose=verbose)

    def evaluate(self, X, Y, sample_weight=None) -> dict:
        """The loss and metrics of the network on labelled data.

        Parameters
        ----------
        X : array-like of shape (m, n_0)
        Y : array-like
            Targets, as for :meth:`backward`.
        sample_weight : array-like of shape (m,), optional
            Per-example weights of the loss and of every metric.

        Returns
        -------
        dict
            ``loss`` (the data loss, without the L2 penalty); ``accuracy`` for
            classifiers; ``mse``, ``mae`` and ``r2`` (averaged over the outputs,
            as scikit-learn does) otherwise.
        """
        X = self.check_X(X)
        Y = self.check_Y(Y, X.shape[0])
        w = self.check_sample_weight(sample_weight, X.shape[0])
        AL = self._output(X)
        logs = {"loss": float(self.loss_fn.value(AL, Y, w))}
        if self.loss_fn.name == "cross_entropy":
            logs["accuracy"] = float(np.average(AL.argmax(axis=1) == Y.argmax(axis=1), weights=w))
        elif self.loss_fn.name == "binary_cross_entropy":
            logs["accuracy"] = float(np.average(((AL > 0.5) == (Y > 0.5)).all(axis=1), weights=w))
        else:
            error = AL.astype(np.float64) - Y
            mean = np.average(Y, axis=0, weights=w)
            total = np.average(np.square(Y - mean), axis=0, weights=w)
            residual = np.average(np.square(error), axis=0, weights=w)
            logs["mse"] = float(residual.mean())
            logs["mae"] = float(np.average(np.abs(error), axis=0, weights=w).mean())
            logs["r2"] = float(np.mean(np.where(total > 0, 1 - residual / np.where(total > 0, total, 1), 0.0)))
        return logs

    def save(self, path) -> None:
        """Save to a safetensors model file atomically; see :func:`layerwise.io.save`."""
        from ..io.model_file import save

        save(self, path)

    def __repr__(self) -> str:
        inner = ", ".join(repr(layer) for layer in self.layers)
        return f"Network([{inner}], loss={self.loss_fn.name!r}, input_dim={self.input_dim}, dtype={self.dtype.name!r})"


def _dropouts_by_output(layers) -> dict[int, Dropout]:
    """Map each Dropout to the number of the Dense layer whose output it drops (0: the input)."""
    dropouts, l = {}, 0
    for layer in layers:
        if isinstance(layer, Dense):
            l += 1
        else:
            dropouts[l] = layer
    return dropouts


def _param_views(flat: np.ndarray, widths: list[int]) -> list[tuple[np.ndarray, np.ndarray]]:
    """Split a flat ``[W1..WL, b1..bL]`` buffer into ``(W, b)`` views per layer."""
    shapes = list(zip(widths[1:], widths[:-1]))
    offset, Ws = 0, []
    for n_out, n_in in shapes:
        Ws.append(flat[offset: offset + n_out * n_in].reshape(n_out, n_in))
        offset += n_out * n_in
    bs = []
    for n_out, _ in shapes:
        bs.append(flat[offset: offset + n_out])
        offset += n_out
    return list(zip(Ws, bs))


_NO_WORKSPACE = MappingProxyType({})


class _LayerKeys(NamedTuple):
    """Cache, gradient and workspace keys of one layer ``l``."""

    Z: str
    A: str
    A_prev: str
    dZ: str  # noqa: N815 (the seed's names)
    dA: str  # noqa: N815
    dA_prev: str  # noqa: N815
    D: str
    S: str
    G: str


@functools.lru_cache(maxsize=64)
def _backward_keys(L: int) -> tuple[_LayerKeys, ...]:
    """The keys of layers ``1..L``, built once per depth instead of as f-strings per batch."""
    return tuple(_LayerKeys(f"Z{l}", f"A{l}", f"A{l - 1}", f"dZ{l}", f"dA{l}", f"dA{l - 1}", f"D{l}", f"S{l}",
                            f"G{l}") for l in range(1, L + 1))


@functools.lru_cache(maxsize=64)
def _forward_keys(L: int) -> tuple[tuple[str, str], ...]:
    return tuple((key.Z, key.A) for key in _backward_keys(L))
