"""The model file's document, read without NumPy: its names and versions, and the checks of the ``"layerwise"``
metadata entry (see :mod:`layerwise.io.model_file`)."""

from __future__ import annotations

import re

from ..errors import ModelFileError
from .safetensors_header import Header, parse_json

FORMAT = "layerwise"

FORMAT_VERSION = 2
"""The newest format this version reads and writes."""

DENSE_FORMAT_VERSION = 1
"""The format of files of Dense and Dropout layers without preprocessing (readable by layerwise 0.1.0)."""

METADATA_KEY = "layerwise"

DIGEST_KEY = "tensors_sha256"

_PARAMETER_NAME = re.compile(r"(W|b|gamma|beta|running_mean|running_var)([0-9]+)")

_DIGEST = re.compile(r"[0-9a-f]{64}")


def parse_document(path, header: Header) -> dict:
    """Return the validated layerwise JSON document from the safetensors metadata."""
    metadata = header.metadata
    if METADATA_KEY not in metadata:
        names = ", ".join(sorted(header.tensors)[:20]) or "none"
        raise ModelFileError(f"{path} is a safetensors file but not a layerwise model file: its metadata has no "
                             f"{METADATA_KEY!r} entry (tensors in the file: {names})")
    document = parse_json(metadata[METADATA_KEY], f"{path}'s {METADATA_KEY!r} metadata",
                          f"{path} is corrupt: its {METADATA_KEY!r} metadata is not valid JSON")
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        found = document.get("format") if isinstance(document, dict) else type(document).__name__
        raise ModelFileError(f"{path} is not a layerwise model file: its metadata format is {found!r}, "
                             f"expected {FORMAT!r}")
    version = document.get("format_version")
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise ModelFileError(f"{path} is corrupt: format_version must be a positive integer, received {version!r}")
    if version > FORMAT_VERSION:
        raise ModelFileError(
            f"{path} was written by a newer layerwise (format {version}, layerwise "
            f"{document.get('library_version', 'unknown')}); this version reads format {FORMAT_VERSION}; "
            f"upgrade layerwise"
        )
    for key, kind in (("library_version", str), ("config", dict), ("extra", dict)):
        if not isinstance(document.get(key), kind):
            raise ModelFileError(f"{path} is corrupt: its metadata entry {key!r} must be a {kind.__name__}, "
                                 f"received {type(document.get(key)).__name__}")
    digest = document.get(DIGEST_KEY)
    if digest is not None and not (isinstance(digest, str) and _DIGEST.fullmatch(digest)):
        raise ModelFileError(f"{path} is corrupt: its {DIGEST_KEY!r} must be 64 lowercase hexadecimal digits, "
                             f"received {str(digest)[:80]!r}")
    return document


def check_digest(path, found: str, recorded: str) -> None:
    """Raise a ModelFileError unless the digest ``found`` of the file's tensors is the one it records."""
    if found != recorded:
        raise ModelFileError(f"{path} is corrupt: the SHA-256 digest of its tensors is {found}, but the file records "
                             f"{recorded}; its bytes changed after it was written (a damaged disk, an incomplete copy "
                             f"or an edit)")
