"""The layer protocol: what every layer tells the network, and what the network asks of it.

The seed ends on its central claim: for specialised layers "the same principles
of backpropagation will still hold — break it down layer by layer". Every
layer is therefore a peer that

* **builds** from the shape of one input example and reports the shape of one
  output example (:meth:`Layer.build`), before any data is seen;
* **declares** its trained parameters (:class:`ParamSpec`: a name kind such as
  ``"W"``, a shape, an initialiser, whether L2 and weight decay act on it) and
  its non-trained state (:class:`StateSpec`, e.g. BatchNorm's running
  statistics), which the network's parameter table places in one flat
  trained buffer and one state buffer and hands back by :meth:`Layer.bind`;
* **declares** the per-batch buffers it writes into (:meth:`Layer.buffers`),
  which the trainer allocates once per batch size;
* runs ``forward(A_prev, cache, ws, training)``, writing its results into the
  cache (into the workspace's buffers when given) and returning its output;
* runs ``backward(dA, cache, grads, ws)``, writing its parameter gradients in
  place into the views it was bound to and returning ``dA_prev``.

Numbering: every layer except :class:`~layerwise.layers.Dropout` takes the next
number ``l``; its output is ``A<l>`` in the cache, its pre-activation ``Z<l>``,
its parameters ``<kind><l>`` (``W1``, ``b1``, ``gamma2``, ...) and their
gradients ``"d" + name``. Derivatives are per example, as in the seed: ``dZ``
and ``dA`` are ``m`` times ``dJ/dZ`` and ``dJ/dA``; the ``1/m`` enters only in
the parameter gradients.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from importlib import import_module

import numpy as np

from ..errors import ConfigError
from .equations import Term


@dataclass(frozen=True)
class ParamSpec:
    """A trained parameter a layer declares.

    Attributes
    ----------
    kind : str
        The name without the layer number (``"W"``, ``"b"``, ``"gamma"``, ``"beta"``).
    shape : tuple of int
    init : callable
        ``init(rng, shape) -> ndarray``, the initial values.
    decayed : bool
        Whether the L2 penalty and decoupled weight decay act on it (weights
        yes; biases and normalisation parameters no).
    """

    kind: str
    shape: tuple[int, ...]
    init: Callable[[np.random.Generator, tuple[int, ...]], np.ndarray]
    decayed: bool


@dataclass(frozen=True)
class StateSpec:
    """A non-trained state array a layer declares: saved with the model, never optimised."""

    kind: str
    shape: tuple[int, ...]
    value: float


def zeros(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """The initialiser of biases (draws nothing from ``rng``)."""
    return np.zeros(shape)


def ones(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """The initialiser of scales (draws nothing from ``rng``)."""
    return np.ones(shape)


class Layer:
    """The protocol every layer implements (see the module docstring).

    Attributes set by the network when it is built
    ----------------------------------------------
    l : int
        The layer's number (for Dropout, the number of the layer it follows, 0 for the input).
    input_key, output_key : str
        Cache keys of its input and output (``"A0"`` is the network's input).
    needs_dA_prev : bool
        Whether a layer before it has parameters, so that ``backward`` must return ``dA_prev``.
    is_output : bool
        Whether the layer ends the network (a Dense output layer's default initialiser depends on it).
    input_shape, output_shape : tuple of int
        Shapes of one example.
    """

    numbered = True
    """Whether the layer takes the next number ``l`` (all but Dropout)."""

    activation = None
    """The layer's activation ``g``, if it has one (it may then end the network)."""

    rng: np.random.Generator | None = None
    """The network's generator, set by the network (Dropout draws its masks from it)."""

    draws = False
    """Whether the layer draws from :attr:`rng` while it runs (Dropout): the network then makes its generator
    at once, where it otherwise makes it on first use."""

    l: int
    input_key: str
    output_key: str
    needs_dA_prev: bool  # noqa: N815 (the seed's names)
    is_output: bool = False
    input_shape: tuple[int, ...]
    output_shape: tuple[int, ...]

    def build(self, input_shape: tuple[int, ...], l: int, input_key: str) -> tuple[int, ...]:
        """Take the shape of one input example, the layer number and the input's cache key; return
        the shape of one output example. Subclasses extend this to set their keys and sizes."""
        self.input_shape, self.l, self.input_key = tuple(input_shape), l, input_key
        self.output_key = f"A{l}"
        self.output_shape = self.output_shape_for(self.input_shape)
        return self.output_shape

    def output_shape_for(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        """The shape of one output example for ``input_shape``; raise ConfigError if it does not fit."""
        raise NotImplementedError

    def params(self) -> tuple[ParamSpec, ...]:
        """The trained parameters, in their order within the layer."""
        return ()

    def state(self) -> tuple[StateSpec, ...]:
        """The non-trained state."""
        return ()

    def bind(self, values: dict[str, np.ndarray], grads: dict[str, np.ndarray],
             state: dict[str, np.ndarray]) -> None:
        """Attach the views the parameter table owns, by kind: ``self.W``, ``self.dW``, ``self.running_mean``."""
        for kind, view in values.items():
            setattr(self, kind, view)
            setattr(self, "d" + kind, grads[kind])
        for kind, view in state.items():
            setattr(self, kind, view)

    def buffers(self, m: int) -> dict[str, tuple[int, ...]]:
        """Shapes of the per-batch buffers for ``m`` examples, by workspace key."""
        return {}

    def scratch_shape(self, m: int) -> tuple[int, ...] | None:
        """Shape of the scratch array ``ws["S<l>"]`` the layer needs, if any; one buffer serves every layer,
        since only one layer runs at a time."""
        return None

    def forward(self, A_prev: np.ndarray, cache: dict, ws, training: bool) -> np.ndarray:
        """Compute the output for a batch, recording what backward needs in ``cache``; return the output."""
        raise NotImplementedError

    def predict(self, A_prev: np.ndarray) -> np.ndarray:
        """The output at prediction time, without a cache (``A_prev`` may be overwritten only if owned)."""
        raise NotImplementedError

    def backward(self, dA: np.ndarray | None, cache: dict, grads: dict, ws, dZ: np.ndarray | None = None):
        """Write the parameter gradients in place, record per-example derivatives in ``grads``, return
        ``dA_prev`` (None when ``needs_dA_prev`` is false). ``dZ``, given only to the output layer, is
        the output shortcut ``dZ_L = Y_hat - Y`` (see :meth:`Network.output_gradient`)."""
        raise NotImplementedError

    def get_config(self) -> dict:
        """A JSON-compatible description; :func:`layer_from_config` rebuilds the layer from it."""
        raise NotImplementedError

    # ---- what inspection and interop ask of a layer
    def describe(self) -> str:
        """The layer in a network summary such as ``4 -> 16 (relu) -> 3 (softmax)``."""
        return repr(self)

    def label(self) -> str:
        """The layer's type in a table, e.g. ``Dense`` or ``Dropout(0.2)``."""
        return type(self).__name__

    def explain_forward(self, m: int) -> list:
        """The forward equations for a batch of ``m``, as :class:`~layerwise.layers.equations.Equation`."""
        return []

    def explain_backward(self, m: int, shortcut: bool, l2: bool) -> list:
        """The backward equations for a batch of ``m``; with ``shortcut`` the first is ``dZ_L = A_L - Y``;
        with ``l2`` the decayed parameters' gradients gain ``(lambda/m)`` times the parameter."""
        return []

    def term(self, name: str, m: int, shape: tuple[int, ...] | None = None, transposed: bool = False) -> Term:
        """A term of this layer's equations: a batch of ``m`` of the output shape unless ``shape`` is given."""
        return Term(name, (m,) + self.output_shape if shape is None else shape, transposed)

    def onnx_nodes(self, graph, x: str, out: str) -> str:
        """Add the nodes computing the layer at prediction time from tensor ``x`` to ``graph`` (its
        ``node``, ``initializer`` and ``activation`` methods, see :mod:`layerwise.interop.export`);
        name the result ``out`` and return the name of the layer's output."""
        raise ConfigError(f"{type(self).__name__} has no ONNX translation")

    def torch_modules(self, torch, activation_module) -> list:
        """The ``torch.nn`` modules computing the layer (parameters copied); ``activation_module(g, l)``
        gives the module of an activation (None for the identity)."""
        raise ConfigError(f"{type(self).__name__} has no torch translation")


LAYER_TYPES: dict[str, type[Layer]] = {}
"""Registry of layer class names (the ``"type"`` of a config) to classes, filled as their modules are imported."""

LAYER_MODULES = {"AvgPool2D": "pooling", "BatchNorm": "batchnorm", "Conv2D": "conv", "Dense": "dense",
                 "Dropout": "dropout", "Flatten": "reshape", "MaxPool2D": "pooling"}
"""The module of ``layerwise.layers`` defining each layer class, imported when a config names it (so that
reading a file of Dense layers does not load the convolution code)."""


def register(cls: type[Layer]) -> type[Layer]:
    """Class decorator adding a layer to :data:`LAYER_TYPES`, so that configs and files can name it."""
    LAYER_TYPES[cls.__name__] = cls
    return cls


def layer_from_config(config: dict) -> Layer:
    """Rebuild a layer from its :meth:`Layer.get_config`."""
    kind = config.get("type") if isinstance(config, dict) else None
    if kind not in LAYER_TYPES and kind in LAYER_MODULES:
        import_module(f"{__package__}.{LAYER_MODULES[kind]}")
    if kind not in LAYER_TYPES:
        known = sorted({*LAYER_TYPES, *LAYER_MODULES})
        raise ConfigError(f"unknown layer type {kind!r}; expected one of {', '.join(known)}")
    return LAYER_TYPES[kind].from_config(config)
