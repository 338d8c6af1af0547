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

``import layerwise`` itself loads only the errors and the version: every public name
(``lw.Network``, ``lw.load``...) and subpackage (``lw.io``) is imported when first used.
"""

from importlib import import_module

from ._version import __version__
from .errors import (
    ConfigError,
    DataError,
    LayerwiseError,
    ModelFileError,
    ResourceError,
    ShapeError,
    TrainingDivergedError,
)

_LAZY = {
    "Network": "engine.network", "GradcheckReport": "inspect.gradcheck", "gradcheck": "inspect.gradcheck",
    "load": "io.model_file", "AvgPool2D": "layers", "BatchNorm": "layers", "Conv2D": "layers", "Dense": "layers",
    "Dropout": "layers", "Flatten": "layers", "MaxPool2D": "layers",
    "ACTIVATIONS": "ops.activations", "LOSSES": "ops.losses", "SGD": "optim.optimizers", "Adam": "optim.optimizers",
    "AdamW": "optim.optimizers", "RMSProp": "optim.optimizers", "clip_grad_norm": "optim.optimizers",
    "get_optimizer": "optim.optimizers", "get_schedule": "optim.schedules", "Callback": "train.callbacks",
    "EarlyStopping": "train.callbacks", "History": "train.history", "MLPClassifier": "interop.estimators",
    "MLPRegressor": "interop.estimators", "to_onnx": "interop.export", "to_torch": "interop.export",
    "from_torch": "interop.export",
}
"""Where each public name lives. They are imported on first use, so that ``import layerwise`` and the
command line's ``--help`` start without loading NumPy and the whole package."""

_SUBPACKAGES = ("ops", "layers", "engine", "preprocessing", "optim", "io", "distributed", "train", "inspect",
                "interop", "data", "cli", "limits")


def __getattr__(name: str):
    """Import a public name (or a subpackage, ``lw.io``) when it is first used, then keep it."""
    if name in _LAZY:
        value = getattr(import_module(f".{_LAZY[name]}", __name__), name)
    elif name in _SUBPACKAGES:
        value = import_module(f".{name}", __name__)
    else:
        raise AttributeError(f"module 'layerwise' has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__, *_SUBPACKAGES})


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
