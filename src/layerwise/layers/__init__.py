"""Layers: each one a peer that builds from its input shape and backpropagates layer by layer."""

from .base import LAYER_TYPES, Layer, ParamSpec, StateSpec, layer_from_config
from .batchnorm import BatchNorm
from .dense import Dense
from .dropout import Dropout

__all__ = ["LAYER_TYPES", "BatchNorm", "Dense", "Dropout", "Layer", "ParamSpec", "StateSpec", "layer_from_config"]
