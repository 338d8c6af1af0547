"""Parquet dataset folders, read one row group at a time (pyarrow), never whole.

A folder of ``*.parquet`` files (searched recursively, in sorted order) with
one schema is a data set: every column but the target is a numeric feature.
Rows are read a row group at a time, so memory holds one row group, never the
whole table; the target column alone is scanned to find the classes.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import ConfigError, DataError


def is_parquet_folder(source) -> bool:
    """Whether ``source`` names a folder that holds ``.parquet`` files."""
    path = Path(str(source))
    return path.is_dir() and any(path.rglob("*.parquet"))


def _parquet():
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise ConfigError("reading Parquet needs pyarrow, a dependency of layerwise: pip install pyarrow") from None
    return pq


class ParquetFolder:
    """The row groups of a folder of Parquet files with one schema.

    Parameters
    ----------
    folder : path
    target : str or int, optional
        The target column, by name or index; the last column by default.
    """

    def __init__(self, folder, target: str | int | None = None):
        pq = _parquet()
        self.folder = Path(folder)
        self.files = sorted(self.folder.rglob("*.parquet"))
        if not self.files:
            raise DataError(f"{self.folder} holds no .parquet files")
        self.readers = [pq.ParquetFile(path) for path in self.files]
        schema = self.readers[0].schema_arrow
        for path, reader in zip(self.files[1:], self.readers[1:]):
            if reader.schema_arrow.names != schema.names:
                raise DataError(f"{path} has the columns {reader.schema_arrow.names}, but {self.files[0]} has "
                                f"{schema.names}; every file of a Parquet folder needs the same columns")
        self.target = _target_name(schema.names, target, self.folder)
        self.features = [name for name in schema.names if name != self.target]
        if not self.features:
            raise DataError(f"{self.folder} has no feature columns besides the target {self.target!r}")
        for name in self.features:
            kind = schema.field(name).type
            if not (str(kind).startswith(("int", "uint", "float", "double", "bool", "halffloat"))):
                raise DataError(f"feature column {name!r} of {self.folder} must be numeric, received type {kind}")
        self.target_type = str(schema.field(self.target).type)
        self.groups = [(f, g) for f, reader in enumerate(self.readers) for g in range(reader.num_row_groups)]
        self.sizes = [self.readers[f].metadata.row_group(g).num_rows for f, g in self.groups]
        self.n_rows = sum(self.sizes)

    def read(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        """Row group ``index``: the features as a float64 array ``(rows, n_features)`` and the raw targets."""
        f, g = self.groups[index]
        table = self.readers[f].read_row_group(g, columns=[*self.features, self.target])
        X = np.empty((table.num_rows, len(self.features)), dtype=np.float64)
        for j, name in enumerate(self.features):
            X[:, j] = table.column(name).to_numpy(zero_copy_only=False)
        if np.isnan(X).any():
            raise DataError(f"row group {g} of {self.files[f]} has missing or NaN feature values")
        return X, table.column(self.target).to_numpy(zero_copy_only=False)

    def targets(self, index: int) -> np.ndarray:
        """The target column of row group ``index`` alone."""
        f, g = self.groups[index]
        return self.readers[f].read_row_group(g, columns=[self.target]).column(0).to_numpy(zero_copy_only=False)


def _target_name(names: list[str], target, folder: Path) -> str:
    if target is None:
        return names[-1]
    if str(target) in names:
        return str(target)
    if str(target).lstrip("-").isdigit() and -len(names) <= int(target) < len(names):
        return names[int(target)]
    raise ConfigError(f"target {target!r} is not a column of {folder}; its columns are {', '.join(names)}")


def read_parquet_file(path, *, target=None, with_target: bool = True):
    """Read one ``.parquet`` file whole into the columns :func:`layerwise.data.csvfile.read_csv` returns.

    Numeric and boolean columns become float64 (nulls are NaN, imputed later);
    string and dictionary columns become text (nulls are ``None``). The target
    column may not hold nulls.

    Raises
    ------
    DataError
        For an unreadable file, a column of another type (dates, lists...), or
        a null target.
    """
    import pyarrow as pa
    import pyarrow.types as pt

    from .csvfile import CsvColumns

    label = str(path)
    try:
        table = _parquet().read_table(path)
    except (OSError, pa.ArrowException) as exc:
        raise DataError(f"cannot read {label} as Parquet: {exc}") from None
    names = table.column_names
    if table.num_rows == 0 or not names:
        raise DataError(f"{label} holds no rows")
    if with_target and len(names) < 2:
        raise DataError(f"{label} has 1 column; expected at least two (features and a target)")
    j = names.index(_target_name(names, target, Path(label))) if with_target else None
    columns = []
    for k, name in enumerate(names):
        column, kind = table.column(k), table.schema.field(k).type
        if pt.is_dictionary(kind):
            column, kind = column.cast(kind.value_type), kind.value_type
        if pt.is_integer(kind) or pt.is_floating(kind) or pt.is_boolean(kind):
            values = column.cast(pa.float64()).to_numpy(zero_copy_only=False)
        elif pt.is_string(kind) or pt.is_large_string(kind):
            values = column.to_numpy(zero_copy_only=False).astype(object)
        else:
            raise DataError(f"column {name!r} of {label} has type {kind}; expected numbers, booleans or text")
        if k == j and column.null_count:
            raise DataError(f"{label} has {column.null_count} missing value(s) in the target column {name!r}; "
                            "remove those rows or fill in the values")
        columns.append(values)
    features = [values for k, values in enumerate(columns) if k != j]
    y = None if j is None else columns[j] if columns[j].dtype.kind == "f" else columns[j].astype(str)
    if all(values.dtype.kind == "f" for values in features):
        X = np.column_stack(features)
    else:
        X = np.empty((table.num_rows, len(features)), dtype=object)
        for k, values in enumerate(features):
            X[:, k] = values
    if X.dtype.kind == "f" and np.isinf(X).any():
        raise DataError(f"{label} has infinite feature values")
    return CsvColumns(X, y, [name for k, name in enumerate(names) if k != j],
                      None if j is None else f"column {names[j]!r} (index {j})", label, None if j is None else names[j])
