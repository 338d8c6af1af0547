"""What the image layers (Conv2D, the poolings) share: their sizes, their input shape, their buffers."""

from __future__ import annotations

import numpy as np

from .._checks import positive_int
from ..errors import ConfigError
from .base import Layer


def pair(what: str, value) -> tuple[int, int]:
    """A positive integer or a pair of them, as ``(rows, columns)``."""
    if isinstance(value, (tuple, list)) and len(value) == 2:
        return positive_int(what, value[0]), positive_int(what, value[1])
    if isinstance(value, (tuple, list)):
        raise ConfigError(f"{what} must be a positive integer or a pair of them, received {value!r}")
    size = positive_int(what, value)
    return size, size


def image_shape(layer: Layer, input_shape: tuple[int, ...]) -> tuple[int, int, int]:
    """``input_shape`` as ``(C, H, W)``, or a ConfigError naming the layer."""
    if len(input_shape) != 3:
        raise ConfigError(f"{type(layer).__name__} layer {layer.l} needs image examples of shape (C, H, W), "
                         f"received examples of shape {tuple(input_shape)}; give the network "
                         f"input_shape=(C, H, W)")
    return input_shape


def buffer(ws, key: str, shape: tuple[int, ...], dtype) -> np.ndarray:
    """The workspace's buffer ``key``, or a new array when training without one."""
    out = ws.get(key)
    return np.empty(shape, dtype) if out is None else out


def non_negative(what: str, value) -> int:
    """A padding: a non-negative integer (a bool is refused)."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
        raise ConfigError(f"{what} must be a non-negative integer, a pair of them, 'valid' or 'same', "
                          f"received {value!r}")
    return int(value)
