"""Reading a checked safetensors file's tensors into arrays, and the digest of arrays a model file keeps.

:mod:`.safetensors_header` reads and checks the header first; :func:`read_tensor`
then reads one tensor's byte range into an array. :func:`tensor_digest` is the
digest :func:`.safetensors_header.file_digest` computes from a file's bytes,
computed from arrays.
"""

from __future__ import annotations

import hashlib
import math
from typing import BinaryIO

import numpy as np

from ..errors import ModelFileError
from .safetensors_header import CODES, DTYPE_NAMES, Header, TensorEntry, digest_prefix

#: safetensors dtype code -> little-endian NumPy dtype.
DTYPES = {code: np.dtype(name).newbyteorder("<") for code, name in DTYPE_NAMES.items()}


def read_tensor(path, stream: BinaryIO, header: Header, entry: TensorEntry) -> np.ndarray:
    """Read one checked tensor from the open file into a new array of native byte order."""
    stored = DTYPES[entry.code]
    array = np.empty(math.prod(entry.shape), dtype=stored)
    stream.seek(header.data_start + entry.start)
    received = stream.readinto(array.view(np.uint8)) if array.size else 0
    if received != entry.stop - entry.start:
        raise ModelFileError(f"{path} is truncated: tensor {entry.name!r} has {received} of its "
                             f"{entry.stop - entry.start} bytes (did the file change while it was read?)")
    return array.reshape(entry.shape).astype(entry.dtype_name, copy=False)


def tensor_digest(arrays: dict[str, np.ndarray]) -> str:
    """The SHA-256 hex digest of named tensors (see :mod:`.safetensors_header` for what goes in)."""
    digest = hashlib.sha256()
    for name in sorted(arrays):
        update_digest(digest, name, np.asarray(arrays[name]))
    return digest.hexdigest()


def update_digest(digest, name: str, array: np.ndarray) -> None:
    """Feed one tensor to ``digest``: its name, dtype code and shape, then its little-endian bytes."""
    digest.update(digest_prefix(name, CODES[array.dtype.name], array.shape))
    stored = np.ascontiguousarray(array, dtype=array.dtype.newbyteorder("<"))
    digest.update(stored.reshape(-1).view(np.uint8))
