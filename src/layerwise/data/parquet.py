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
        raise ConfigError("reading a Parquet folder needs pyarrow: pip install 'layerwise[parquet]'") from None
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
