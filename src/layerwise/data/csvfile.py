"""Reading CSV text into checked numeric columns, with errors that point at a line.

Fields are comma-separated (the :mod:`csv` module's quoting rules), blank
lines are skipped, spaces around fields are ignored and a UTF-8 byte-order
mark is allowed. The first row is a header when some column holds non-numeric
text there and only numbers (at least one) in the next ten rows; a single row
is a header when none of its fields is a number. Features must be numbers;
empty fields and ``NA``, ``N/A``, ``NaN``, ``null``, ``None`` and ``?`` are
missing values, reported with their line number (1-based, counting every line
of the file) rather than guessed.

Files of numbers only are parsed by NumPy's fast reader; anything else, and
any file that fails there, is read again cell by cell to explain the problem.
"""

from __future__ import annotations

import csv
import io
import os
import re
import sys
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np

from ..errors import ConfigError, DataError

MISSING_TOKENS = frozenset({"", "na", "n/a", "nan", "null", "none", "?"})
HEADER_LOOKAHEAD = 10
_INTEGER = re.compile(r"[+-]?\d+")


@dataclass
class CsvColumns:
    """What :func:`read_csv` found.

    Attributes
    ----------
    X : numpy.ndarray
        The feature columns as float64, shape ``(m, n_features)``.
    y : numpy.ndarray or None
        The target column: float64 when every value is a number, else the
        text of each field; None when no target was asked for.
    feature_names : list of str or None
        Header names of the feature columns, when the file has a header.
    target_label : str or None
        The target column as messages name it, e.g. ``"column 'y' (index 2)"``.
    label : str
        The file name (or ``<stdin>``), for messages.
    """

    X: np.ndarray
    y: np.ndarray | None
    feature_names: list[str] | None
    target_label: str | None
    label: str


def read_csv(source, *, target=None, with_target: bool = True, header: bool | None = None) -> CsvColumns:
    """Read a CSV file into numeric feature columns and, optionally, one target column.

    Parameters
    ----------
    source : str, path-like or text stream
        A path, ``"-"`` for standard input, or an open text stream.
    target : int or str, optional
        The target column by index (negative counts from the end) or, when the
        file has a header, by name; a string of digits is a name if the header
        has it and an index otherwise. Default: the last column.
    with_target : bool, default True
        False reads every column as a feature (prediction inputs).
    header : bool, optional
        Whether the first row is a header; default detected (module notes).

    Raises
    ------
    DataError
        For an unreadable or empty file, a header without data, rows of
        different lengths, a non-numeric feature column (named, with the first
        offending line), a missing or infinite value (with its line), or a
        target column that does not exist.
    """
    with open_text(source) as (stream, label):
        head = _read_rows(stream, label, header, max_rows=HEADER_LOOKAHEAD + 1)
        if with_target and head.width < 2:
            raise DataError(f"{label} has 1 column; expected at least two (features and a target). "
                            "Fields must be separated by commas")
        j = column_index(target, head.header, head.width, label) if with_target else None
        features = [k for k in range(head.width) if k != j]
        values = _all_numeric(stream, head)
        if values is not None:
            X, y = values[:, features], None if j is None else values[:, j]
        else:
            table = _read_rows(stream, label, head.header is not None)
            X, y = table.numeric(features), None if j is None else table.target(j)
    names = [head.header[k] for k in features] if head.header else None
    return CsvColumns(X, y, names, None if j is None else head.column_label(j), label)


@dataclass
class _Table:
    """Rows of a CSV file (fields unstripped), the line each came from, and the header if any."""

    label: str
    header: list[str] | None
    header_line: int
    rows: list[list[str]]
    lines: list[int]

    @property
    def width(self) -> int:
        return len(self.header) if self.header else len(self.rows[0])

    def column_label(self, j: int) -> str:
        return f"column {self.header[j]!r} (index {j})" if self.header else f"column {j}"

    def numeric(self, columns: list[int]) -> np.ndarray:
        """The given columns as finite floats, or a :class:`DataError` naming the first bad field."""
        cells = np.array(self.rows, dtype=str)[:, columns]
        try:
            values = cells.astype(np.float64)
        except ValueError:
            self._raise_bad_cell(columns)
        bad = ~np.isfinite(values)
        if bad.any():
            i, k = (int(v) for v in np.argwhere(bad)[0])
            self._raise_value_error(i, columns[k], cells[i, k])
        return values

    def target(self, j: int) -> np.ndarray:
        """Column ``j`` as floats when every present value is a number, else as text labels."""
        cells = [row[j].strip() for row in self.rows]
        missing = [cell.lower() in MISSING_TOKENS for cell in cells]
        numeric = all(_is_number(cell) for cell, gap in zip(cells, missing) if not gap)
        for i, (cell, gap) in enumerate(zip(cells, missing)):
            if gap and (numeric or cell == "" or _is_number(cell)):
                self._raise_value_error(i, j, cell)
        if not numeric:
            return np.array(cells, dtype=str)
        values = np.array(cells, dtype=np.float64)
        bad = ~np.isfinite(values)
        if bad.any():
            i = int(np.argmax(bad))
            self._raise_value_error(i, j, cells[i])
        return values

    def _raise_bad_cell(self, columns: list[int]):
        for k in columns:
            for line, row in zip(self.lines, self.rows):
                if not _is_missing(row[k]) and not _is_number(row[k]):
                    raise DataError(f"{self.label}: feature {self.column_label(k)} is not numeric; line {line} "
                                    f"holds {row[k].strip()!r}. Features must be numbers (encode categories as "
                                    "numbers first)")
        for i, row in enumerate(self.rows):
            for k in columns:
                if _is_missing(row[k]):
                    self._raise_value_error(i, k, row[k])

    def _raise_value_error(self, i: int, k: int, cell: str):
        line, cell = self.lines[i], cell.strip()
        if cell.lower() in MISSING_TOKENS:
            raise DataError(f"{self.label} line {line} has a missing value ({cell!r}) in {self.column_label(k)}; "
                            "remove the row or fill in the value")
        raise DataError(f"{self.label} line {line} has a value that is not finite ({cell!r}) in "
                        f"{self.column_label(k)}")


