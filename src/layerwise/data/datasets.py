"""Data sets: the bundled defaults, CSV / NPZ / NPY files and MNIST, as one :class:`Dataset`.

``load_dataset(source)`` accepts

* a bundled scikit-learn data set (no network): ``"digits"``, ``"iris"``,
  ``"wine"``, ``"breast_cancer"`` (classification) and ``"diabetes"``
  (regression);
* ``"mnist"`` or ``"fashion-mnist"``, downloaded once and cached (see
  :mod:`layerwise.mnist`); :func:`load_split` keeps the official training and
  test sets apart;
* a path to a ``.csv``, ``.parquet``, ``.npz`` or ``.npy`` file.

Choosing the task
-----------------
With ``task="auto"`` a target is a classification target when its values are
text, booleans or integers (an integer NumPy dtype), or when they are floats
(every CSV number is read as a float) that are all whole numbers and take at
most ``max(20, 5% of the rows)`` distinct values. Anything else, and any
target with several columns, is a regression target. ``task="classification"``
or ``"regression"`` overrides the rule; regression on text labels is an error.

Classification targets are returned as class indices ``0 .. K-1`` together
with ``classes``, the original labels in sorted order (whole-number floats
become ints), so ``classes[y[i]]`` is the label of row ``i``.

CSV files are read by :func:`layerwise.data.csvfile.read_csv`, whose notes give
the header rules, and Parquet files by :func:`layerwise.data.parquet.read_parquet_file`.
Their feature columns may hold text and missing values (see
:mod:`layerwise.data.columns`); such a :class:`Dataset` is a ``table``, which
``layerwise train`` encodes (one-hot, imputation) before it trains.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ..engine.checks import as_numeric_2d
from ..errors import ConfigError, DataError, ShapeError
from ..io.atomic import as_path
from . import mnist
from .csvfile import column_index, read_csv
from .numpyfile import NpzArchive, read_npy
from .parquet import read_parquet_file
from .targets import TASKS, Dataset, _check_task, _plain, encode_target, infer_task

__all__ = ["Dataset", "EMBEDDED", "FILE_TYPES", "IDX_SETS", "TASKS", "encode_target", "infer_task", "load_csv",
           "load_dataset", "load_npy", "load_npz", "load_split", "read_features"]

EMBEDDED = ("digits", "iris", "wine", "breast_cancer", "diabetes")
IDX_SETS = tuple(mnist.SOURCES)
FILE_TYPES = (".csv", ".parquet", ".npz", ".npy")

_X_KEYS = ("X", "x", "data")
_Y_KEYS = ("y", "Y", "target")


# ------------------------------------------------------------------ entry points
def load_dataset(source, *, target=None, task: str = "auto", data_home=None) -> Dataset:
    """Load a bundled data set, MNIST / Fashion-MNIST, or a CSV / NPZ / NPY file.

    Parameters
    ----------
    source : str or path-like
        A name from :data:`EMBEDDED` or :data:`IDX_SETS`, or a path ending in
        ``.csv``, ``.npz`` or ``.npy``. Names win over files of the same name.
    target : int or str, optional
        CSV and NPY only: the target column, by index (negative counts from the
        end) or, for CSV files with a header, by name. Default: the last column.
    task : {"auto", "classification", "regression"}
        See the module notes.
    data_home : path-like, optional
        Cache root for MNIST downloads (see :func:`layerwise.mnist.cache_root`).

    Returns
    -------
    Dataset
        For ``"mnist"`` and ``"fashion-mnist"`` the official training set
        (first 60000 rows) followed by the test set (last 10000 rows); use
        :func:`load_split` to keep them apart.

    Raises
    ------
    DataError
        For a missing, empty or malformed file, a non-numeric feature, a
        missing value, or an unknown or out-of-range target column.
    ConfigError
        For an unknown ``task`` or a ``target`` given where it does not apply.
    """
    _check_task(task)
    if isinstance(source, str) and source in EMBEDDED:
        return _load_embedded(source, target, task)
    if isinstance(source, str) and source in IDX_SETS:
        _no_target(target, source)
        task = _idx_task(task, source)
        train, test = load_split(source, data_home=data_home)
        return Dataset(np.concatenate([train.X, test.X]), np.concatenate([train.y, test.y]),
                       train.classes, None, task, source)
    path = as_path(source, "the data source")
    suffix = path.suffix.lower()
    if suffix not in FILE_TYPES:
        raise DataError(f"cannot load {os.fspath(source)!r}: expected one of the data sets "
                        f"{', '.join(EMBEDDED + IDX_SETS)} or a path to a {', '.join(FILE_TYPES)} file")
    if suffix in (".csv", ".parquet"):
        return load_csv(path, target=target, task=task)
    if suffix == ".npy":
        return load_npy(path, target=target, task=task)
    _no_target(target, path.name)
    return load_npz(path, task=task)


def load_split(name: str, *, data_home=None, base_url: str | None = None, checksums: dict[str, str] | None = None,
               timeout: float = 60.0, images: bool = False) -> tuple[Dataset, Dataset]:
    """The official ``(train, test)`` split of ``"mnist"`` or ``"fashion-mnist"``.

    Downloads the four files on first use (see :func:`layerwise.mnist.fetch`
    for ``data_home``, ``base_url``, ``checksums`` and ``timeout``). ``X`` is
    float32 in [0, 1] of shape ``(m, 784)``, or ``(m, 1, 28, 28)`` with ``images=True`` (for
    convolutional networks; ``Network`` accepts either); ``y`` holds the class indices;
    ``classes`` are the digits 0-9 for MNIST and the article names for
    Fashion-MNIST.
    """
    if name not in IDX_SETS:
        raise ConfigError(f"{name!r} has no official train/test split; expected one of {', '.join(IDX_SETS)}")
    X_train, y_train, X_test, y_test = mnist.load_arrays(name, images=images, data_home=data_home,
                                                         base_url=base_url, checksums=checksums, timeout=timeout)
    classes = list(mnist.SOURCES[name].classes)
    return (Dataset(X_train, y_train, classes, None, "classification", name),
            Dataset(X_test, y_test, list(classes), None, "classification", name))


def _idx_task(task: str, name: str) -> str:
    if task == "regression":
        raise ConfigError(f"{name} is a classification data set; task 'regression' does not apply")
    return "classification"


def _no_target(target, name: str) -> None:
    if target is not None:
        raise ConfigError(f"target applies to CSV and NPY files only; {name} has a fixed target, "
                          f"received target={target!r}")


def _load_embedded(name: str, target, task: str) -> Dataset:
    _no_target(target, name)
    from sklearn import datasets as sk_datasets

    bunch = getattr(sk_datasets, f"load_{name}")()
    y, classes, task = encode_target(bunch.target, task, what=f"{name}'s target")
    names = getattr(bunch, "target_names", None)
    if classes is not None and names is not None and len(names) == len(classes):
        classes = [_plain(label) for label in names]
    features = [str(feature) for feature in bunch.feature_names]
    return Dataset(np.asarray(bunch.data, dtype=np.float64), y, classes, features, task, name)


# ------------------------------------------------------------------ NumPy files
def load_npz(path, *, task: str = "auto") -> Dataset:
    """Load features and targets from an ``.npz`` file with arrays ``X`` and ``y``.

    ``x`` or ``data`` are accepted for the features, ``Y`` or ``target`` for the
    targets. Only those two arrays are read, each after its header is checked
    (see :mod:`layerwise.data.numpyfile`); object arrays are refused.
    """
    label = os.fspath(path)
    with NpzArchive(path) as archive:
        x_key = next((key for key in _X_KEYS if key in archive.names), None)
        y_key = next((key for key in _Y_KEYS if key in archive.names), None)
        if x_key is None or y_key is None:
            raise DataError(f"{label} must hold arrays 'X' and 'y' (or 'x'/'data' and 'Y'/'target'); "
                            f"found {sorted(archive.names)[:20] or 'no arrays'}")
        X = _float_features(archive.read(x_key), f"{label}: {x_key}")
        y, classes, task = encode_target(archive.read(y_key), task, what=f"{label}: {y_key}")
    if y.shape[0] != X.shape[0]:
        raise ShapeError(f"{label}: {x_key} has {X.shape[0]} rows but {y_key} has {y.shape[0]}")
    return Dataset(X, y, classes, None, task, Path(path).stem)


def load_npy(path, *, target=None, task: str = "auto") -> Dataset:
    """Load a 2-D ``.npy`` array whose ``target`` column (default the last) holds the targets."""
    label = os.fspath(path)
    array = read_npy(path)
    if array.ndim != 2 or array.shape[1] < 2:
        raise ShapeError(f"{label} must hold a 2-D array with feature columns and a target column; received "
                         f"shape {array.shape}")
    if array.dtype.kind not in "biufUS":
        raise DataError(f"{label} must hold numbers or text, received dtype {array.dtype}")
    if array.shape[0] == 0:
        raise DataError(f"{label} is empty: received shape {array.shape}")
    j = column_index(target, None, array.shape[1], label)
    X = _float_features(np.delete(array, j, axis=1), f"{label}: features")
    y, classes, task = encode_target(array[:, j], task, what=f"{label}: target column {j}")
    return Dataset(X, y, classes, None, task, Path(path).stem)


def _float_features(array, name: str) -> np.ndarray:
    X = as_numeric_2d(array, name)
    return X if X.dtype.kind == "f" else X.astype(np.float64)


# ------------------------------------------------------------------ CSV
def load_csv(path, *, target=None, task: str = "auto", header: bool | None = None) -> Dataset:
    """Load a CSV (or ``.parquet``) file of feature columns and one target column.

    The rules are in :mod:`layerwise.data.csvfile` and :mod:`layerwise.data.columns`.

    Parameters
    ----------
    path : str or path-like
    target : int or str, optional
        Target column by index (negative counts from the end) or, when the file
        has a header, by name; a string of digits names the column if the
        header has one of that name and is an index otherwise. Default: last.
    task : {"auto", "classification", "regression"}
    header : bool, optional
        Whether the first row is a header; default detected.

    Raises
    ------
    DataError
        For an empty file, a header without data, rows of different lengths, an
        infinite value or a missing target (with its line number), or a target
        column that does not exist.
    """
    _check_task(task)
    if Path(path).suffix.lower() == ".parquet":
        columns = read_parquet_file(path, target=target)
    else:
        columns = read_csv(path, target=target, header=header)
    y, classes, task = encode_target(columns.y, task, what=f"{columns.label}: target {columns.target_label}")
    return Dataset(columns.X, y, classes, columns.feature_names, task, Path(path).stem, table=True,
                   target_name=columns.target_name)


def read_features(source, *, header: bool | None = None,
                  known_names=None) -> tuple[np.ndarray, list[str] | None]:
    """Read inputs for prediction: all columns are features, there is no target.

    Parameters
    ----------
    source : str, path-like or text stream
        ``"-"`` reads CSV from standard input; a text stream is read as CSV;
        a path ending in ``.npy`` must hold a 2-D array, one ending in ``.npz``
        an array ``X`` (or ``x`` / ``data``), one ending in ``.parquet`` is
        Parquet; any other path is read as CSV.
    header : bool, optional
        For CSV: whether the first row is a header; default detected.
    known_names : collection of str, optional
        For CSV: a first row that holds all these names is a header.

    Returns
    -------
    X : numpy.ndarray
        Shape ``(m, n_features)``: float, or object when a CSV or Parquet column holds text.
    feature_names : list of str or None
        The column names, when the file has them.
    """
    if isinstance(source, (str, os.PathLike)) and os.fspath(source) != "-":
        label, suffix = os.fspath(source), as_path(source, "the input").suffix.lower()
        if suffix == ".npy":
            return _float_features(read_npy(source), label), None
        if suffix == ".npz":
            with NpzArchive(source) as archive:
                key = next((key for key in _X_KEYS if key in archive.names), None)
                if key is None:
                    raise DataError(f"{label} must hold an array 'X' (or 'x'/'data'); found "
                                    f"{sorted(archive.names)[:20]}")
                return _float_features(archive.read(key), f"{label}: {key}"), None
        if suffix == ".parquet":
            columns = read_parquet_file(source, with_target=False)
            return columns.X, columns.feature_names
    columns = read_csv(source, with_target=False, header=header, known_names=known_names)
    return columns.X, columns.feature_names
