"""The activation base class and the buffer helpers every activation uses; the activations are
:mod:`layerwise.ops.activations` (which describes the forward and backward pair)."""

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


def _finite(owner: str, name: str, value) -> float:
    """``value`` as a float, after checking that it is a finite real number."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
        raise ConfigError(f"{owner}: {name} must be a finite number, received {value!r}")
    return float(value)


@functools.lru_cache(maxsize=4)
def _log_max(dtype: np.dtype):
    """The largest ``z`` of ``dtype`` whose ``exp(z)`` is finite."""
    z = dtype.type(np.log(np.finfo(dtype).max))
    with np.errstate(over="ignore"):
        while not np.isfinite(np.exp(z)):
            z = np.nextafter(z, dtype.type(0))
    return z


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
