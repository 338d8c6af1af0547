"""Preprocessing saved with a model: fitted steps stored as plain data, applied by ``predict``.

A :class:`Preprocessing` holds two lists of fitted steps: ``inputs`` map raw
feature rows to the network's inputs ``A0``; ``targets`` map raw targets to
the network's outputs, and their inverses map ``A<L>`` back. Each step is
stored in the model file as a JSON entry plus float64 tensors, never as
pickled code. Models trained on tables start with the encoding steps of
:mod:`~layerwise.preprocessing.encoders` (column selection by name, one-hot
text, median imputation).
"""

from .encoders import Columns, Impute, OneHot, fit_table
from .pipeline import Preprocessing, fold, input_affine
from .registry import STEPS, step_from_stored
from .steps import Standardize, Step

__all__ = ["STEPS", "Columns", "Impute", "OneHot", "Preprocessing", "Standardize", "Step", "fit_table", "fold",
           "input_affine", "step_from_stored"]
