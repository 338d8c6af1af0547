"""Model files: safetensors with JSON metadata, written atomically and read without executing code."""

from .model_file import (
    FORMAT_VERSION,
    TEMP_MARKER,
    ModelFile,
    load,
    read,
    remove_stale_temporaries,
    save,
    write_atomically,
)

__all__ = ["FORMAT_VERSION", "TEMP_MARKER", "ModelFile", "load", "read", "remove_stale_temporaries", "save",
           "write_atomically"]
