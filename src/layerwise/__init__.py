"""layerwise: feedforward neural networks trained by backpropagation, one equation per line.

The subpackages, each one idea, in the direction of their imports (a package
imports only from those listed before it)::

    errors, _checks, _compile, _version, limits
                what goes wrong; the one check of numbers; numba compilation; the version; memory guards
    ops         the maths: activations, losses, initialisers
    layers      the layer protocol (base), Dense, Dropout, BatchNorm, Conv2D, pooling, Flatten, their equations
    engine      the network, its parameter table, workspaces, input checks
    preprocessing  the input steps a model file stores as data (standardisation), applied by predict
    optim       optimizers, their compiled kernels (the "fused" one-pass steps), schedules
    io          atomic writes and the model file
    distributed data-parallel training over MPI
    train       the loop, callbacks, history, checkpoints
    inspect     the seed's reference, gradcheck, explain, diagnostics, plots
    interop     scikit-learn estimators, ONNX, torch
    data        bundled data sets, CSV, IDX, MNIST
    cli         the ``layerwise`` command (the public API only)

Module-level imports never go upward (``tests/test_layout.py`` checks it).
Three conveniences reach upward when called, importing then: ``Network.fit``
(the training loop), ``Network.save`` (the model file) and ``fit(...,
diagnostics=...)`` (the gradient monitor of ``inspect``).
"""

from ._version import __version__
from .engine.network import Network
from .errors import (
    ConfigError,
    DataError,
    LayerwiseError,
    ModelFileError,
    ResourceError,
    ShapeError,
    TrainingDivergedError,
)
from .inspect.gradcheck import GradcheckReport, gradcheck
from .io.model_file import load
from .layers import AvgPool2D, BatchNorm, Conv2D, Dense, Dropout, Flatten, MaxPool2D
from .ops.activations import ACTIVATIONS
from .ops.losses import LOSSES
from .optim.optimizers import SGD, Adam, AdamW, RMSProp, clip_grad_norm, get_optimizer
from .optim.schedules import get_schedule
from .train.callbacks import Callback, EarlyStopping
from .train.history import History

_LAZY = {"MLPClassifier": "interop.estimators", "MLPRegressor": "interop.estimators", "to_onnx": "interop.export",
         "to_torch": "interop.export",
         "from_torch": "interop.export"}


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
    "AvgPool2D",
    "BatchNorm",
    "Callback",
    "ConfigError",
    "Conv2D",
    "DataError",
    "Dense",
    "Dropout",
    "Flatten",
    "MaxPool2D",
    "EarlyStopping",
    "GradcheckReport",
    "History",
    "MLPClassifier",
    "MLPRegressor",
    "LayerwiseError",
    "ModelFileError",
    "Network",
    "ResourceError",
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
