"""The optional dependencies of the exporters, imported when first needed, and the check of what they export."""

from __future__ import annotations

from ..engine.network import Network
from ..errors import ConfigError, LayerwiseError


class MissingDependencyError(LayerwiseError, ImportError):
    """An optional dependency (an extra such as ``layerwise[onnx]``) is not installed."""


def _import_onnx():
    try:
        import onnx
        import onnx.checker
        import onnx.helper
        import onnx.numpy_helper
    except ImportError:
        raise MissingDependencyError(
            'ONNX export needs the onnx package, which is not installed; run: pip install "layerwise[onnx]"'
        ) from None
    return onnx


def _import_torch():
    try:
        import torch
    except ImportError:
        raise MissingDependencyError(
            'PyTorch conversion needs torch, which is not installed; run: pip install "layerwise[torch]"'
        ) from None
    return torch


def _check_network(net, function: str) -> None:
    if not isinstance(net, Network):
        raise ConfigError(f"{function} expects a layerwise Network, received {type(net).__name__}")
    if not net.built:
        raise ConfigError(
            f"{function} needs a built network (known input size); pass input_dim= or call forward/fit first"
        )
