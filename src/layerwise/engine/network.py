"""The network of the seed: one forward loop and one backward loop over peer layers.

Shapes for a network of Dense layers (rows are examples; weights in the seed's orientation)::

    A0 = X          (m, n_0)
    W[l]            (n_l, n_{l-1})          b[l]  (n_l,)
    Z[l] = A[l-1] @ W[l].T + b[l]           (m, n_l)
    A[l] = g[l](Z[l])                       (m, n_l)

Every layer follows :mod:`layerwise.layers.base`: the network builds them in
order from the input shape, hands their declared parameters to one
:class:`~layerwise.engine.params.ParamTable` (the flat buffer ``theta``, laid
out ``[W1, ..., WL, b1, ..., bL]`` for Dense layers), and then only loops:
forward from the first layer to the last, backward from the last to the
first, with the loss's gradient (or the seed's output shortcut) entering at
the output through :meth:`Network.output_gradient`.
"""

from __future__ import annotations

import copy
import math
import numbers
import sys
from types import MappingProxyType

import numpy as np

from .._checks import check_range, positive_int
from ..errors import ConfigError, ShapeError
from ..layers import Dense, Dropout, Layer, layer_from_config
from ..limits import require_memory
from ..ops.losses import get_loss
from .checks import as_numeric_2d, check_sample_weight, check_targets
from .params import ParamTable

DTYPES = ("float32", "float64")
_NO_WORKSPACE = MappingProxyType({})


