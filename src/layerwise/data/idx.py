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
import os
import struct
import zlib

import numpy as np

from ..errors import DataError

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


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """Read an IDX file, raw or gzip-compressed, into a NumPy array.

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
        If the file is missing or unreadable, is not valid gzip, has a bad
        magic number or an unknown type code, or if its payload is shorter or
        longer than the dimensions say.
    """
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except OSError as exc:
        raise DataError(f"cannot read IDX file {os.fspath(path)!r}: {exc.strerror or exc}") from None
    if data[:2] == _GZIP_MAGIC:
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError, zlib.error) as exc:
            raise DataError(f"IDX file {os.fspath(path)!r} is not a valid gzip stream (truncated or corrupt): {exc}") \
                from None
    return parse_idx(data, name=os.fspath(path))


def parse_idx(data: bytes, name: str = "IDX data") -> np.ndarray:
    """Decode the bytes of an uncompressed IDX file; see :func:`read_idx`."""
    if len(data) < 4:
        raise DataError(f"{name} is too short for an IDX header: expected at least 4 bytes, received {len(data)}")
    zero, code, ndim = struct.unpack(">HBB", data[:4])
    if zero != 0:
        raise DataError(
            f"{name} is not an IDX file: its magic number 0x{data[:4].hex()} should start with two zero bytes"
        )
    if code not in IDX_DTYPES:
        known = ", ".join(f"0x{c:02X}" for c in IDX_DTYPES)
        raise DataError(f"{name} has unknown IDX data type code 0x{code:02X}; expected one of {known}")
    header_size = 4 + 4 * ndim
    if len(data) < header_size:
        raise DataError(
            f"{name} is truncated: its header declares {ndim} dimension(s) ({header_size} bytes), "
            f"but the file has only {len(data)} bytes"
        )
    shape = struct.unpack(f">{ndim}I", data[4:header_size])
    dtype = IDX_DTYPES[code]
    expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    received = len(data) - header_size
    if received < expected:
        raise DataError(
            f"{name} is truncated: shape {shape} of {dtype.name} needs {expected} payload bytes, received {received}"
        )
    if received > expected:
        raise DataError(
            f"{name} has {received - expected} unexpected trailing byte(s) after the {expected} payload bytes "
            f"of shape {shape}"
        )
    array = np.frombuffer(data, dtype=dtype, offset=header_size).reshape(shape)
    return array.astype(dtype.newbyteorder("="))


def write_idx(path: str | os.PathLike, array, compress: bool = False) -> None:
    """Write ``array`` as an IDX file.

    Parameters
    ----------
    path : str or path-like
        Destination file; it is overwritten.
    array : array_like
        Values of dtype uint8, int8, int16, int32, float32 or float64, with
        at most 255 dimensions each shorter than 2**32.
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
    if array.ndim > 255 or any(size > _MAX_DIM for size in array.shape):
        raise DataError(
            f"IDX stores at most 255 dimensions each below 2**32; received an array of shape {array.shape}"
        )
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
