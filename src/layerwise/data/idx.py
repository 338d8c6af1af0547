"""Reading and writing the IDX file format (the format MNIST is distributed in).

An IDX file is a header followed by the array's values, big-endian, in C order:

====== ======== ===============================================================
offset bytes    meaning
====== ======== ===============================================================
0      2        zero
2      1        data type code (see :data:`IDX_DTYPES`)
3      1        number of dimensions ``d``
4      4 * d    size of each dimension, unsigned 32-bit big-endian integers
4 + 4d ...      the values, ``prod(sizes) * itemsize`` bytes, nothing after
====== ======== ===============================================================

Files may be gzip-compressed (as the MNIST downloads are); :func:`read_idx`
recognises gzip by its magic bytes, whatever the file is called.
"""

from __future__ import annotations

import gzip
import io
import math
import os
import struct
import zlib
from typing import BinaryIO

import numpy as np

from ..errors import DataError
from ..limits import open_regular, read_exactly, require_memory

#: IDX data type code -> big-endian NumPy dtype.
IDX_DTYPES: dict[int, np.dtype] = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}

_GZIP_MAGIC = b"\x1f\x8b"
_MAX_DIM = 2**32 - 1
_CHUNK = 1 << 20

#: Most dimensions an IDX file may have here (MNIST's have 1 and 3).
MAX_DIMENSIONS = 8


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """Read an IDX file, raw or gzip-compressed, into a NumPy array.

    Only regular files are opened. The header is read first; the payload its
    dimensions imply is checked against the file's size (or, compressed,
    read up to exactly that size, so a gzip stream is never decompressed
    beyond it) and against the memory available before the array is allocated.

    Parameters
    ----------
    path : str or path-like
        The file to read. Gzip compression is detected from the content.

    Returns
    -------
    numpy.ndarray
        An array of the stored shape in native byte order, of dtype uint8,
        int8, int16, int32, float32 or float64 according to the type code.

    Raises
    ------
    DataError
        If the file is missing, unreadable or not a regular file, is not valid
        gzip, has a bad magic number, an unknown type code or more than
        :data:`MAX_DIMENSIONS` dimensions, or if its payload is shorter or
        longer than the dimensions say.
    ResourceError
        If the array would not fit in the memory available.
    """
    name = os.fspath(path)
    stream, size = open_regular(path, "IDX file", DataError)
    with stream:
        if read_exactly(stream, 2) != _GZIP_MAGIC:
            stream.seek(0)
            return _read(stream, size, name)
        stream.seek(0)
        try:
            with gzip.GzipFile(fileobj=stream, mode="rb") as unzipped:
                return _read(unzipped, None, name)
        except (OSError, EOFError, zlib.error) as exc:
            raise DataError(f"IDX file {name!r} is not a valid gzip stream (truncated or corrupt): {exc}") from None


def parse_idx(data: bytes, name: str = "IDX data") -> np.ndarray:
    """Decode the bytes of an uncompressed IDX file; see :func:`read_idx`."""
    return _read(io.BytesIO(data), len(data), name)


def _read(stream: BinaryIO, size: int | None, name: str) -> np.ndarray:
    """Read an IDX array from ``stream`` (``size`` bytes long, or None when decompressing)."""
    head = read_exactly(stream, 4)
    if len(head) < 4:
        raise DataError(f"{name} is too short for an IDX header: expected at least 4 bytes, received {len(head)}")
    zero, code, ndim = struct.unpack(">HBB", head)
    if zero != 0:
        raise DataError(f"{name} is not an IDX file: its magic number 0x{head.hex()} should start with two zero bytes")
    if code not in IDX_DTYPES:
        known = ", ".join(f"0x{c:02X}" for c in IDX_DTYPES)
        raise DataError(f"{name} has unknown IDX data type code 0x{code:02X}; expected one of {known}")
    if ndim > MAX_DIMENSIONS:
        raise DataError(f"{name} declares {ndim} dimensions; an IDX file read here has at most {MAX_DIMENSIONS}")
    header_size = 4 + 4 * ndim
    dims = read_exactly(stream, 4 * ndim)
    if len(dims) < 4 * ndim:
        raise DataError(f"{name} is truncated: its header declares {ndim} dimension(s) ({header_size} bytes), "
                        f"but the file has only {4 + len(dims)} bytes")
    shape = struct.unpack(f">{ndim}I", dims)
    dtype = IDX_DTYPES[code]
    count = math.prod(shape)  # exact: Python integers do not overflow
    expected = count * dtype.itemsize
    if size is not None:
        _check_payload(name, shape, dtype, expected, size - header_size)
    require_memory(expected, f"reading {name} (an IDX array of shape {shape} of {dtype.name})")
    array = np.empty(count, dtype=dtype)
    view, received = memoryview(array.view(np.uint8)), 0
    while received < expected:
        n = stream.readinto(view[received: received + _CHUNK])
        if not n:
            break
        received += n
    trailing = len(stream.read(1)) if size is None and received == expected else 0
    _check_payload(name, shape, dtype, expected, received + trailing, more="or more " if trailing else "")
    return array.reshape(shape).astype(dtype.newbyteorder("="))


def _check_payload(name: str, shape, dtype: np.dtype, expected: int, received: int, more: str = "") -> None:
    if received < expected:
        raise DataError(
            f"{name} is truncated: shape {shape} of {dtype.name} needs {expected} payload bytes, received {received}"
        )
    if received > expected:
        raise DataError(
            f"{name} has {received - expected} {more}unexpected trailing byte(s) after the {expected} payload bytes "
            f"of shape {shape}"
        )


def write_idx(path: str | os.PathLike, array, compress: bool = False) -> None:
    """Write ``array`` as an IDX file.

    Parameters
    ----------
    path : str or path-like
        Destination file; it is overwritten.
    array : array_like
        Values of dtype uint8, int8, int16, int32, float32 or float64, with
        at most :data:`MAX_DIMENSIONS` dimensions each shorter than 2**32.
    compress : bool, default False
        Gzip-compress the file (the header records no time stamp, so equal
        arrays give equal files).

    Raises
    ------
    DataError
        If the dtype or the shape cannot be stored in IDX.
    """
    array = np.asarray(array)
    code = _type_code(array.dtype)
    if array.ndim > MAX_DIMENSIONS or any(size > _MAX_DIM for size in array.shape):
        raise DataError(f"IDX files here hold at most {MAX_DIMENSIONS} dimensions each below 2**32; received an "
                        f"array of shape {array.shape}")
    header = struct.pack(f">HBB{array.ndim}I", 0, code, array.ndim, *array.shape)
    payload = header + np.ascontiguousarray(array, dtype=IDX_DTYPES[code]).tobytes()
    if compress:
        payload = gzip.compress(payload, mtime=0)
    with open(path, "wb") as handle:
        handle.write(payload)


def _type_code(dtype: np.dtype) -> int:
    for code, idx_dtype in IDX_DTYPES.items():
        if dtype.kind == idx_dtype.kind and dtype.itemsize == idx_dtype.itemsize:
            return code
    names = ", ".join(d.newbyteorder("=").name for d in IDX_DTYPES.values())
    raise DataError(f"IDX cannot store dtype {dtype}; expected one of {names}")
