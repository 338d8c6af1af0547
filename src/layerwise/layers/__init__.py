"""Layers: each one a peer that builds from its input shape and backpropagates layer by layer."""

from .base import LAYER_TYPES, Layer, ParamSpec, StateSpec, layer_from_config
from .batchnorm import BatchNorm
from .conv import Conv2D
from .dense import Dense
from .dropout import Dropout
from .pooling import AvgPool2D, MaxPool2D
from .reshape import Flatten

__all__ = ["LAYER_TYPES", "AvgPool2D", "BatchNorm", "Conv2D", "Dense", "Dropout", "Flatten", "Layer", "MaxPool2D",
           "ParamSpec", "StateSpec", "layer_from_config"]
