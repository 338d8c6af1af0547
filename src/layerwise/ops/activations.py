"""Activation functions ``A = g(Z)`` and their backward rules.

Each activation is a pair of functions that sit side by side:

* ``forward(Z, out=None)`` returns ``A = g(Z)``;
* ``backward(dA, Z, A, out=None)`` returns ``dZ``, the vector-Jacobian
  product of ``g`` at ``Z`` with ``dA``. For the element-wise activations that
  is the seed's ``dZ = dA * g'(Z)``; for softmax, whose Jacobian is not
  diagonal, it is ``dZ = A * (dA - sum(dA * A, axis=1))``.

Both accept ``out=`` so that the training loop can reuse preallocated
buffers; ``out`` may be the same array as ``Z`` (forward) or ``dA``
(backward). ``backward`` also accepts ``scratch=``, an array shaped like
``Z`` (and distinct from ``out`` and ``dA``) into which ``derivative(Z, A,
out=scratch)`` writes ``g'(Z)``, so that with both buffers given the
training loop allocates nothing. Every function is written to stay finite,
without overflow warnings, for ``|Z|`` up to at least ``1e4``.
"""

from __future__ import annotations

import numpy as np

from ..errors import ConfigError
from . import activation_kernels as kernels
from .activation_base import Activation, _copy_into, _filled, _log_max, _special
from .relu_family import ELU, GELU, SELU, LeakyReLU, ReLU, SiLU, Softplus


class Identity(Activation):
    """``g(z) = z``; the seed's "no activation" output for regression."""

    name = "identity"

    def forward(self, Z, out=None):
        if out is None:
            return Z.copy()
        if out is not Z:
            np.copyto(out, Z)
        return out

    def derivative(self, Z, A, out=None):
        return _filled(Z, 1, out)

    def backward(self, dA, Z, A, out=None, scratch=None):
        """``dZ = dA``."""
        if out is None:
            return dA.copy()
        if out is not dA:
            np.copyto(out, dA)
        return out


class Tanh(Activation):
    """``g(z) = tanh(z)``, ``g'(z) = 1 - tanh(z)^2``."""

    name = "tanh"

    def forward(self, Z, out=None):
        return np.tanh(Z, out=out)

    def derivative(self, Z, A, out=None):
        """``1 - A**2``."""
        out = np.square(A, out=out)
        return np.subtract(1, out, out=out)


class Sigmoid(Activation):
    """``g(z) = 1 / (1 + exp(-z))``, ``g'(z) = g(z) (1 - g(z))``."""

    name = "sigmoid"

    def forward(self, Z, out=None):
        return _special().expit(Z, out=out)

    def derivative(self, Z, A, out=None):
        """``A * (1 - A)``."""
        out = np.subtract(1, A, out=out)
        return np.multiply(out, A, out=out)


class Exp(Activation):
    """``g(z) = exp(z)``, ``g'(z) = exp(z) = A``: the output of Poisson regression (a log link).

    ``Z`` is capped at the logarithm of the dtype's largest number (about 88.7
    in float32, 709.8 in float64), so that ``A`` saturates there instead of
    overflowing to infinity.
    """

    name = "exp"

    def forward(self, Z, out=None):
        out = np.minimum(Z, _log_max(Z.dtype), out=out)
        return np.exp(out, out=out)

    def derivative(self, Z, A, out=None):
        """``A``."""
        return _copy_into(A, out)


class Softmax(Activation):
    """``g(z)_k = exp(z_k) / sum_j exp(z_j)`` along each row, shifted by the row max."""

    name = "softmax"

    def forward(self, Z, out=None):
        if kernels.ENABLED and Z.ndim == 2 and Z.flags.c_contiguous and (out is None or out.flags.c_contiguous):
            out = np.empty_like(Z) if out is None else out
            kernels.softmax_rows(Z, out)  # the lines below, compiled
            return out
        out = np.subtract(Z, np.maximum.reduce(Z, axis=1, keepdims=True), out=out)
        np.exp(out, out=out)
        out /= np.add.reduce(out, axis=1, keepdims=True)
        return out

    def derivative(self, Z, A, out=None):
        raise ConfigError("softmax has no element-wise derivative; use backward()")

    def backward(self, dA, Z, A, out=None, scratch=None):
        """``dZ = A * (dA - sum_k dA_k A_k)``: the softmax Jacobian applied to ``dA``."""
        inner = np.einsum("ij,ij->i", dA, A)[:, None]
        out = np.subtract(dA, inner, out=out)
        out *= A
        return out


ACTIVATIONS: dict[str, type[Activation]] = {
    cls.name: cls
    for cls in (Identity, ReLU, LeakyReLU, ELU, SELU, GELU, SiLU, Softplus, Tanh, Sigmoid, Exp, Softmax)
}
"""Registry of activation names to classes."""

RELU_FAMILY = frozenset({"relu", "leaky_relu", "elu", "selu", "gelu", "silu"})
"""Activations whose layers are initialised with He's scheme."""


def get_activation(activation: str | Activation, **kwargs) -> Activation:
    """Return an :class:`Activation` from its registered name (and arguments) or pass one through.

    Raises
    ------
    ConfigError
        If the name is not registered; the message lists the valid names.
    """
    if isinstance(activation, Activation):
        return activation
    if activation is None:
        return Identity()
    if not isinstance(activation, str) or activation not in ACTIVATIONS:
        raise ConfigError(
            f"unknown activation {activation!r}; expected one of {', '.join(sorted(ACTIVATIONS))}"
        )
    try:
        return ACTIVATIONS[activation](**kwargs)
    except TypeError:
        raise ConfigError(f"activation {activation!r} does not accept the arguments {sorted(kwargs)}") from None
