"""Reading ``.npy`` and ``.npz`` files that may be hostile: every header is checked before any data is read.

An ``.npy`` file is the magic ``\\x93NUMPY``, a version, a header length, a
header (a Python dict literal with ``descr``, ``fortran_order`` and
``shape``) and the data. :func:`read_npy` opens only regular files (see
:func:`layerwise.limits.open_regular`), parses the header as a literal (never
code, never pickle), and then checks that the file holds exactly
``prod(shape) * itemsize`` bytes of data and that this fits in memory before
allocating the array; a header claiming ``(10**11, 3)`` in a small file is
refused at once.

An ``.npz`` file is a zip archive of ``.npy`` members. :class:`NpzArchive`
lists them without reading them, and reads only the members asked for, each
by the same rules, with the member's declared size as the file size, so a
compressed member never expands beyond what its header and the archive's
directory declare.
"""

from __future__ import annotations

import ast
import math
import os
import zipfile
import zlib
from typing import BinaryIO

import numpy as np

from ..errors import DataError
from ..limits import format_bytes, open_regular, read_exactly, require_memory

MAGIC = b"\x93NUMPY"
MAX_HEADER_BYTES = 65536
MAX_DIMENSIONS = 32
_HEADER_KEYS = {"descr", "fortran_order", "shape"}
# what zipfile raises for a damaged, truncated, encrypted or unsupported archive (DataError is a ValueError too)
_ZIP_ERRORS = (zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error, OSError, EOFError, ValueError,
               NotImplementedError, RuntimeError)


def read_npy(path) -> np.ndarray:
    """Read the array of an ``.npy`` file; see the module notes.

    Raises
    ------
    DataError
        If the file is missing, not a regular file, not an ``.npy`` file, holds
        Python objects (refused, since reading them would need pickle), is
        truncated or has bytes after its data.
    ResourceError
        If the array would not fit in the memory available.
    """
    label = os.fspath(path)
    stream, size = open_regular(path, "NumPy file", DataError)
    with stream:
        return read_array(stream, size, label)


def read_array(stream: BinaryIO, size: int, label: str) -> np.ndarray:
    """Read one ``.npy`` array of ``size`` bytes from ``stream``, checking its header first."""
    prefix = read_exactly(stream, 8)
    if len(prefix) < 8 or prefix[:6] != MAGIC:
        raise DataError(f"{label} is not a readable NumPy file: it does not start with the .npy magic bytes \\x93NUMPY")
    major = prefix[6]
    if major not in (1, 2, 3):
        raise DataError(f"{label} is not a readable NumPy file: its .npy format version {major}.{prefix[7]} is unknown "
                        f"(expected 1, 2 or 3)")
    width = 2 if major == 1 else 4
    length = int.from_bytes(read_exactly(stream, width), "little")
    if length > MAX_HEADER_BYTES:
        raise DataError(f"{label} has a .npy header of {length} bytes, more than the {MAX_HEADER_BYTES} a "
                        f"NumPy header needs; the file is corrupt")
    raw = read_exactly(stream, length)
    if len(raw) < length:
        raise DataError(f"{label} is truncated: its .npy header announces {length} bytes, {len(raw)} follow")
    shape, fortran, dtype = _parse_header(raw, "utf-8" if major == 3 else "latin1", label)
    count = math.prod(shape)
    needed = count * dtype.itemsize
    available = size - 8 - width - length
    described = f"shape {shape} of {dtype} ({format_bytes(needed)})"
    if available < needed:
        raise DataError(f"{label} is truncated: its header describes an array of {described}, but only "
                        f"{available} bytes of data follow")
    if available > needed:
        raise DataError(f"{label} is corrupt: {available - needed} unexpected bytes follow the data of its array "
                        f"of {described}")
    require_memory(needed, f"reading {label} (an array of {described})")
    array = np.empty(count, dtype=dtype)
    if needed and stream.readinto(array.view(np.uint8)) != needed:
        raise DataError(f"{label} is truncated: fewer than the {needed} bytes of data its header describes")
    return array.reshape(shape, order="F" if fortran else "C")


def _parse_header(raw: bytes, encoding: str, label: str) -> tuple[tuple[int, ...], bool, np.dtype]:
    invalid = f"{label} is not a readable NumPy file: its .npy header is invalid"
    try:
        header = ast.literal_eval(raw.decode(encoding))
    except (UnicodeDecodeError, ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        raise DataError(f"{invalid}: it is not a Python dict literal") from None
    if not isinstance(header, dict) or set(header) != _HEADER_KEYS:
        found = sorted(map(str, header)) if isinstance(header, dict) else type(header).__name__
        raise DataError(f"{invalid}: expected the keys descr, fortran_order and shape, received {found}")
    shape, fortran = header["shape"], header["fortran_order"]
    if not (isinstance(shape, tuple) and len(shape) <= MAX_DIMENSIONS
            and all(isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in shape)):
        raise DataError(f"{invalid}: shape must be a tuple of at most {MAX_DIMENSIONS} non-negative integers, "
                        f"received {_short(shape)}")
    if not isinstance(fortran, bool):
        raise DataError(f"{invalid}: fortran_order must be True or False, received {_short(fortran)}")
    try:
        dtype = np.lib.format.descr_to_dtype(header["descr"])
    except (TypeError, ValueError, KeyError, IndexError, RecursionError):
        raise DataError(f"{invalid}: {_short(header['descr'])} is not a NumPy dtype") from None
    if dtype.hasobject:
        raise DataError(f"{label} holds Python objects (dtype {dtype}); they are refused because reading them "
                        f"would need pickle, which can run code")
    return shape, fortran, dtype


def _short(value) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


class NpzArchive:
    """An ``.npz`` archive opened for reading chosen members (use as a context manager).

    Attributes
    ----------
    names : list of str
        The arrays in the archive (member names without ``.npy``).
    """

    def __init__(self, path):
        self.label = os.fspath(path)
        stream, _ = open_regular(path, "NumPy archive", DataError)
        try:
            self._zip = zipfile.ZipFile(stream)
        except _ZIP_ERRORS as exc:
            stream.close()
            raise DataError(f"{self.label} is not a readable NumPy file: not a zip archive of .npy arrays ("
                            f"{exc})") from None
        self._stream = stream
        self._members = {info.filename.removesuffix(".npy"): info for info in self._zip.infolist()
                         if info.filename.endswith(".npy")}
        self.names = list(self._members)

    def read(self, name: str) -> np.ndarray:
        """Read the array ``name``, checking its header and declared size first."""
        info = self._members[name]
        label = f"{self.label}: {name}"
        try:
            with self._zip.open(info) as member:
                return read_array(member, info.file_size, label)
        except _ZIP_ERRORS as exc:
            if isinstance(exc, DataError):
                raise
            raise DataError(f"{label} cannot be read from the archive (corrupt, truncated, encrypted or "
                            f"compressed in a way zip readers do not support): {exc}") from None

    def close(self) -> None:
        self._zip.close()
        self._stream.close()

    def __enter__(self) -> NpzArchive:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()
