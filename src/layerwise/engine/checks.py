"""Input checks shared by the network, the trainer and the command line.

Each check turns a user mistake into a :class:`~layerwise.errors.LayerwiseError`
that says what was expected and what was received, before NumPy gets a
chance to fail somewhere deep inside.
"""

from __future__ import annotations

import numpy as np

from ..errors import DataError, ShapeError


def as_numeric_2d(X, name: str = "X", dtype=None) -> np.ndarray:
    """Return ``X`` as a non-empty 2-D numeric array with finite entries.

    Raises
    ------
    DataError
        If ``X`` is not numeric, is empty, or holds NaN or inf.
    ShapeError
        If ``X`` is not two-dimensional.
    """
    try:
        array = np.asarray(X)
    except (ValueError, TypeError) as exc:
        raise DataError(f"{name} must be a numeric array, received {type(X).__name__} ({exc})") from None
    if array.dtype.kind not in "biuf":
        try:
            array = array.astype(np.float64)
        except (ValueError, TypeError):
            raise DataError(f"{name} must be numeric, received an array of dtype {array.dtype}") from None
    if array.ndim != 2:
        raise ShapeError(f"{name} must be 2-D (examples, features), received shape {array.shape}")
    if array.shape[0] == 0 or array.shape[1] == 0:
        raise DataError(f"{name} is empty: received shape {array.shape}")
    if dtype is not None:
        array = array.astype(dtype, copy=False)
    check_finite(array, name)
    return array


def check_finite(array: np.ndarray, name: str) -> None:
    """Raise :class:`DataError` naming how many entries are NaN or inf and where the first is."""
    if array.dtype.kind != "f":
        return
    # One pass and no boolean copy of the input: a NaN or an inf anywhere makes the total non-finite. The row
    # sums of a 2-D array come from a matrix-vector product, which BLAS runs on every core.
    with np.errstate(over="ignore", invalid="ignore"):
        if array.ndim == 2:
            total = np.add.reduce(np.matmul(array, np.ones(array.shape[1], dtype=array.dtype)))
        else:
            total = np.add.reduce(array, axis=None)
    if np.isfinite(total):
        return
    finite = np.isfinite(array)
    if finite.all():  # the sum overflowed, but every entry is finite
        return
    bad = np.argwhere(~finite)
    first = tuple(int(i) for i in bad[0])
    raise DataError(
        f"{name} contains {len(bad)} NaN or infinite value(s); the first is at index {first} "
        f"({array[first]}); remove or impute them before training"
    )

