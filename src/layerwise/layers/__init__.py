"""Layers: each one a peer that builds from its input shape and backpropagates layer by layer."""

from .base import layer_from_config
from .dense import Dense
from .dropout import Dropout

__all__ = ["Dense", "Dropout", "layer_from_config"]