@contextmanager
def open_text(source):
    """Yield ``(seekable text stream, label)`` for a path, ``"-"`` (standard input) or a text stream."""
    if isinstance(source, (str, os.PathLike)) and os.fspath(source) == "-":
        buffer = getattr(sys.stdin, "buffer", None)  # the bytes, decoded as strictly as a file is
        try:
            text = buffer.read().decode("utf-8") if buffer is not None else sys.stdin.read()
        except UnicodeDecodeError as exc:
            raise DataError(f"<stdin> is not UTF-8 text: {exc}") from None
        yield io.StringIO(text.removeprefix("\ufeff"), newline=None), "<stdin>"
    elif isinstance(source, (str, os.PathLike)):
        label = os.fspath(source)
        try:
            stream = open(source, newline="", encoding="utf-8-sig")
        except OSError as exc:
            raise DataError(f"cannot read {label}: {exc.strerror or exc}") from None
        with stream:
            yield stream, label
    elif hasattr(source, "read"):
        seekable = getattr(source, "seekable", None)
        stream = source if seekable and seekable() else io.StringIO(source.read())
        yield stream, str(getattr(source, "name", "<stream>"))
    else:
        raise ConfigError(f"expected a file path, '-' or a text stream, received {type(source).__name__}")


def _read_rows(stream, label: str, header: bool | None, max_rows: int | None = None) -> _Table:
    """Read the rows of a CSV stream from its start (the first ``max_rows`` non-blank ones, or all)."""
    stream.seek(0)
    reader = csv.reader(stream, skipinitialspace=True)
    rows, lines = [], []
    try:
        for row in reader:
            if len(row) > 1 or (row and row[0].strip()):
                rows.append(row)
                lines.append(reader.line_num)
                if len(rows) == max_rows:
                    break
    except csv.Error as exc:
        raise DataError(f"{label} line {reader.line_num} is not valid CSV: {exc}") from None
    except UnicodeDecodeError as exc:
        raise DataError(f"{label} is not UTF-8 text: {exc}") from None
    if not rows:
        raise DataError(f"{label} is empty; expected rows of comma-separated numbers")
    names, header_line = None, 0
    if _has_header(rows) if header is None else header:
        names = [name.strip() or f"column_{j}" for j, name in enumerate(rows[0])]
        if len(rows) == 1:
            raise DataError(f"{label} has a header ({', '.join(names)}) but no data rows")
        header_line, rows, lines = lines[0], rows[1:], lines[1:]
    table = _Table(label, names, header_line, rows, lines)
    for line, row in zip(lines, rows):
        if len(row) != table.width:
            raise DataError(f"{label} line {line} has {len(row)} fields, expected {table.width} "
                            f"as on line {header_line or lines[0]}")
    return table


def _all_numeric(stream, head: _Table) -> np.ndarray | None:
    """The whole table as finite floats by NumPy's fast parser, or None when it is not that simple."""
    stream.seek(0)
    try:
        values = np.loadtxt(stream, delimiter=",", skiprows=head.header_line, ndmin=2, dtype=np.float64,
                            comments=None, quotechar='"')
    except ValueError:
        return None
    return values if values.shape[1] == head.width and np.isfinite(values).all() else None


def _is_number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


def _is_missing(cell: str) -> bool:
    return cell.strip().lower() in MISSING_TOKENS


def _has_header(rows: list[list[str]]) -> bool:
    first, below = rows[0], rows[1:1 + HEADER_LOOKAHEAD]
    if not below:
        return not any(_is_number(cell) for cell in first)
    for j, cell in enumerate(first):
        if not cell.strip() or _is_number(cell):
            continue
        column = [row[j] for row in below if j < len(row) and not _is_missing(row[j])]
        if column and all(_is_number(value) for value in column):
            return True
    return False


def column_index(target, header: list[str] | None, width: int, label: str) -> int:
    """Resolve ``target`` (None = last, an index, or a header name) to a column index in ``0 .. width-1``.

    ``label`` names the file in messages. Raises :class:`DataError` for an
    unknown name, a name without a header, or an index out of range.
    """
    if target is None:
        return width - 1
    if isinstance(target, str):
        if header and target in header:
            if header.count(target) > 1:
                raise DataError(f"{label} has {header.count(target)} columns named {target!r}; give the index instead")
            return header.index(target)
        if not _INTEGER.fullmatch(target.strip()):
            if header:
                raise DataError(f"target column {target!r} not found in {label}; its columns are: {', '.join(header)}")
            raise DataError(f"target {target!r} is a column name, but {label} has no header row; "
                            f"give the target column's index (0 .. {width - 1}, or negative from the end)")
        target = int(target)
    if isinstance(target, bool) or not isinstance(target, (int, np.integer)):
        raise ConfigError(f"target must be a column index or name, received {target!r}")
    if not -width <= target < width:
        raise DataError(f"target index {target} is out of range for {label}, which has {width} columns "
                        f"(valid: {-width} .. {width - 1})")
    return int(target) % width
