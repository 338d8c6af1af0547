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

The rest of the class lives beside it, one idea a module: :mod:`.layout`
(shapes, sizes and input checks, known without data), :mod:`.serialization`
(configuration, copies, pickling, files) and :mod:`.usage` (``fit``,
``predict`` and ``evaluate``).
"""

from __future__ import annotations

import math
from types import MappingProxyType

import numpy as np

from .._checks import check_range
from ..errors import ConfigError
from ..layers import Dense
from ..limits import require_memory
from ..ops.losses import get_loss
from .layout import Layout, check_placement, example_shape
from .params import ParamTable
from .serialization import Serialization
from .usage import Usage

DTYPES = ("float32", "float64")
_NO_WORKSPACE = MappingProxyType({})


class Network(Layout, Serialization, Usage):
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
        check_placement(layers)
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
        self._rng = None
        if any(layer.draws for layer in layers):  # a layer that draws holds the generator itself
            self.rng = np.random.default_rng(seed)
        self.l2 = check_range("l2", l2, 0.0)
        self.classes = None
        self.preprocessing = None
        self.input_dim = self.input_shape = None
        self.table = None
        self.theta = self.dtheta = self.state = None
        """The flat buffers of the trained parameters, their gradients and the non-trained state (BatchNorm's
        running statistics, never optimised), once built; see :mod:`layerwise.engine.params`."""
        if input_shape is not None and input_dim is not None and math.prod(example_shape(input_shape)) != input_dim:
            raise ConfigError(f"input_dim={input_dim!r} and input_shape={input_shape!r} disagree; give one of them")
        if input_shape is not None or input_dim is not None:
            self.build(input_dim if input_shape is None else input_shape)

    # ------------------------------------------------------------------ build
    @property
    def rng(self) -> np.random.Generator:
        """The network's generator, ``np.random.default_rng(seed)``; every layer draws from it.

        It is made on first use (a loaded model that only predicts never imports ``numpy.random``), or at
        once when a layer draws from it (:attr:`Layer.draws <layerwise.layers.base.Layer.draws>`).
        """
        if self._rng is None:
            self.rng = np.random.default_rng(self.seed)
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

    def build(self, input_shape: int | tuple[int, ...], initialize: bool = True) -> Network:
        """Build every layer for examples of ``input_shape`` (a number of features, or ``(C, H, W)``),
        allocate and initialise the parameters.

        With ``initialize=False`` the parameters and state are left at zero and nothing is drawn from the
        generator: for a caller that fills them at once (a model file's loader, a copy), whose generator
        then stays where it was.
        """
        shape = example_shape(input_shape)
        n_params = sum(math.prod(size) for size in self._shapes(shape)[0].values())
        require_memory(self.memory_needed(shape), f"the parameters and gradients of a network of "
                       f"{self._describe(shape)} ({n_params} {self.dtype.name} values each)")
        self.input_shape, self.input_dim = shape, math.prod(shape)
        self.table = ParamTable(self.layers, self.dtype)
        self.theta, self.dtheta, self.state = self.table.theta, self.table.dtheta, self.table.state
        if initialize:
            self.table.initialize(self.rng)
        first = next(index for index, layer in enumerate(self.layers) if layer.params())
        self._below_output = self.layers[first:-1][::-1]  # the backward loop: nothing before `first` is trained
        return self

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

    def __repr__(self) -> str:
        inner = ", ".join(repr(layer) for layer in self.layers)
        size = f"input_dim={self.input_dim}" if self.input_shape is None or len(self.input_shape) == 1 else \
            f"input_shape={self.input_shape}"
        return f"Network([{inner}], loss={self.loss_fn.name!r}, {size}, dtype={self.dtype.name!r})"
