"""layerwise: feedforward neural networks trained by backpropagation, one equation per line."""

from .activations import ACTIVATIONS
from .errors import ConfigError, DataError, LayerwiseError, ModelFileError, ShapeError, TrainingDivergedError
from .gradcheck import GradcheckReport, gradcheck
from .layers import Dense, Dropout
from .losses import LOSSES
from .network import Network

__version__ = "0.1.0"

__all__ = [
    "ACTIVATIONS",
    "LOSSES",
    "ConfigError",
    "DataError",
    "Dense",
    "Dropout",
    "GradcheckReport",
    "LayerwiseError",
    "ModelFileError",
    "Network",
    "ShapeError",
    "TrainingDivergedError",
    "gradcheck",
    "__version__",
]
