"""Reading a safetensors file that may be hostile: the header first, the tensor bytes only once checked.

A safetensors file is an 8-byte little-endian header length ``N``, ``N`` bytes
of JSON (the tensor table and ``__metadata__``), then the tensor data. This
module never reads more than it must:

1. :func:`read_header` opens the file only if it is a regular file (see
   :func:`layerwise.limits.open_regular`), reads the 8 bytes and the header,
   and checks the tensor table against the file's size: every tensor's dtype
   is one NumPy represents, its shape is a list of non-negative integers, its
   byte range holds exactly ``prod(shape) * itemsize`` bytes, and the ranges
   tile the data section from its first byte to the end of the file with no
   gap and no overlap. Nothing is allocated beyond the header.
2. :func:`read_tensor` then reads one tensor's byte range into an array.

:func:`tensor_digest` is the SHA-256 digest a layerwise model file keeps of
its tensors: for each tensor in name order, its name, its safetensors dtype
and its shape (``"W1\\0F32\\016,4\\0"``), then its little-endian bytes.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass
from typing import BinaryIO

import numpy as np

from ..errors import ModelFileError
from ..limits import open_regular, read_exactly

MAX_HEADER_BYTES = 100_000_000  # the limit safetensors itself enforces
MAX_DIMENSIONS = 32

#: safetensors dtype code -> little-endian NumPy dtype.
DTYPES = {"BOOL": np.dtype("?"), "U8": np.dtype("u1"), "I8": np.dtype("i1"), "U16": np.dtype("<u2"),
          "I16": np.dtype("<i2"), "U32": np.dtype("<u4"), "I32": np.dtype("<i4"), "U64": np.dtype("<u8"),
          "I64": np.dtype("<i8"), "F16": np.dtype("<f2"), "F32": np.dtype("<f4"), "F64": np.dtype("<f8")}
_CODES = {dtype.newbyteorder("=").name: code for code, dtype in DTYPES.items()}


@dataclass(frozen=True)
class TensorEntry:
    """One row of the tensor table: where a tensor's bytes lie in the data section."""

    name: str
    code: str
    shape: tuple[int, ...]
    start: int
    stop: int

    @property
    def dtype(self) -> np.dtype:
        """The tensor's dtype in native byte order."""
        return DTYPES[self.code].newbyteorder("=")


@dataclass(frozen=True)
class Header:
    """A checked safetensors header: the tensor table, the metadata and where the data starts."""

    tensors: dict[str, TensorEntry]
    metadata: dict
    data_start: int


def read_header(path, stream: BinaryIO, size: int) -> Header:
    """Read and check the header of the safetensors file open as ``stream`` (``size`` bytes long)."""
    not_safetensors = f"{path} is not a layerwise model file (not in safetensors format"
    if size == 0:
        raise ModelFileError(f"{path} is empty (0 bytes); it was truncated or never written")
    if size < 8:
        raise ModelFileError(f"{path} is truncated or not a model file: {size} bytes, fewer than the 8-byte "
                             f"header length that starts a safetensors file")
    length = int.from_bytes(read_exactly(stream, 8), "little")
    if length < 2 or length > MAX_HEADER_BYTES:
        raise ModelFileError(f"{not_safetensors}: the first bytes are not a safetensors header)")
    if size < 8 + length:
        raise ModelFileError(f"{path} is truncated: its header announces {length} bytes but only {size - 8} "
                             f"follow the length prefix")
    text = read_exactly(stream, length)
    if text[:1] != b"{":
        raise ModelFileError(f"{not_safetensors}: the first bytes are not a safetensors header)")
    header = parse_json(text, f"{path}'s safetensors header", not_safetensors + ": its header is not valid JSON)")
    if not isinstance(header, dict):
        raise ModelFileError(f"{not_safetensors}: its header is not a JSON object)")
    metadata = header.pop("__metadata__", None)
    if metadata is not None and not (isinstance(metadata, dict)
                                     and all(isinstance(value, str) for value in metadata.values())):
        raise ModelFileError(f"{path} is corrupt: its safetensors __metadata__ must map names to strings")
    tensors = {name: _entry(path, name, entry) for name, entry in header.items()}
    _check_tiling(path, tensors, size - 8 - length)
    return Header(tensors, metadata or {}, 8 + length)


