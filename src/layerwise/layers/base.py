"""Rebuilding layers from their configs."""

from __future__ import annotations

from ..errors import ConfigError
from ..ops.activations import get_activation
from .dense import Dense
from .dropout import Dropout


def layer_from_config(config: dict):
    """Rebuild a layer from :meth:`Dense.get_config` or :meth:`Dropout.get_config`."""
    kind = config.get("type")
    if kind == "Dense":
        activation = get_activation(config["activation"], **config.get("activation_args", {}))
        return Dense(config["units"], activation=activation, init=config.get("init"))
    if kind == "Dropout":
        return Dropout(config["rate"])
    raise ConfigError(f"unknown layer type {kind!r}; expected 'Dense' or 'Dropout'")
