"""Preprocessing saved with a model: fitted steps stored as plain data, applied by ``predict``.

A :class:`Preprocessing` holds two lists of fitted steps: ``inputs`` map raw
feature rows to the network's inputs ``A0``; ``targets`` map raw targets to
the network's outputs, and their inverses map ``A<L>`` back. Each step is
stored in the model file as a JSON entry plus float64 tensors, never as
pickled code. Models trained on tables start with the encoding steps of
:mod:`~layerwise.preprocessing.encoders` (column selection by name, one-hot
text, median imputation).

The encoders (``Columns``, ``OneHot``, ``Impute``, ``fit_table``) are imported when first used, so that reading
a model that does not encode a table does not load them.
"""

from importlib import import_module

from .pipeline import Preprocessing, fold, input_affine
from .registry import STEPS, step_class, step_from_stored
from .steps import Standardize, Step

__all__ = ["STEPS", "Columns", "Impute", "OneHot", "Preprocessing", "Standardize", "Step", "fit_table", "fold",
           "input_affine", "step_class", "step_from_stored"]

_ENCODERS = ("Columns", "Impute", "OneHot", "fit_table")


def __getattr__(name: str):
    """Import an encoder when it is first used, then keep it."""
    if name not in _ENCODERS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(".encoders", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
