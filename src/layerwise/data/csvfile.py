"""Reading CSV text into typed columns (pyarrow's CSV reader), with errors that point at a line.

Fields are comma-separated (standard quoting), blank lines are skipped,
spaces around fields are ignored and a UTF-8 byte-order mark is allowed. The
first row is a header when some column holds non-numeric text there and only
numbers (at least one) in the next ten rows; a single row is a header when
none of its fields is a number. How each column's fields become numbers,
text or missing values is told in :mod:`layerwise.data.columns`.

The reader is ``pyarrow.csv``, with every column read as text so that the
rules above and in :mod:`~layerwise.data.columns` decide the types, not the
parser. Measured on a 200 000-row table of 11 mixed columns (15 MB, 5 %
missing numbers; ``benchmarks/csv_readers.py``), pyarrow read it as text in
0.2 s with a 66 MB peak, pandas' ``read_csv(dtype=str)`` in 1.7 s with a
98 MB peak (and 0.2 s / 58 MB with its own type guessing, which applies
NA rules other than ours). pyarrow also reads Parquet, so one library covers
both file types. A file pyarrow refuses (rows of different lengths, text
that is not UTF-8, quoted line breaks, lines of spaces) is read again by the
:mod:`csv` module, which accepts the last two and explains the others with
the line they are on; so is a file whose values need a line in an error.
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
from .columns import MISSING_TOKENS, NeedsLinesError, assemble, is_number

HEADER_LOOKAHEAD = 10
_INTEGER = re.compile(r"[+-]?\d+")


@dataclass
class CsvColumns:
    """What :func:`read_csv` found.

    Attributes
    ----------
    X : numpy.ndarray
        The feature columns, shape ``(m, n_features)``: float64 (NaN where a
        value is missing) when every feature is numeric, else an object array
        whose numeric columns hold floats and whose text columns hold ``str``
        (``None`` where missing).
    y : numpy.ndarray or None
        The target column: float64 when every value is a number, else the
        text of each field; None when no target was asked for.
    feature_names : list of str or None
        Header names of the feature columns, when the file has a header.
    target_label : str or None
        The target column as messages name it, e.g. ``"column 'y' (index 2)"``.
    label : str
        The file name (or ``<stdin>``), for messages.
    target_name : str or None
        The target column's header name, when there is one.
    """

    X: np.ndarray
    y: np.ndarray | None
    feature_names: list[str] | None
    target_label: str | None
    label: str
    target_name: str | None = None


def read_csv(source, *, target=None, with_target: bool = True, header: bool | None = None,
             known_names=None) -> CsvColumns:
    """Read a CSV file into feature columns and, optionally, one target column.

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
    known_names : collection of str, optional
        Column names expected in the file: a first row holding all of them is a header.

    Raises
    ------
    DataError
        For an unreadable or empty file, a header without data, rows of
        different lengths, an infinite value (with its line), a missing target
        (with its line), or a target column that does not exist.
    """
    with open_text(source) as (stream, label):
        head = _read_rows(stream, label, header, max_rows=HEADER_LOOKAHEAD + 1, known_names=known_names)
        if with_target and head.width < 2:
            raise DataError(f"{label} has 1 column; expected at least two (features and a target). "
                            "Fields must be separated by commas")
        j = column_index(target, head.header, head.width, label) if with_target else None
        column_labels = [head.column_label(k) for k in range(head.width)]
        strings = _arrow_strings(source, stream, head)
        try:
            if strings is None:
                raise NeedsLinesError
            X, y = assemble(strings, j, column_labels, label, lines=None)
        except NeedsLinesError:
            table = _read_rows(stream, label, head.header is not None)
            strings = [[row[k] for row in table.rows] for k in range(head.width)]
            X, y = assemble(strings, j, column_labels, label, lines=table.lines)
    names = [name for k, name in enumerate(head.header) if k != j] if head.header else None
    target_name = head.header[j] if head.header and j is not None else None
    return CsvColumns(X, y, names, None if j is None else column_labels[j], label, target_name)


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


def _arrow_strings(source, stream, head: _Table):
    """Every column as pyarrow text, header row dropped; None when pyarrow cannot parse the file."""
    import pyarrow as pa
    from pyarrow import csv as pacsv

    if isinstance(source, (str, os.PathLike)) and os.fspath(source) != "-":
        raw = os.fspath(source)
    else:
        stream.seek(0)
        raw = io.BytesIO(stream.read().encode("utf-8"))
    names = [f"c{k}" for k in range(head.width)]
    try:
        table = pacsv.read_csv(raw, read_options=pacsv.ReadOptions(column_names=names),
                               parse_options=pacsv.ParseOptions(ignore_empty_lines=True),
                               convert_options=pacsv.ConvertOptions(column_types=dict.fromkeys(names, pa.string()),
                                                                    strings_can_be_null=False))
    except (pa.ArrowInvalid, OSError):
        return None
    if head.header is not None:
        table = table.slice(1)
    return [table.column(k) for k in range(head.width)]


def _read_rows(stream, label: str, header: bool | None, max_rows: int | None = None, known_names=None) -> _Table:
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
        raise DataError(f"{label} is empty; expected rows of comma-separated values")
    names, header_line = None, 0
    if _has_header(rows, known_names) if header is None else header:
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


def _is_missing(cell: str) -> bool:
    return cell.strip().lower() in MISSING_TOKENS


def _has_header(rows: list[list[str]], known_names=None) -> bool:
    first, below = rows[0], rows[1:1 + HEADER_LOOKAHEAD]
    if known_names and set(known_names) <= {cell.strip() for cell in first}:
        return True
    if not below:
        return not any(is_number(cell) for cell in first)
    for j, cell in enumerate(first):
        if not cell.strip() or is_number(cell):
            continue
        column = [row[j] for row in below if j < len(row) and not _is_missing(row[j])]
        if column and all(is_number(value) for value in column):
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
