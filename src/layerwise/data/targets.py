"""A data set and its target: the :class:`Dataset` container, the task inferred from a target, and the target's
encoding as numbers (class indices with their labels, or values)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..engine.checks import check_finite
from ..errors import ConfigError, DataError, ShapeError

TASKS = ("auto", "classification", "regression")


@dataclass
class Dataset:
    """Features, targets and what they mean.

    Attributes
    ----------
    X : numpy.ndarray
        Features, shape ``(m, n_features)``: floating point, or for a table
        with text columns an object array (see :class:`layerwise.data.csvfile.CsvColumns`).
    y : numpy.ndarray
        Targets: class indices ``0 .. K-1`` (int64, shape ``(m,)``) for
        classification; floats of shape ``(m,)`` or ``(m, k)`` for regression.
    classes : list or None
        The original class labels (``classes[y[i]]`` is row ``i``'s label);
        None for regression.
    feature_names : list of str or None
        Column names, when the source has them.
    task : {"classification", "regression"}
    name : str
        The data set's name, or the file's name without its suffix.
    table : bool
        Whether the data came from a table file (CSV, Parquet), whose columns
        may hold text and missing values.
    target_name : str or None
        The target column's name in a table file with a header.
    """

    X: np.ndarray
    y: np.ndarray
    classes: list | None
    feature_names: list[str] | None
    task: str
    name: str
    table: bool = False
    target_name: str | None = None

    def __post_init__(self):
        if self.X.ndim not in (2, 4) or self.y.ndim not in (1, 2) or self.X.shape[0] != self.y.shape[0]:
            raise ShapeError(f"Dataset needs X of shape (m, n) or (m, C, H, W) and y of shape (m,) or (m, k); received "
                             f"X {self.X.shape} and y {self.y.shape}")

    @property
    def n_samples(self) -> int:
        """Number of examples (rows)."""
        return self.X.shape[0]

    @property
    def n_features(self) -> int:
        """Number of features (columns of ``X``; ``C * H * W`` for images)."""
        return int(np.prod(self.X.shape[1:]))


# ------------------------------------------------------------------ targets
def infer_task(y) -> str:
    """``"classification"`` or ``"regression"`` for target values ``y``, by the rule in the module notes."""
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] > 1:
        return "regression"
    if y.dtype.kind != "f":
        return "classification"
    if not np.all(np.isfinite(y)) or not np.all(y == np.round(y)):
        return "regression"
    n_distinct = np.unique(y).size
    return "classification" if n_distinct <= max(20, 0.05 * y.shape[0]) else "regression"


def encode_target(y, task: str = "auto", what: str = "the target") -> tuple[np.ndarray, list | None, str]:
    """Turn raw target values into ``(y, classes, task)`` as a :class:`Dataset` holds them.

    Parameters
    ----------
    y : array_like
        Raw targets, shape ``(m,)`` or ``(m, k)``: numbers, booleans or text.
    task : {"auto", "classification", "regression"}
        See the module notes for the ``"auto"`` rule.
    what : str
        How to name the target in error messages.

    Returns
    -------
    y : numpy.ndarray
        Class indices (int64) or float64 values; an ``(m, 1)`` input becomes ``(m,)``.
    classes : list or None
        Sorted original labels for classification, else None.
    task : str
        The resolved task.
    """
    _check_task(task)
    y = np.asarray(y)
    if y.dtype.kind == "S":
        y = y.astype(str)
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.ndim not in (1, 2) or y.shape[0] == 0:
        raise ShapeError(f"{what} must be a non-empty 1-D or 2-D array, received shape {y.shape}")
    if y.dtype.kind not in "biufU":
        raise DataError(f"{what} must hold numbers, booleans or text, received dtype {y.dtype}")
    resolved = infer_task(y) if task == "auto" else task
    if resolved == "regression":
        if y.dtype.kind == "U":
            raise DataError(f"task 'regression' needs numeric targets, but {what} holds text such as {str(y[0])!r}")
        values = y.astype(np.float64)
        check_finite(values, what)
        return values, None, "regression"
    if y.ndim == 2:
        raise ShapeError(f"classification needs a single target column, but {what} has shape {y.shape}")
    if y.dtype.kind == "f":
        check_finite(y, what)
    labels, codes = np.unique(y, return_inverse=True)
    return codes.reshape(-1).astype(np.int64), [_plain(label) for label in labels], "classification"


def _plain(label):
    """A NumPy scalar as a plain, JSON-friendly Python value (whole floats become ints)."""
    value = label.item() if isinstance(label, np.generic) else label
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _check_task(task: str) -> None:
    if task not in TASKS:
        raise ConfigError(f"task must be one of {', '.join(TASKS)}, received {task!r}")
