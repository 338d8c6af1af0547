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
    return cast_finite(array, dtype, name)


def cast_finite(array: np.ndarray, dtype, name: str) -> np.ndarray:
    """``array`` in ``dtype`` (None keeps its own), after checking that its values are finite there.

    Raises
    ------
    DataError
        If ``array`` holds NaN or inf, or finite values too large for ``dtype``
        (1e39 in float32), each with its own message.
    """
    cast = array
    if dtype is not None and array.dtype != np.dtype(dtype):
        with np.errstate(over="ignore"):
            cast = array.astype(dtype)
    if all_finite(cast):
        return cast
    check_finite(array, name)  # NaN or inf already in the data
    bad = np.argwhere(~np.isfinite(cast))
    first = tuple(int(i) for i in bad[0])
    raise DataError(f"{name} contains {len(bad)} value(s) too large for {cast.dtype} (whose largest is "
                    f"{np.finfo(cast.dtype).max:.4g}); the first is at index {first} ({array[first]:.6g}); scale "
                    f"the data down or use float64")


SMALL = 4096
"""Up to this many entries :func:`all_finite` tests each one (two quick calls, a small boolean copy); beyond
it, it sums them (no copy)."""


def all_finite(array: np.ndarray) -> bool:
    """Whether every entry is finite (always for integer arrays), in one pass without a boolean copy."""
    if array.dtype.kind != "f":
        return True
    if array.size <= SMALL:
        return bool(np.isfinite(array).all())
    # A NaN or an inf anywhere makes the total non-finite. The row sums of a 2-D array come from a
    # matrix-vector product, which BLAS runs on every core.
    with np.errstate(over="ignore", invalid="ignore"):
        if array.ndim == 2:
            total = np.add.reduce(np.matmul(array, np.ones(array.shape[1], dtype=array.dtype)))
        else:
            total = np.add.reduce(array, axis=None)
    return bool(np.isfinite(total)) or bool(np.isfinite(array).all())  # the sum may overflow on finite entries


def check_finite(array: np.ndarray, name: str) -> None:
    """Raise :class:`DataError` naming how many entries are NaN or inf and where the first is."""
    if all_finite(array):
        return
    bad = np.argwhere(~np.isfinite(array))
    first = tuple(int(i) for i in bad[0])
    raise DataError(
        f"{name} contains {len(bad)} NaN or infinite value(s); the first is at index {first} "
        f"({array[first]}); remove or impute them before training"
    )



def check_targets(Y, m: int | None, n_outputs: int, loss, dtype, output: str = "the output layer") -> np.ndarray:
    """Validate targets for an output of ``n_outputs`` units and return them as ``(m, K)`` of ``dtype``.

    A loss with classes (cross-entropy) accepts integer class labels ``0 .. K-1`` of shape ``(m,)``
    and one-hot rows; a single-output network accepts ``(m,)``.
    """
    K = n_outputs
    try:
        Y = np.asarray(Y)
    except (ValueError, TypeError) as exc:
        raise DataError(f"Y must be a numeric array ({exc})") from None
    if Y.dtype.kind not in "biuf":
        raise DataError(f"Y must be numeric, received an array of dtype {Y.dtype}")
    if Y.ndim == 0 or Y.ndim > 2 or Y.size == 0:
        raise ShapeError(f"Y must be a non-empty 1-D or 2-D array, received shape {Y.shape}")
    check_finite(Y, "Y")
    if m is not None and Y.shape[0] != m:
        raise ShapeError(f"X and Y must have the same number of examples (rows); received {m} and {Y.shape[0]}")
    labels = Y.ndim == 1 or (Y.shape[1] == 1 and K > 1)
    if labels and loss.n_classes(K) == K:
        return one_hot(Y.reshape(-1), K, dtype)
    if Y.ndim == 1:
        Y = Y.reshape(-1, 1)
    if Y.shape[1] != K:
        raise ShapeError(f"Y has {Y.shape[1]} column(s) but {output} has {K} unit(s)")
    return cast_finite(Y, dtype, "Y")


def one_hot(labels: np.ndarray, K: int, dtype) -> np.ndarray:
    """Rows of ``K`` zeros with a one at each label, after checking the labels are integers in ``0..K-1``."""
    if labels.dtype.kind == "f" and not np.all(labels == np.round(labels)):
        raise DataError("class labels must be integers, received non-integer values")
    bad = (labels < 0) | (labels >= K)
    if bad.any():
        first = int(np.argmax(bad))
        raise DataError(
            f"class labels must lie in 0..{K - 1} for an output layer of {K} units; "
            f"{int(bad.sum())} label(s) out of range, the first is {labels[first].item()!r} at row {first}"
        )
    Y = np.zeros((labels.size, K), dtype=dtype)
    Y[np.arange(labels.size), labels.astype(np.intp)] = 1
    return Y


def check_sample_weight(sample_weight, m: int, dtype) -> np.ndarray | None:
    """Validate per-example weights: shape ``(m,)``, finite, non-negative, not all zero."""
    if sample_weight is None:
        return None
    w = as_numeric_2d(np.asarray(sample_weight).reshape(-1, 1), "sample_weight", dtype=dtype).ravel()
    if w.size != m:
        raise ShapeError(f"sample_weight must have one weight per example ({m}), received {w.size}")
    if (w < 0).any() or not w.sum() > 0:
        raise DataError("sample_weight must be non-negative with a positive sum")
    return w
