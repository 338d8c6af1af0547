"""layerwise: feedforward neural networks trained by backpropagation, one equation per line."""

from .activations import ACTIVATIONS
from .callbacks import Callback, EarlyStopping
from .errors import (
    ConfigError,
    DataError,
    LayerwiseError,
    ModelFileError,
    ShapeError,
    TrainingDivergedError,
)
from .gradcheck import GradcheckReport, gradcheck
from .io import load
from .layers import Dense, Dropout
from .losses import LOSSES
from .network import Network
from .optim import SGD, Adam, AdamW, RMSProp, clip_grad_norm, get_optimizer
from .schedules import get_schedule
from .training import History

__version__ = "0.1.0"

__all__ = [
    "ACTIVATIONS",
    "LOSSES",
    "SGD",
    "Adam",
    "AdamW",
    "Callback",
    "ConfigError",
    "DataError",
    "Dense",
    "Dropout",
    "EarlyStopping",
    "GradcheckReport",
    "History",
    "LayerwiseError",
    "ModelFileError",
    "Network",
    "RMSProp",
    "ShapeError",
    "TrainingDivergedError",
    "clip_grad_norm",
    "get_optimizer",
    "get_schedule",
    "gradcheck",
    "load",
    "__version__",
]
