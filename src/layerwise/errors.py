"""Exceptions raised by layerwise.

Every user-facing failure is a :class:`LayerwiseError`. Subclasses also derive
from the built-in exception that fits the failure, so ``except ValueError``
keeps working for code that does not know about layerwise.
"""


class LayerwiseError(Exception):
    """Base class of every error layerwise raises on purpose."""


class ShapeError(LayerwiseError, ValueError):
    """An array has the wrong number of dimensions, rows or columns."""


class DataError(LayerwiseError, ValueError):
    """Input data is empty, non-numeric, non-finite or has invalid labels."""


class ConfigError(LayerwiseError, ValueError):
    """An argument names an unknown component or has an invalid value."""


class ModelFileError(LayerwiseError, ValueError):
    """A model file is missing, corrupt, truncated or from a newer format."""


class OutputError(LayerwiseError, OSError):
    """A result file (a figure, a CSV or JSON report) could not be written; the message names it."""


class TrainingDivergedError(LayerwiseError, FloatingPointError):
    """The training loss became NaN or infinite."""


class ResourceError(LayerwiseError, MemoryError):
    """A request needs more memory than the machine has available (a network or array too large)."""


class NonFiniteParametersError(TrainingDivergedError, ValueError):
    """The scikit-learn estimators' solver produced non-finite parameters.

    A :class:`ValueError` as well, as scikit-learn raises for the same failure.
    """
