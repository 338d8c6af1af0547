"""Preprocessing saved with a model: fitted steps stored as plain data, applied by ``predict``.

A :class:`Preprocessing` holds two lists of fitted steps: ``inputs`` map raw
feature rows to the network's inputs ``A0``; ``targets`` map raw targets to
the network's outputs, and their inverses map ``A<L>`` back. Each step is
stored in the model file as a JSON entry plus float64 tensors, never as
pickled code.
"""

from .pipeline import Preprocessing, fold, input_affine
from .steps import STEPS, Standardize, Step, step_from_stored

__all__ = ["STEPS", "Preprocessing", "Standardize", "Step", "fold", "input_affine", "step_from_stored"]
