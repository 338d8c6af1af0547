"""The ReLU family of activations: ReLU, leaky ReLU, ELU, SELU, GELU, SiLU, and softplus, its smooth relative."""

from __future__ import annotations

import math

import numpy as np

from .activation_base import Activation, _copy_into, _finite, _special, _zero_row


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
