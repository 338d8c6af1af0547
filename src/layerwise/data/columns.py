"""The fields of a table column as numbers or text, with missing values marked.

Fields are trimmed of surrounding spaces. A column is numeric when every
field that is not missing is a number; ``""``, ``NA``, ``N/A``, ``NaN``,
``null``, ``None`` and ``?`` (any case) are its missing values, kept as NaN
in a feature (to be imputed, see :mod:`layerwise.preprocessing.encoders`) and
an error in the target. Any other column is text: each distinct value is a
category, and only an empty field is missing (``None``); in a text target,
an empty field or ``nan`` is an error. Infinite numbers are errors. Errors
name the file, the line (1-based, counting every line) and the column.
"""

from __future__ import annotations

import numpy as np

from ..errors import DataError

MISSING_TOKENS = frozenset({"", "na", "n/a", "nan", "null", "none", "?"})


class NeedsLinesError(Exception):
    """Raised when an error must name a line but the rows' line numbers are not known."""


def is_number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


def assemble(strings: list, target: int | None, labels: list[str], source: str,
             lines: list[int] | None) -> tuple[np.ndarray, np.ndarray | None]:
    """Typed feature matrix and target column from the text of every column.

    Parameters
    ----------
    strings : list
        One entry per column: a pyarrow string array or a list of str.
    target : int or None
        Index of the target column.
    labels : list of str
        How messages name each column.
    source : str
        The file, for messages.
    lines : list of int or None
        The line of each row; None raises :class:`NeedsLinesError` where an error needs it.

    Returns
    -------
    X : numpy.ndarray
        float64 (NaN = missing) when every feature is numeric, else an object array.
    y : numpy.ndarray or None
        float64 or str.
    """
    features, y = [], None
    for k, column in enumerate(strings):
        kind = _Column(column, labels[k], source, lines)
        if k == target:
            y = kind.target()
        else:
            features.append(kind.feature())
    m = len(y) if y is not None else len(features[0])
    if all(values.dtype.kind == "f" for values in features):
        return np.column_stack(features) if features else np.empty((m, 0)), y
    X = np.empty((m, len(features)), dtype=object)
    for k, values in enumerate(features):
        X[:, k] = values
    return X, y


class _Column:
    """One column's trimmed text, missing mask and (when numeric) values."""

    def __init__(self, column, label: str, source: str, lines):
        import pyarrow as pa
        import pyarrow.compute as pc

        if not isinstance(column, (pa.Array, pa.ChunkedArray)):
            column = pa.array(column, type=pa.string())
        column = pc.replace_substring_regex(column, r'^\s+"([^"]*)"\s*$', r"\1")  # ` "x"`: quoted after a space
        self.text = pc.utf8_trim_whitespace(column)
        self.lowered = pc.utf8_lower(self.text)
        self.gap = pc.is_in(self.lowered, value_set=pa.array(sorted(MISSING_TOKENS))).to_numpy(zero_copy_only=False)
        try:
            self.values = pc.cast(pc.if_else(pa.array(self.gap), pa.scalar(None, pa.string()), self.text),
                                  pa.float64()).to_numpy(zero_copy_only=False)
        except pa.ArrowInvalid:
            self.values = None
        self.label, self.source, self.lines = label, source, lines

    def feature(self) -> np.ndarray:
        if self.values is None:
            text = self.text.to_numpy(zero_copy_only=False).astype(object)
            text[text == ""] = None
            return text
        self._check_finite()
        return self.values

    def target(self) -> np.ndarray:
        if self.values is None:
            text = self.text.to_numpy(zero_copy_only=False).astype(str)
            bad = (text == "") | (np.char.lower(text) == "nan")
            if bad.any():
                self._missing(int(np.argmax(bad)))
            return text
        if self.gap.any():
            self._missing(int(np.argmax(self.gap)))
        self._check_finite()
        return self.values

    def _check_finite(self) -> None:
        infinite = np.isinf(self.values)
        if infinite.any():
            i = int(np.argmax(infinite))
            raise DataError(f"{self.source} line {self._line(i)} has a value that is not finite "
                            f"({self.text[i].as_py()!r}) in {self.label}")

    def _missing(self, i: int):
        raise DataError(f"{self.source} line {self._line(i)} has a missing value ({self.text[i].as_py()!r}) in "
                        f"{self.label}; remove the row or fill in the value")

    def _line(self, i: int) -> int:
        if self.lines is None:
            raise NeedsLinesError
        return self.lines[i]
