"""Reading the header of a safetensors file that may be hostile, without NumPy: nothing beyond the header is read
until its tensor table is checked.

A safetensors file is an 8-byte little-endian header length ``N``, ``N`` bytes
of JSON (the tensor table and ``__metadata__``), then the tensor data.
:func:`read_header` opens the file only if it is a regular file (see
:func:`layerwise.limits.open_regular`), reads the 8 bytes and the header, and
checks the tensor table against the file's size: every tensor's dtype is one
NumPy represents, its shape is a list of non-negative integers, its byte range
holds exactly ``prod(shape) * itemsize`` bytes, and the ranges tile the data
section from its first byte to the end of the file with no gap and no overlap.
Nothing is allocated beyond the header.

A layerwise model file keeps the SHA-256 digest of its tensors: for each tensor
in name order, its name, its safetensors dtype and its shape
(``"W1\\0F32\\016,4\\0"``, :func:`digest_prefix`), then its little-endian
bytes, which are the bytes the file holds, so :func:`file_digest` computes it
from the file without decoding a number. :mod:`.safetensors_file` reads the
tensors into arrays.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass
from typing import BinaryIO

from ..errors import ModelFileError
from ..limits import open_regular, read_exactly

MAX_HEADER_BYTES = 100_000_000  # the limit safetensors itself enforces
MAX_DIMENSIONS = 32

#: safetensors dtype code -> the NumPy dtype's name (the bytes are little-endian).
DTYPE_NAMES = {"BOOL": "bool", "U8": "uint8", "I8": "int8", "U16": "uint16", "I16": "int16", "U32": "uint32",
               "I32": "int32", "U64": "uint64", "I64": "int64", "F16": "float16", "F32": "float32", "F64": "float64"}
ITEMSIZES = {"BOOL": 1, "U8": 1, "I8": 1, "U16": 2, "I16": 2, "U32": 4, "I32": 4, "U64": 8, "I64": 8, "F16": 2,
             "F32": 4, "F64": 8}
CODES = {name: code for code, name in DTYPE_NAMES.items()}


@dataclass(frozen=True)
class TensorEntry:
    """One row of the tensor table: where a tensor's bytes lie in the data section."""

    name: str
    code: str
    shape: tuple[int, ...]
    start: int
    stop: int

    @property
    def dtype_name(self) -> str:
        """The name of the tensor's NumPy dtype (``"float32"``)."""
        return DTYPE_NAMES[self.code]


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
    if code not in DTYPE_NAMES:
        raise ModelFileError(f"{path} holds tensor {name!r} of dtype {code[:20]!r}, which NumPy cannot represent; "
                             f"a layerwise model file has only bool, integer and float16/32/64 tensors")
    if not (isinstance(shape, list) and len(shape) <= MAX_DIMENSIONS and all(_count(n) for n in shape)):
        raise ModelFileError(f"{where} must have a shape of at most {MAX_DIMENSIONS} non-negative integers, "
                             f"received {_short(shape)}")
    if not (isinstance(offsets, list) and len(offsets) == 2 and all(_count(n) for n in offsets)
            and offsets[0] <= offsets[1]):
        raise ModelFileError(f"{where} has no valid data_offsets (two integers, start <= stop), "
                             f"received {_short(offsets)}")
    needed = math.prod(shape) * ITEMSIZES[code]
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


def open_model_file(path) -> tuple[BinaryIO, int]:
    """Open a model file for reading: a regular file, or a :class:`ModelFileError`."""
    return open_regular(path, "model file", ModelFileError)


def digest_prefix(name: str, code: str, shape) -> bytes:
    """What the digest takes of a tensor before its bytes: its name, dtype code and shape."""
    return f"{name}\0{code}\0{','.join(map(str, shape))}\0".encode()


def file_digest(path, stream: BinaryIO, header: Header, chunk: int = 1 << 20) -> str:
    """The SHA-256 hex digest of the tensors of the checked file ``path``, open as ``stream``, read ``chunk`` bytes
    at a time."""
    digest = hashlib.sha256()
    for name in sorted(header.tensors):
        entry = header.tensors[name]
        digest.update(digest_prefix(name, entry.code, entry.shape))
        stream.seek(header.data_start + entry.start)
        left = entry.stop - entry.start
        while left:
            data = stream.read(min(chunk, left))
            if not data:
                raise ModelFileError(f"{path} is truncated: tensor {name!r} ends early (did the file change while "
                                     f"it was read?)")
            digest.update(data)
            left -= len(data)
    return digest.hexdigest()
