"""Layers: each one a peer that builds from its input shape and backpropagates layer by layer.

Each layer class is imported from its module when first used (``layers.Conv2D``), so that a network of Dense
layers never loads the convolution code.
"""

from importlib import import_module

from .base import LAYER_MODULES, LAYER_TYPES, Layer, ParamSpec, StateSpec, layer_from_config

__all__ = ["LAYER_TYPES", "AvgPool2D", "BatchNorm", "Conv2D", "Dense", "Dropout", "Flatten", "Layer", "MaxPool2D",
           "ParamSpec", "StateSpec", "layer_from_config"]


def __getattr__(name: str):
    """Import a layer class from its module when it is first used, then keep it."""
    if name not in LAYER_MODULES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(f".{LAYER_MODULES[name]}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
