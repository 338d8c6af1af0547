"""Weight initialisation schemes, drawn from a NumPy ``Generator``.

* ``he``         ``W ~ N(0, 2 / n_in)``, for the ReLU family (He et al., 2015);
* ``he_uniform`` ``W ~ U(-r, r)``, ``r = sqrt(6 / n_in)``: the same variance, bounded;
* ``glorot``     ``W ~ U(-r, r)``, ``r = sqrt(6 / (n_in + n_out))`` (Glorot and Bengio, 2010);
* ``lecun``      ``W ~ N(0, 1 / n_in)``, for SELU (LeCun et al., 1998);
* ``readout``    ``W ~ U(-r, r)``, ``r = sqrt(3) / n_in``, i.e. variance ``1 / n_in^2``,
  for an output layer (the output layer of muP, Yang et al., 2021). Its
  initial output is ``sqrt(n_in)`` times smaller than with the schemes
  above, so the network starts close to a constant prediction: no random
  function for the first updates to undo, while the hidden layers still
  receive gradients through ``W[L]``.

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


def he_uniform(rng: np.random.Generator, n_out: int, n_in: int) -> np.ndarray:
    """He uniform: bound ``sqrt(6 / n_in)``."""
    bound = np.sqrt(6.0 / n_in)
    return rng.uniform(-bound, bound, size=(n_out, n_in))


def readout(rng: np.random.Generator, n_out: int, n_in: int) -> np.ndarray:
    """Output-layer scheme: uniform with bound ``sqrt(3) / n_in`` (standard deviation ``1 / n_in``)."""
    bound = np.sqrt(3.0) / n_in
    return rng.uniform(-bound, bound, size=(n_out, n_in))


INITIALIZERS = {"he": he, "he_uniform": he_uniform, "glorot": glorot, "lecun": lecun, "readout": readout}
"""Registry of initialiser names to functions ``(rng, n_out, n_in) -> W``."""


def get_initializer(name: str):
    """Return the initialiser registered under ``name``."""
    if name not in INITIALIZERS:
        raise ConfigError(f"unknown initializer {name!r}; expected one of {', '.join(sorted(INITIALIZERS))}")
    return INITIALIZERS[name]