class Network:
    """A feedforward network trained by backpropagation.

    Parameters
    ----------
    layers : list of layers
        ``Dense``, ``BatchNorm`` and ``Dropout`` layers in order. A ``Dropout``
        acts on the output of the layer before it (or, placed first, on the input).
    loss : str or Loss, optional
        ``"cross_entropy"``, ``"binary_cross_entropy"``, ``"mse"``, ``"mae"``
        or ``"huber"``. By default chosen from the output activation: softmax
        -> cross_entropy, sigmoid -> binary_cross_entropy, otherwise mse.
    input_dim : int, optional
        Number of input features ``n_0``. Without it (and without
        ``input_shape``) the network is built on its first input.
    input_shape : tuple of int, optional
        The shape of one example, ``(C, H, W)`` for images (``Conv2D`` and the
        pooling layers need it). Images are then given as ``(m, C, H, W)`` or as
        rows of ``C * H * W`` values (channel, row, column), which are reshaped.
    seed : int, optional
        Seed of the network's NumPy ``Generator``, the only source of
        randomness (initialisation, shuffling, dropout).
    dtype : {"float32", "float64"}, default "float32"
        Precision of parameters and computation. Inputs are cast to it.
    l2 : float, default 0
        L2 penalty ``lambda``: the loss gains ``lambda/(2m) sum_l ||W[l]||^2``
        (weights only: biases and normalisation parameters are not penalised).

    Attributes
    ----------
    classes : list or None
        Labels that :meth:`predict` returns in place of class indices.
    preprocessing : layerwise.preprocessing.Preprocessing or None
        Fitted steps (a scaler, ...) that :meth:`predict_proba` and
        :meth:`predict` apply to raw rows, and :meth:`predict` inverts on a
        regressor's output; saved with the model. ``forward``, ``backward``,
        ``loss``, ``fit`` and ``gradcheck`` work on the network's own inputs
        and targets and never apply it.

    Examples
    --------
    >>> import layerwise as lw
    >>> net = lw.Network([lw.Dense(4), lw.Dense(3, activation="softmax")], input_dim=2, seed=0)
    >>> net.params["W1"].shape
    (4, 2)
    """

    def __init__(self, layers, loss=None, input_dim: int | None = None,
                 seed: int | None = None, dtype: str = "float32", l2: float = 0.0,
                 input_shape: tuple[int, ...] | None = None):
        layers = list(layers)
        _check_placement(layers)
        if str(dtype) not in DTYPES:
            raise ConfigError(f"dtype must be one of {', '.join(DTYPES)}, received {dtype!r}")
        self.layers = layers
        self.output = layers[-1]
        if loss is None:
            loss = {"softmax": "cross_entropy", "sigmoid": "binary_cross_entropy"}.get(self.output.activation.name,
                                                                                       "mse")
        self.loss_fn = get_loss(loss)
        self.shortcut = self.loss_fn.shortcut == self.output.activation.name
        self.dtype = np.dtype(str(dtype))
        self.seed = seed if seed is None else check_range("seed", seed, 0, integer=True)
        self.rng = np.random.default_rng(seed)
        self.l2 = check_range("l2", l2, 0.0)
        self.classes = None
        self.preprocessing = None
        self.input_dim = self.input_shape = None
        self.table = None
        self.theta = self.dtheta = self.state = None
        """The flat buffers of the trained parameters, their gradients and the non-trained state (BatchNorm's
        running statistics, never optimised), once built; see :mod:`layerwise.engine.params`."""
        if input_shape is not None and input_dim is not None and math.prod(_example_shape(input_shape)) != input_dim:
            raise ConfigError(f"input_dim={input_dim!r} and input_shape={input_shape!r} disagree; give one of them")
        if input_shape is not None or input_dim is not None:
            self.build(input_dim if input_shape is None else input_shape)

    # ------------------------------------------------------------------ build
    @property
    def rng(self) -> np.random.Generator:
        """The network's generator; every layer draws from it."""
        return self._rng

    @rng.setter
    def rng(self, rng: np.random.Generator) -> None:
        self._rng = rng
        for layer in self.layers:
            layer.rng = rng

    @property
    def L(self) -> int:
        """Number of numbered layers (all but Dropout), the seed's ``L``."""
        return sum(layer.numbered for layer in self.layers)

    @property
    def dense(self) -> list[Dense]:
        """The Dense layers, in order."""
        return [layer for layer in self.layers if isinstance(layer, Dense)]

    @property
    def built(self) -> bool:
        return self.table is not None

    def build(self, input_shape: int | tuple[int, ...]) -> Network:
        """Build every layer for examples of ``input_shape`` (a number of features, or ``(C, H, W)``),
        allocate and initialise the parameters."""
        shape = _example_shape(input_shape)
        n_params = sum(math.prod(size) for size in self._shapes(shape)[0].values())
        require_memory(self.memory_needed(shape), f"the parameters and gradients of a network of "
                       f"{self._describe(shape)} ({n_params} {self.dtype.name} values each)")
        self.input_shape, self.input_dim = shape, math.prod(shape)
        self.table = ParamTable(self.layers, self.dtype)
        self.theta, self.dtheta, self.state = self.table.theta, self.table.dtheta, self.table.state
        self.table.initialize(self.rng)
        first = next(index for index, layer in enumerate(self.layers) if layer.params())
        self._below_output = self.layers[first:-1][::-1]  # the backward loop: nothing before `first` is trained
        return self

    def _shapes(self, input_shape: int | tuple[int, ...]) -> tuple[dict, dict]:
        """Build the layers for examples of ``input_shape`` (shapes only, nothing allocated); return the
        names and shapes of the parameters and of the state."""
        shape, l, key, seen_params = _example_shape(input_shape), 0, "A0", False
        for layer in self.layers:
            l += layer.numbered
            layer.needs_dA_prev = seen_params
            shape = layer.build(shape, l, key)
            key = layer.output_key
            seen_params = seen_params or bool(layer.params())
        params = {f"{spec.kind}{layer.l}": spec.shape for layer in self.layers for spec in layer.params()}
        state = {f"{spec.kind}{layer.l}": spec.shape for layer in self.layers for spec in layer.state()}
        return params, state

    def parameter_shapes(self, input_dim: int | tuple[int, ...]) -> dict[str, tuple[int, ...]]:
        """The names and shapes of the tensors a model file holds for ``input_dim`` features or examples of
        that shape (parameters, then state), from the layers' declarations, without allocating."""
        params, state = self._shapes(input_dim)
        return {**params, **state}

    def memory_needed(self, input_dim: int | tuple[int, ...]) -> int:
        """Bytes that :meth:`build` allocates for ``input_dim`` features, at its peak: ``theta``, ``dtheta``
        and ``state``, plus the float64 array in which an initialiser draws the largest parameter."""
        params, state = self._shapes(input_dim)
        sizes = [math.prod(shape) for shape in params.values()]
        n_state = sum(math.prod(shape) for shape in state.values())
        return (2 * sum(sizes) + n_state) * self.dtype.itemsize + 8 * max(sizes, default=0)

    def _describe(self, input_shape: int | tuple[int, ...]) -> str:
        """``4 -> 16 -> 3``: the shape of the input and of each numbered layer's output."""
        self._shapes(input_shape)
        widths = [" x ".join(map(str, _example_shape(input_shape)))] + [
            " x ".join(map(str, layer.output_shape)) for layer in self.layers if layer.numbered]
        return " -> ".join(widths)

    @property
    def n_weights(self) -> int:
        """Length of ``theta[:n_weights]``, the decayed parameters (the weights) that L2 acts on."""
        return self.table.n_decayed

    @property
    def params(self) -> dict[str, np.ndarray]:
        """Live parameter arrays keyed ``W1, b1, ..., WL, bL``; writes change the network."""
        self._require_built()
        return dict(self.table.params)

    @property
    def n_params(self) -> int:
        self._require_built()
        return self.theta.size

    @property
    def n_outputs(self) -> int:
        """Number of output units ``n_L``."""
        self._require_built()
        return self.output.output_shape[0]

    def _require_built(self) -> None:
        if not self.built:
            raise ConfigError("the network is not built yet: pass input_dim= or call forward/fit on data first")

    # ---------------------------------------------------------------- checks
    def check_X(self, X, name: str = "X") -> np.ndarray:
        """Validate ``X`` and return it as a 2-D array of the network's dtype, one row per example.

        Images ``(m, C, H, W)`` come back as rows of ``C * H * W`` values (a view when ``X`` is
        contiguous); the forward pass lays the rows out as ``input_shape`` again.
        """
        array = np.asarray(X) if not isinstance(X, np.ndarray) else X
        example = tuple(array.shape[1:]) if array.ndim > 2 else None
        X = as_numeric_2d(array.reshape(array.shape[0], -1) if example else array, name, dtype=self.dtype)
        if not self.built:
            self.build(example or X.shape[1])
        first = next(layer for layer in self.layers if layer.numbered)
        who = f"{type(first).__name__} layer 1"
        if len(self.input_shape) == 1:
            if example or X.shape[1] != self.input_dim:
                received = f"examples of shape {example}" if example else str(X.shape[1])
                raise ShapeError(f"{who} expects {self.input_dim} input features, received {received}")
        elif example and example != self.input_shape:
            raise ShapeError(f"{who} expects input of shape {self.input_shape} per example, received {example}")
        elif X.shape[1] != self.input_dim:
            raise ShapeError(f"{who} expects input of shape {self.input_shape} per example (or rows of "
                             f"{self.input_dim} values), received rows of {X.shape[1]} values")
        return X

    def _examples(self, X: np.ndarray) -> np.ndarray:
        """Checked rows laid out as ``(m,) + input_shape`` (a view) for the first layer."""
        return X if len(self.input_shape) == 1 else X.reshape((X.shape[0],) + self.input_shape)

    def check_Y(self, Y, m: int | None = None) -> np.ndarray:
        """Validate targets and return them as an ``(m, K)`` array of the network's dtype.

        Cross-entropy accepts integer class labels ``0 .. K-1`` of shape
        ``(m,)`` and one-hot rows; a single-output network accepts ``(m,)``.
        """
        output = f"the output layer ({type(self.output).__name__} layer {self.L})"
        return check_targets(Y, m, self.n_outputs, self.loss_fn, self.dtype, output)

    def check_sample_weight(self, sample_weight, m: int) -> np.ndarray | None:
        """Validate per-example weights: shape ``(m,)``, finite, non-negative, not all zero."""
        return check_sample_weight(sample_weight, m, self.dtype)

    # --------------------------------------------------------------- forward
    def forward(self, X, training: bool = False):
        """Run the forward pass.

        Parameters
        ----------
        X : array-like of shape (m, n_0)
        training : bool, default False
            Training mode: dropout on (masks in the cache as ``D<l>``), batch
            statistics in BatchNorm (which also updates its running statistics).

        Returns
        -------
        AL : ndarray of shape (m, n_L)
            The output ``A<L>``.
        cache : dict
            ``A0, Z1, A1, ..., ZL, AL`` (and dropout masks ``D<l>``, BatchNorm's ``X^<l>``).
        """
        cache = self._forward(self.check_X(X), training)
        return cache[self.output.output_key], cache

    def _forward(self, X: np.ndarray, training: bool = False, workspace: dict | None = None) -> dict:
        """The forward loop; ``workspace`` (see :func:`layerwise.train.workspace.make_workspace`) supplies
        preallocated outputs."""
        ws = _NO_WORKSPACE if workspace is None else workspace
        cache = {"A0": self._examples(X)}
        A = cache["A0"]
        for layer in self.layers:
            A = layer.forward(A, cache, ws, training)
        return cache

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
            ``"d" + name`` for every parameter (exactly ``dJ/dW``, ``dJ/db``, ...
            of the mean loss, arrays the caller owns), ``dZ<l>`` and ``dA<l>``
            (per-example derivatives, ``m * dJ/dZ`` and ``m * dJ/dA``).
            ``dA<L>`` is present only on the general output path, where it is computed.
        """
        m = cache["A0"].shape[0]
        Y = self.check_Y(Y, m)
        w = self.check_sample_weight(sample_weight, m)
        grads = self._backward(cache, Y, w)
        return grads | {name: grad.copy() for name, grad in self.table.grads.items()}

    def output_gradient(self, cache: dict, Y: np.ndarray, sample_weight: np.ndarray | None, grads: dict, ws):
        """Where backpropagation starts: ``(dA_L, None)`` from the loss, or ``(None, dZ_L)`` by the shortcut.

        When the loss pairs with the output activation (softmax + cross-entropy,
        sigmoid + binary cross-entropy, identity + mse) the seed's shortcut
        ``dZ_L = A_L - Y`` holds and is handed to the output layer in place of
        its first equation; otherwise ``dA_L = m dJ/dA_L`` comes from the loss.
        Sample weights scale each example's row (the weighted mean).
        """
        output = self.output
        AL = cache[output.output_key]
        if self.shortcut:
            delta = np.subtract(AL, Y, out=ws.get(output.dZ_key))  # dZ_L = A_L - Y (the seed's shortcut)
        else:
            grads["d" + output.output_key] = delta = self.loss_fn.grad(AL, Y)  # dA_L = m dJ/dA_L
        if sample_weight is not None:  # the weighted mean; a training batch whose weights are all 0 adds nothing
            total = sample_weight.sum()
            delta *= (sample_weight * (Y.shape[0] / total if total > 0 else 0.0))[:, None]
        return (None, delta) if self.shortcut else (delta, None)

    def _backward(self, cache: dict, Y: np.ndarray, sample_weight: np.ndarray | None,
                  workspace: dict | None = None) -> dict:
        """The backward loop: every layer writes its parameter gradients into ``dtheta`` in place.

        With a ``workspace`` the per-example derivatives are written into its buffers, which the next
        batch reuses. Returns the per-example derivatives ``dZ<l>``, ``dA<l>`` by name.
        """
        ws = _NO_WORKSPACE if workspace is None else workspace
        grads = {}
        dA, dZ = self.output_gradient(cache, Y, sample_weight, grads, ws)
        dA = self.output.backward(dA, cache, grads, ws, dZ)
        for layer in self._below_output:
            grads["d" + layer.output_key] = dA
            dA = layer.backward(dA, cache, grads, ws)
        if self.l2:
            decayed = self.table.decayed
            decay = np.multiply(self.theta[decayed], self.l2 / Y.shape[0], out=ws.get("decay"))
            self.dtheta[decayed] += decay  # dW += (lambda/m) W
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
            W = self.theta[self.table.decayed]
            J += self.l2 / (2 * Y.shape[0]) * float(np.dot(W, W))
        return J

    # -------------------------------------------------------------- predict
    @property
    def is_classifier(self) -> bool:
        return self.loss_fn.task == "classification"

    def predict_proba(self, X) -> np.ndarray:
        """Return the output activations ``A<L>`` (probabilities for classifiers).

        With ``preprocessing`` set (a model trained by ``layerwise train``),
        ``X`` holds raw feature rows, which its input steps turn into the
        network's inputs first; :meth:`forward` never applies them.
        """
        if self.preprocessing is not None:
            X = self.preprocessing.transform_inputs(X)
        return self._output(self.check_X(X))

    def _output(self, X: np.ndarray) -> np.ndarray:
        """``A<L>`` of checked inputs at prediction time, without a cache."""
        A = self._examples(X)
        for layer in self.layers:
            A = layer.predict(A)
        return A

    def predict(self, X) -> np.ndarray:
        """Predict targets.

        Cross-entropy networks return class indices (or ``classes`` labels
        when set); binary cross-entropy returns 0/1 of shape ``(m,)`` for one
        output and ``(m, K)`` for multi-label; regression returns ``A<L>``,
        mapped back to the scale of the raw targets by the inverse of any
        target ``preprocessing`` (in the network's dtype). Input
        ``preprocessing`` applies as in :meth:`predict_proba`.
        """
        AL = self.predict_proba(X)
        if not self.is_classifier and self.preprocessing is not None and self.preprocessing.targets:
            return self.preprocessing.inverse_targets(AL).astype(self.dtype)
        decided = self.loss_fn.decide(AL)
        if not self.is_classifier or self.classes is None:
            return decided
        return np.asarray(self.classes)[decided]

    # ---------------------------------------------------------------- config
    def get_config(self) -> dict:
        """A JSON-compatible description from which :meth:`from_config` rebuilds the network."""
        config = {
            "layers": [layer.get_config() for layer in self.layers],
            "loss": self.loss_fn.name,
            "input_dim": self.input_dim,
            "input_shape": None if self.input_shape is None or len(self.input_shape) == 1 else list(self.input_shape),
            "seed": self.seed,
            "dtype": self.dtype.name,
            "l2": self.l2,
            "classes": None if self.classes is None else list(self.classes),
        }
        if self.loss_fn.get_config():
            config["loss_args"] = self.loss_fn.get_config()
        return config

    @classmethod
    def from_config(cls, config: dict) -> Network:
        """Build an (initialised) network from :meth:`get_config` output."""
        layers = [layer_from_config(layer) for layer in config["layers"]]
        net = cls(layers, loss=get_loss(config["loss"], **config.get("loss_args", {})),
                  input_dim=config.get("input_dim") if config.get("input_shape") is None else None,
                  input_shape=config.get("input_shape"), seed=config.get("seed"),
                  dtype=config.get("dtype", "float32"), l2=config.get("l2", 0.0))
        net.classes = config.get("classes")
        return net

    def __setstate__(self, state: dict) -> None:
        """The network's ``theta``, ``dtheta`` and ``state`` are its table's buffers again: joblib's pickler
        stores every array reference on its own, so without this a joblib-loaded network would train a
        buffer that its layers no longer read."""
        self.__dict__.update(state)
        if self.table is not None:
            self.theta, self.dtheta, self.state = self.table.theta, self.table.dtheta, self.table.state

    def copy(self) -> Network:
        """An independent deep copy (parameters, state, generator state and all)."""
        twin = copy.deepcopy(self)
        if twin.built:
            twin.table.bind(twin.layers)
        return twin

    def astype(self, dtype: str) -> Network:
        """A copy of the network in another dtype (the generator state is copied too)."""
        twin = Network.from_config({**self.get_config(), "dtype": str(dtype), "input_dim": None, "input_shape": None})
        twin.rng = copy.deepcopy(self.rng)
        if self.built:
            twin.build(self.input_shape)
            twin.theta[...] = self.theta
            twin.state[...] = self.state
        twin.classes = self.classes
        twin.preprocessing = self.preprocessing
        return twin

    def fit(self, X, Y, epochs: int = 10, batch_size: int = 32, optimizer="adam", *, lr: float | None = None,
            schedule=None, validation_data=None, validation_split: float = 0.0, shuffle: bool = True,
            callbacks=None, class_weight=None, sample_weight=None, early_stopping=None,
            clip_norm: float | None = None, l2: float | None = None, checkpoint=None, resume_from=None,
            diagnostics=False, distributed=None, verbose: int = 1):
        """Train by mini-batch backpropagation; every option is described at :func:`layerwise.train.loop.fit`.

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
        lr, schedule, validation_data, validation_split, shuffle, callbacks, class_weight, sample_weight, \
early_stopping, clip_norm, l2, checkpoint, resume_from, diagnostics, distributed, verbose
            As :func:`layerwise.train.loop.fit`; ``distributed="mpi"`` trains data-parallel over the
            ranks of ``mpiexec`` (see :mod:`layerwise.distributed`).

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
        if self.is_classifier:
            hits = self.loss_fn.labels(AL) == self.loss_fn.labels(Y)
            logs["accuracy"] = float(np.average(hits if hits.ndim == 1 else hits.all(axis=1), weights=w))
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

    def summary(self, file=None) -> None:
        """Print each layer with the shape of one output example and its parameter count.

        Parameters
        ----------
        file : text stream, optional
            Where to print (default: standard output).
        """
        self._require_built()
        rows = [("layer", "output shape", "parameters"), ("A0  input", str(self.input_shape), "")]
        for layer in self.layers:
            count = sum(math.prod(spec.shape) for spec in layer.params())
            rows.append((f"{layer.output_key:<3} {layer.describe()}", str(layer.output_shape), f"{count:,}"))
        widths = [max(len(row[i]) for row in rows) for i in range(3)]
        lines = [f"{a:<{widths[0]}}  {b:<{widths[1]}}  {c:>{widths[2]}}" for a, b, c in rows]
        lines.insert(1, "-" * len(lines[0]))
        lines.append(f"total: {self.n_params:,} trained parameters" +
                     (f", {self.state.size:,} non-trained state values" if self.state.size else ""))
        print("\n".join(lines), file=file or sys.stdout)

    def __repr__(self) -> str:
        inner = ", ".join(repr(layer) for layer in self.layers)
        size = f"input_dim={self.input_dim}" if self.input_shape is None or len(self.input_shape) == 1 else \
            f"input_shape={self.input_shape}"
        return f"Network([{inner}], loss={self.loss_fn.name!r}, {size}, dtype={self.dtype.name!r})"


def _example_shape(shape) -> tuple[int, ...]:
    """An input size (int) or example shape (tuple of ints) as a tuple of positive ints."""
    if isinstance(shape, numbers.Integral) and not isinstance(shape, bool):
        return (positive_int("input_dim", shape),)
    if isinstance(shape, (tuple, list)) and shape:
        return tuple(positive_int("input_shape", size) for size in shape)
    raise ConfigError(f"input_shape must be a tuple of positive integers such as (1, 28, 28), received {shape!r}")


def _check_placement(layers: list) -> None:
    """Refuse what cannot be trained: no layers, unknown objects, nothing to train, two Dropouts in a row,
    an output without an activation."""
    if not layers:
        raise ConfigError("a Network needs at least one Dense layer")
    for index, layer in enumerate(layers):
        if not isinstance(layer, Layer):
            raise ConfigError(f"layer {index} must be a layer (Dense, Conv2D, MaxPool2D, AvgPool2D, Flatten, "
                              f"BatchNorm, Dropout), received {layer!r}")
        if isinstance(layer, Dropout) and index > 0 and isinstance(layers[index - 1], Dropout):
            raise ConfigError(f"layers {index - 1} and {index} are consecutive Dropout layers; merge them")
    if not any(isinstance(layer, Dense) for layer in layers):
        raise ConfigError("a Network needs at least one Dense layer")
    if layers[-1].activation is None:
        raise ConfigError(f"the last layer must be one with an activation (Dense, BatchNorm), not "
                          f"{type(layers[-1]).__name__}")
