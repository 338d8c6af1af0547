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

import functools
import math
import numbers

import numpy as np

from ..errors import ConfigError


def _special():
    """``scipy.special``, imported on first use: it takes longer to import than all of layerwise."""
    from scipy import special

    return special


class Activation:
    """An element-wise activation ``g`` with derivative ``g'``.

    Subclasses define :meth:`forward` and :meth:`derivative`; the backward
    rule is then the seed's first equation, ``dZ = dA * g'(Z)``.
    """

    name = "activation"

    def forward(self, Z: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        raise NotImplementedError

    def derivative(self, Z: np.ndarray, A: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        """Return ``g'(Z)`` (into ``out`` when given); ``A = g(Z)`` is passed in so it need not be recomputed."""
        raise NotImplementedError

    def backward(
        self, dA: np.ndarray, Z: np.ndarray, A: np.ndarray, out: np.ndarray | None = None,
        scratch: np.ndarray | None = None,
    ) -> np.ndarray:
        """``dZ = dA * g'(Z)``, with ``g'(Z)`` written into ``scratch`` when given."""
        derivative = self.derivative(Z, A) if scratch is None else self.derivative(Z, A, out=scratch)
        return np.multiply(dA, derivative, out=out)

    def get_config(self) -> dict:
        """Constructor arguments that differ from the defaults (saved with the model)."""
        return {}

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


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


class ReLU(Activation):
    """``g(z) = max(z, 0)``; ``g'(0) = 0`` as the seed takes it."""

    name = "relu"

    def forward(self, Z, out=None):
        return np.maximum(Z, _zero_row(Z.shape[-1], Z.dtype), out=out)

    def derivative(self, Z, A, out=None):
        """``[Z > 0]`` as 0.0 / 1.0 in ``Z``'s dtype."""
        if out is None:
            return (Z > 0).astype(Z.dtype)
        return np.greater(Z, 0, out=out)


def _finite(owner: str, name: str, value) -> float:
    """``value`` as a float, after checking that it is a finite real number."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
        raise ConfigError(f"{owner}: {name} must be a finite number, received {value!r}")
    return float(value)


class LeakyReLU(Activation):
    """``g(z) = z`` for ``z > 0``, ``slope * z`` otherwise."""

    name = "leaky_relu"

    def __init__(self, negative_slope: float = 0.01):
        self.negative_slope = _finite("LeakyReLU", "negative_slope", negative_slope)

    def get_config(self):
        return {} if self.negative_slope == 0.01 else {"negative_slope": self.negative_slope}

    def forward(self, Z, out=None):
        return _copy_into(np.where(Z > 0, Z, Z * self.negative_slope), out)

    def derivative(self, Z, A, out=None):
        return _copy_into(np.where(Z > 0, 1, self.negative_slope).astype(Z.dtype, copy=False), out)


class ELU(Activation):
    """``g(z) = z`` for ``z > 0``, ``alpha * (exp(z) - 1)`` otherwise."""

    name = "elu"

    def __init__(self, alpha: float = 1.0, scale: float = 1.0):
        self.alpha = _finite(type(self).__name__, "alpha", alpha)
        self.scale = _finite(type(self).__name__, "scale", scale)

    def get_config(self):
        return {key: value for key, value in (("alpha", self.alpha), ("scale", self.scale)) if value != 1.0}

    def forward(self, Z, out=None):
        negative = self.alpha * np.expm1(np.minimum(Z, 0))
        return _copy_into(self.scale * np.where(Z > 0, Z, negative).astype(Z.dtype, copy=False), out)

    def derivative(self, Z, A, out=None):
        negative = self.alpha * np.exp(np.minimum(Z, 0))
        return _copy_into((self.scale * np.where(Z > 0, 1, negative)).astype(Z.dtype, copy=False), out)


class SELU(ELU):
    """Scaled ELU with the self-normalising constants of Klambauer et al. (2017)."""

    name = "selu"

    def __init__(self):
        super().__init__(alpha=1.6732632423543772, scale=1.0507009873554805)

    def get_config(self):
        return {}


class GELU(Activation):
    """``g(z) = z * Phi(z)`` with ``Phi`` the standard normal CDF (the exact form)."""

    name = "gelu"

    def forward(self, Z, out=None):
        return np.multiply(Z, _special().ndtr(Z), out=out)

    def derivative(self, Z, A, out=None):
        density = np.exp(-0.5 * np.square(Z)) / Z.dtype.type(math.sqrt(2 * math.pi))
        return np.add(_special().ndtr(Z), Z * density, out=out)


class SiLU(Activation):
    """``g(z) = z * sigmoid(z)`` (also called swish)."""

    name = "silu"

    def forward(self, Z, out=None):
        return np.multiply(Z, _special().expit(Z), out=out)

    def derivative(self, Z, A, out=None):
        s = _special().expit(Z)
        return np.multiply(s, 1 + Z * (1 - s), out=out)


class Softplus(Activation):
    """``g(z) = log(1 + exp(z))``, computed as ``logaddexp(0, z)``."""

    name = "softplus"

    def forward(self, Z, out=None):
        return np.logaddexp(Z.dtype.type(0), Z, out=out)

    def derivative(self, Z, A, out=None):
        return _special().expit(Z, out=out)


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


@functools.lru_cache(maxsize=4)
def _log_max(dtype: np.dtype):
    """The largest ``z`` of ``dtype`` whose ``exp(z)`` is finite."""
    z = dtype.type(np.log(np.finfo(dtype).max))
    with np.errstate(over="ignore"):
        while not np.isfinite(np.exp(z)):
            z = np.nextafter(z, dtype.type(0))
    return z


class Softmax(Activation):
    """``g(z)_k = exp(z_k) / sum_j exp(z_j)`` along each row, shifted by the row max."""

    name = "softmax"

    def forward(self, Z, out=None):
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


@functools.lru_cache(maxsize=64)
def _zero_row(width: int, dtype: np.dtype) -> np.ndarray:
    """A read-only row of zeros: NumPy's maximum runs several times faster against
    an array than against the scalar 0, and a row broadcasts over the batch."""
    row = np.zeros(width, dtype=dtype)
    row.flags.writeable = False
    return row


def _filled(Z: np.ndarray, value: float, out: np.ndarray | None) -> np.ndarray:
    if out is None:
        return np.full_like(Z, value)
    out.fill(value)
    return out


def _copy_into(values: np.ndarray, out: np.ndarray | None) -> np.ndarray:
    if out is None:
        return values
    np.copyto(out, values)
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
