"""Model files: safetensors with JSON metadata, written atomically and read without executing code.

The names below are imported from :mod:`.model_file` when first used, so that reading a file's header
(:mod:`.safetensors_header`, :mod:`.model_document`) does not load NumPy.
"""

from importlib import import_module

__all__ = ["FORMAT_VERSION", "TEMP_MARKER", "ModelFile", "load", "read", "remove_stale_temporaries", "save",
           "write_atomically"]

_MODULES = ("atomic", "model_document", "model_file", "model_format", "safetensors_file", "safetensors_header")


def __getattr__(name: str):
    """Import a name of :mod:`.model_file`, or a module (``io.model_file``), when it is first used, then keep it."""
    if name in __all__:
        value = getattr(import_module(".model_file", __name__), name)
    elif name in _MODULES:
        value = import_module(f".{name}", __name__)
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__, *_MODULES})
