"""Weight initialisation schemes, drawn from a NumPy ``Generator``.

* ``he``     ``W ~ N(0, 2 / n_in)``, for the ReLU family (He et al., 2015);
* ``glorot`` ``W ~ U(-r, r)``, ``r = sqrt(6 / (n_in + n_out))`` (Glorot and Bengio, 2010);
* ``lecun``  ``W ~ N(0, 1 / n_in)``, for SELU (LeCun et al., 1998).

Biases start at zero.
"""

from __future__ import annotations

import numpy as np

from ..errors import ConfigError


def he(rng: np.random.Generator, n_out: int, n_in: int) -> np.ndarray:
    """He normal: standard deviation ``sqrt(2 / n_in)``."""
    W = rng.standard_normal((n_out, n_in))
    W *= np.sqrt(2.0 / n_in)  # in place: a large layer needs one float64 temporary, not two
    return W


def glorot(rng: np.random.Generator, n_out: int, n_in: int) -> np.ndarray:
    """Glorot uniform: bound ``sqrt(6 / (n_in + n_out))``."""
    bound = np.sqrt(6.0 / (n_in + n_out))
    return rng.uniform(-bound, bound, size=(n_out, n_in))


def lecun(rng: np.random.Generator, n_out: int, n_in: int) -> np.ndarray:
    """LeCun normal: standard deviation ``sqrt(1 / n_in)``."""
    W = rng.standard_normal((n_out, n_in))
    W *= np.sqrt(1.0 / n_in)
    return W


INITIALIZERS = {"he": he, "glorot": glorot, "lecun": lecun}
"""Registry of initialiser names to functions ``(rng, n_out, n_in) -> W``."""


def get_initializer(name: str):
    """Return the initialiser registered under ``name``."""
    if name not in INITIALIZERS:
        raise ConfigError(f"unknown initializer {name!r}; expected one of {', '.join(sorted(INITIALIZERS))}")
    return INITIALIZERS[name]
