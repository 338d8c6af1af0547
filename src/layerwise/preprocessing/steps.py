"""Fitted preprocessing steps: the protocol and standardisation.

A step is fitted once (on the training data) and then only applied. It
describes itself as plain data, :meth:`Step.get_config` (JSON-compatible) and
:meth:`Step.arrays` (NumPy arrays stored as tensors), and is rebuilt from the
two by :func:`layerwise.preprocessing.registry.step_from_stored`. To add a
kind of step, subclass :class:`Step`, give it a unique ``name`` and list it
in :data:`layerwise.preprocessing.registry.STEPS`.
"""

from __future__ import annotations

import numpy as np

from ..engine.checks import as_numeric_2d
from ..errors import ConfigError, ShapeError


class Step:
    """A fitted transform of table rows.

    Attributes
    ----------
    name : str
        The step's type as stored in the model file.
    n_in, n_out : int
        Number of columns the step takes and returns.
    """

    name = "step"
    n_in: int
    n_out: int

    def transform(self, X) -> np.ndarray:
        """Map rows of ``n_in`` columns to float64 rows of ``n_out`` columns."""
        raise NotImplementedError

    def inverse(self, Y: np.ndarray) -> np.ndarray:
        """Undo :meth:`transform` (needed by steps applied to targets)."""
        raise ConfigError(f"the preprocessing step {self.name!r} cannot be inverted, so it cannot act on targets")

    def affine(self) -> tuple[np.ndarray, np.ndarray] | None:
        """``(scale, shift)`` with ``transform(x) = x * scale + shift`` column-wise, or None if not affine.

        Affine steps fold into the first or last Dense layer for export.
        """
        return None

    def output_names(self, names: list[str]) -> list[str]:
        """Names of the output columns, given the input columns' names (the same for column-wise steps)."""
        return list(names)

    def get_config(self) -> dict:
        """The step's JSON-compatible settings (arrays go to :meth:`arrays`)."""
        return {}

    def arrays(self) -> dict[str, np.ndarray]:
        """The step's fitted arrays, stored as float64 tensors."""
        return {}

    @classmethod
    def from_stored(cls, config: dict, arrays: dict[str, np.ndarray]) -> Step:
        raise NotImplementedError

    def _check_width(self, X: np.ndarray, what: str) -> None:
        if X.shape[1] != self.n_in:
            raise ShapeError(f"the {self.name} preprocessing step expects {self.n_in} {what} column(s), "
                             f"received {X.shape[1]}")

    def __repr__(self) -> str:
        return f"{type(self).__name__}(n_in={self.n_in}, n_out={self.n_out})"


class Standardize(Step):
    """``(x - mean) / scale`` per column.

    Parameters
    ----------
    mean, scale : array-like of shape (n,)
        ``scale`` must be positive; :meth:`fit` keeps 1 for constant columns.
    """

    name = "standardize"

    def __init__(self, mean, scale):
        mean = np.array(mean, dtype=np.float64).reshape(-1)
        scale = np.array(scale, dtype=np.float64).reshape(-1)
        if mean.shape != scale.shape or mean.size == 0:
            raise ConfigError(f"standardize needs mean and scale of the same non-zero length, received "
                              f"{mean.size} and {scale.size} values")
        if not (np.isfinite(mean).all() and np.isfinite(scale).all() and (scale > 0).all()):
            raise ConfigError("standardize needs a finite mean and a finite, positive scale")
        mean.flags.writeable = scale.flags.writeable = False
        self.mean, self.scale = mean, scale
        self.n_in = self.n_out = mean.size

    @classmethod
    def fit(cls, values) -> Standardize:
        """The mean and standard deviation of each column of ``values`` (1 where a column is constant)."""
        values = np.asarray(values, dtype=np.float64).reshape(len(values), -1)
        mean, scale = values.mean(axis=0), values.std(axis=0)
        return cls(mean, np.where(scale > 1e-12 * (1 + np.abs(mean)), scale, 1.0))

    def transform(self, X) -> np.ndarray:
        X = as_numeric_2d(X, "X", dtype=np.float64)
        self._check_width(X, "feature")
        return (X - self.mean) / self.scale

    def inverse(self, Y: np.ndarray) -> np.ndarray:
        Y = np.asarray(Y, dtype=np.float64).reshape(len(Y), -1)
        self._check_width(Y, "output")
        return Y * self.scale + self.mean

    def affine(self):
        return 1 / self.scale, -self.mean / self.scale

    def arrays(self):
        return {"mean": self.mean, "scale": self.scale}

    @classmethod
    def from_stored(cls, config, arrays):
        return cls(arrays["mean"], arrays["scale"])
