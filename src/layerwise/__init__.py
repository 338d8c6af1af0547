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

_LAZY = {"MLPClassifier": "estimators", "MLPRegressor": "estimators", "to_onnx": "export", "to_torch": "export",
         "from_torch": "export"}


def __getattr__(name: str):
    """Import the scikit-learn estimators and the exporters only when first used."""
    if name in _LAZY:
        from importlib import import_module

        return getattr(import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module 'layerwise' has no attribute {name!r}")

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
    "MLPClassifier",
    "MLPRegressor",
    "LayerwiseError",
    "ModelFileError",
    "Network",
    "RMSProp",
    "ShapeError",
    "TrainingDivergedError",
    "clip_grad_norm",
    "from_torch",
    "get_optimizer",
    "get_schedule",
    "gradcheck",
    "load",
    "to_onnx",
    "to_torch",
    "__version__",
]