def parse_json(text: bytes | str, what: str, invalid: str):
    """``json.loads`` with one clear error for invalid text and for nesting too deep to parse."""
    try:
        return json.loads(text)
    except RecursionError:
        raise ModelFileError(f"{what} is nested too deeply to be read (JSON arrays or objects thousands of "
                             f"levels deep); the file is corrupt or hostile") from None
    except (UnicodeDecodeError, ValueError, TypeError):
        raise ModelFileError(invalid) from None


def _entry(path, name: str, entry) -> TensorEntry:
    where = f"{path} is corrupt: the header entry of tensor {name!r}"
    if not isinstance(entry, dict):
        raise ModelFileError(f"{where} must be a JSON object, received {type(entry).__name__}")
    code, shape, offsets = entry.get("dtype"), entry.get("shape"), entry.get("data_offsets")
    if not isinstance(code, str):
        raise ModelFileError(f"{where} has no dtype string, received {code!r}")
    if code not in DTYPES:
        raise ModelFileError(f"{path} holds tensor {name!r} of dtype {code[:20]!r}, which NumPy cannot represent; "
                             f"a layerwise model file has only bool, integer and float16/32/64 tensors")
    if not (isinstance(shape, list) and len(shape) <= MAX_DIMENSIONS and all(_count(n) for n in shape)):
        raise ModelFileError(f"{where} must have a shape of at most {MAX_DIMENSIONS} non-negative integers, "
                             f"received {_short(shape)}")
    if not (isinstance(offsets, list) and len(offsets) == 2 and all(_count(n) for n in offsets)
            and offsets[0] <= offsets[1]):
        raise ModelFileError(f"{where} has no valid data_offsets (two integers, start <= stop), "
                             f"received {_short(offsets)}")
    needed = math.prod(shape) * DTYPES[code].itemsize
    if offsets[1] - offsets[0] != needed:
        raise ModelFileError(f"{where} spans {offsets[1] - offsets[0]} bytes, but shape {tuple(shape)} of {code} "
                             f"needs {needed}")
    return TensorEntry(name, code, tuple(shape), offsets[0], offsets[1])


def _count(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _short(value) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _check_tiling(path, tensors: dict[str, TensorEntry], available: int) -> None:
    """The byte ranges must cover the data section exactly, in some order, without gaps or overlaps."""
    end = 0
    for entry in sorted(tensors.values(), key=lambda entry: (entry.start, entry.stop)):
        if entry.start != end:
            gap = entry.start - end
            what = "overlaps the tensor before it" if gap < 0 else f"leaves a gap of {gap} bytes"
            raise ModelFileError(f"{path} is corrupt: the data of tensor {entry.name!r} {what}")
        end = entry.stop
    if available < end:
        raise ModelFileError(f"{path} is truncated: its tensors need {end} bytes of data but only {available} "
                             f"are present")
    if available > end:
        raise ModelFileError(f"{path} is corrupt: {available - end} unexpected bytes follow the tensor data")


def read_tensor(path, stream: BinaryIO, header: Header, entry: TensorEntry) -> np.ndarray:
    """Read one checked tensor from the open file into a new array of native byte order."""
    stored = DTYPES[entry.code]
    array = np.empty(math.prod(entry.shape), dtype=stored)
    stream.seek(header.data_start + entry.start)
    received = stream.readinto(array.view(np.uint8)) if array.size else 0
    if received != entry.stop - entry.start:
        raise ModelFileError(f"{path} is truncated: tensor {entry.name!r} has {received} of its "
                             f"{entry.stop - entry.start} bytes (did the file change while it was read?)")
    return array.reshape(entry.shape).astype(entry.dtype, copy=False)


def tensor_digest(arrays: dict[str, np.ndarray]) -> str:
    """The SHA-256 hex digest of named tensors (see the module notes for what goes in)."""
    digest = hashlib.sha256()
    for name in sorted(arrays):
        update_digest(digest, name, np.asarray(arrays[name]))
    return digest.hexdigest()


def update_digest(digest, name: str, array: np.ndarray) -> None:
    """Feed one tensor to ``digest``: its name, dtype code and shape, then its little-endian bytes."""
    digest.update(f"{name}\0{_CODES[array.dtype.name]}\0{','.join(map(str, array.shape))}\0".encode())
    stored = np.ascontiguousarray(array, dtype=array.dtype.newbyteorder("<"))
    digest.update(stored.reshape(-1).view(np.uint8))


def open_model_file(path) -> tuple[BinaryIO, int]:
    """Open a model file for reading: a regular file, or a :class:`ModelFileError`."""
    return open_regular(path, "model file", ModelFileError)
