"""``Dense``: the seed's fully connected layer.

A ``Dense`` layer computes, for a batch ``A_prev`` of shape ``(m, n_{l-1})``::

    Z = A_prev @ W.T + b          # the seed's Z = W . A_prev + b, rows as examples
    A = g(Z)

and its backward pass is the seed's four equations, one line each (see
:meth:`Dense.backward`). ``W`` and ``b`` are views into the owning network's
flat parameter buffer; they are bound by :meth:`Dense.bind` when the network
is built.
"""

from __future__ import annotations

import numbers

import numpy as np

from ..errors import ConfigError
from ..ops.activations import RELU_FAMILY, Activation, get_activation
from ..ops.initializers import get_initializer


class Dense:
    """A fully connected layer ``A = g(A_prev @ W.T + b)``.

    Parameters
    ----------
    units : int
        Number of neurons ``n_l``.
    activation : str or Activation, default "relu"
        Name of a registered activation (see ``layerwise.activations.ACTIVATIONS``).
    init : {"he", "glorot", "lecun"}, optional
        Weight initialisation. Defaults to He for the ReLU family, LeCun for
        SELU and Glorot otherwise.
    """

    def __init__(self, units: int, activation: str | Activation = "relu", init: str | None = None):
        if isinstance(units, bool) or not isinstance(units, numbers.Integral) or units < 1:
            raise ConfigError(f"Dense units must be a positive integer, received {units!r}")
        self.units = int(units)
        self.activation = get_activation(activation)
        if init is None:
            name = self.activation.name
            init = "lecun" if name == "selu" else "he" if name in RELU_FAMILY else "glorot"
        get_initializer(init)
        self.init = init
        self.W: np.ndarray | None = None
        self.b: np.ndarray | None = None

    def parameter_shapes(self, n_in: int) -> dict[str, tuple[int, ...]]:
        """The shapes of ``W`` and ``b`` for ``n_in`` inputs, known before anything is allocated."""
        return {"W": (self.units, n_in), "b": (self.units,)}

    def output_size(self, n_in: int) -> int:
        """Number of outputs for ``n_in`` inputs: ``units``."""
        return self.units

    def bind(self, W: np.ndarray, b: np.ndarray) -> None:
        """Attach the parameter views ``W`` (units, n_in) and ``b`` (units,)."""
        self.W, self.b = W, b

    def initialize(self, rng: np.random.Generator) -> None:
        """Fill ``W`` from the initialiser and set ``b`` to zero."""
        n_out, n_in = self.W.shape
        self.W[...] = get_initializer(self.init)(rng, n_out, n_in)
        self.b[...] = 0

    def forward(self, A_prev: np.ndarray, Z: np.ndarray | None = None, A: np.ndarray | None = None):
        """Return ``(Z, A)``; ``Z`` and ``A`` may be preallocated outputs."""
        Z = np.matmul(A_prev, self.W.T, out=Z)  # Z = W . A_prev ...
        np.add(Z, self.b, out=Z)  #                 ... + b
        A = self.activation.forward(Z, out=A)  # A = g(Z)
        return Z, A

    def backward(
        self,
        dZ: np.ndarray,
        A_prev: np.ndarray,
        dW: np.ndarray,
        db: np.ndarray,
        dA_prev: np.ndarray | None = None,
        need_dA_prev: bool = True,
        scratch: np.ndarray | None = None,
    ) -> np.ndarray | None:
        """Write ``dW`` and ``db`` in place and return ``dA_prev``.

        ``dZ`` is the layer's ``dJ/dZ`` per example (the seed's first
        equation, ``dZ = dA * g'(Z)``, has already been applied)::

            dW      = (1/m) dZ^T . A_prev      (seed: (1/m) dZ . A_prev^T)
            db      = (1/m) sum_i dZ
            dA_prev = dZ . W                   (seed: W^T . dZ)

        The ``1/m`` is applied to ``dZ`` (into ``scratch``, shaped like ``dZ``,
        when given), which is smaller than ``dW`` and serves ``db`` too.
        """
        dZ_m = np.multiply(dZ, 1 / dZ.shape[0], out=scratch)  # (1/m) dZ
        np.matmul(dZ_m.T, A_prev, out=dW)  # dW = (1/m) dZ^T . A_prev
        np.add.reduce(dZ_m, axis=0, out=db)  # db = (1/m) sum_i dZ
        if not need_dA_prev:
            return None
        return np.matmul(dZ, self.W, out=dA_prev)  # dA_prev = dZ . W

    def get_config(self) -> dict:
        config = {"type": "Dense", "units": self.units, "activation": self.activation.name, "init": self.init}
        if self.activation.get_config():
            config["activation_args"] = self.activation.get_config()
        return config

    def __repr__(self) -> str:
        return f"Dense({self.units}, activation={self.activation.name!r})"
