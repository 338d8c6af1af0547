"""``Dropout``: inverted dropout, on by training and off at prediction."""

from __future__ import annotations

import numbers

import numpy as np

from ..errors import ConfigError


class Dropout:
    """Inverted dropout on the output of the preceding layer (or on the input).

    In training each unit is kept with probability ``1 - rate`` and the kept
    units are scaled by ``1 / (1 - rate)``, so that nothing changes at
    prediction time, when dropout is off.

    Parameters
    ----------
    rate : float
        Fraction of units dropped, in ``[0, 1)``.
    """

    def __init__(self, rate: float):
        if isinstance(rate, bool) or not isinstance(rate, numbers.Real) or not 0 <= rate < 1:
            raise ConfigError(f"Dropout rate must be a number in [0, 1), received {rate!r}")
        self.rate = float(rate)

    def mask(self, rng: np.random.Generator, shape: tuple[int, int], dtype,
             out: np.ndarray | None = None) -> np.ndarray:
        """Draw the scaled mask ``D``: ``1/(1-rate)`` where kept, ``0`` where dropped (into ``out`` if given)."""
        D = rng.random(shape, dtype=dtype, out=out)
        np.greater_equal(D, self.rate, out=D)  # 1.0 where kept, 0.0 where dropped
        D *= np.dtype(dtype).type(1.0 / (1.0 - self.rate))
        return D

    def parameter_shapes(self, n_in: int) -> dict[str, tuple[int, ...]]:
        """Dropout has no parameters."""
        return {}

    def output_size(self, n_in: int) -> int:
        """Dropout keeps the width of its input."""
        return n_in

    def get_config(self) -> dict:
        return {"type": "Dropout", "rate": self.rate}

    def __repr__(self) -> str:
        return f"Dropout({self.rate})"
