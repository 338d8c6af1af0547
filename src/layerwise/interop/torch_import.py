"""Conversion from PyTorch: a ``torch.nn.Sequential`` or a ``state_dict`` as a network."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from ..engine.network import Network
from ..errors import ConfigError, ShapeError
from ..layers import BatchNorm, Dense
from .dependencies import _import_torch
from .torch_images import _IMAGE_MODULES, _image_network
from .torch_specs import (
    _SUPPORTED_MODULES,
    _flatten,
    _LinearSpec,
    _NormSpec,
    _specs_from_module,
    _specs_from_state_dict,
)


def from_torch(source, *, activations: Sequence | None = None, loss: str | None = None,
               input_dim: int | None = None, dtype: str | None = None, seed: int | None = None,
               input_shape: tuple[int, ...] | None = None) -> Network:
    """Build a network from a PyTorch ``nn.Sequential`` or a ``state_dict`` of ``Linear`` layers.

    A ``Sequential`` may hold ``nn.Linear`` layers, each optionally followed
    directly by one activation module (``ReLU``, ``LeakyReLU``, ``ELU``,
    ``SELU``, ``GELU`` with ``approximate="none"``, ``SiLU``, ``Softplus``
    with ``beta=1``, ``Tanh``, ``Sigmoid``, ``Softmax`` over dim 1),
    ``nn.Dropout`` and ``nn.Identity``; nested ``Sequential`` containers are
    flattened. A ``Linear`` without bias gets a zero bias.

    A bare ``state_dict`` (a mapping such as ``{"0.weight": ..., "0.bias":
    ..., "2.weight": ..., "2.bias": ...}``, values tensors or arrays) holds no
    activations: its ``Linear`` layers, taken in the mapping's order, get
    ReLU in the hidden layers and the identity at the output unless
    ``activations`` says otherwise.

    Parameters
    ----------
    source : torch.nn.Sequential, torch.nn.Linear or mapping
        The model or its ``state_dict``.
    activations : sequence of str or Activation, optional
        For a ``state_dict`` only: one activation per ``Linear`` layer.
    loss : str, optional
        The network's loss; by default chosen from the output activation as
        :class:`~layerwise.network.Network` does (softmax -> cross_entropy,
        sigmoid -> binary_cross_entropy, otherwise mse). A PyTorch model that
        ends in a ``Linear`` producing logits for ``nn.CrossEntropyLoss``
        needs an ``nn.Softmax(dim=1)`` appended to import as a classifier.
    input_dim : int, optional
        Checked against the first layer's ``in_features`` when given.
    input_shape : tuple of int, optional
        ``(C, H, W)`` of one example, needed when the ``Sequential`` holds image modules: ``Conv2d``
        (groups 1, dilation 1, zero padding), ``MaxPool2d`` and ``AvgPool2d`` (no padding, floor
        mode), ``Flatten`` and ``BatchNorm2d`` (affine, with running statistics); an activation may
        follow a ``Conv2d`` or a ``BatchNorm`` as it follows a ``Linear``.
    dtype : {"float32", "float64"}, optional
        By default float64 if any parameter is float64, else float32.
    seed : int, optional
        Seed of the new network's generator (used for dropout and shuffling
        when it is trained further).

    Returns
    -------
    Network
        A built network with the source's weights.

    Raises
    ------
    MissingDependencyError
        If ``source`` is a module and torch is not installed.
    ConfigError
        For an unsupported module or ``state_dict`` entry (the message names
        it and lists what is supported), or bad arguments.
    ShapeError
        If consecutive layers' sizes do not chain, or ``input_dim`` differs
        from the first layer's input size.
    """
    if isinstance(source, Mapping):
        specs = _specs_from_state_dict(source, activations)
    else:
        torch = _import_torch()
        if not isinstance(source, torch.nn.Module):
            raise ConfigError(
                f"from_torch expects a torch.nn.Sequential or a state_dict, received {type(source).__name__}"
            )
        if activations is not None:
            raise ConfigError("activations= applies to a state_dict only; a module carries its own activations")
        if isinstance(source, torch.nn.Sequential):
            children = list(_flatten(torch.nn, source, ""))
            if any(type(child).__name__ in _IMAGE_MODULES for _, child in children):
                return _image_network(torch, children, input_shape, loss, dtype, seed)
        specs = _specs_from_module(torch.nn, source)
    return _build_network(specs, loss=loss, input_dim=input_dim, dtype=dtype, seed=seed)


def _build_network(specs: list, loss, input_dim, dtype, seed) -> Network:
    linears = [spec for spec in specs if isinstance(spec, _LinearSpec)]
    if not linears:
        raise ConfigError(f"no Linear layer found; supported modules: {_SUPPORTED_MODULES}")
    previous = None
    for spec in linears:
        if spec.weight.ndim != 2:
            raise ConfigError(
                f"{spec.name}.weight must be 2-D (out_features, in_features) as in a Linear layer, "
                f"received shape {spec.weight.shape}"
            )
        n_out, n_in = spec.weight.shape
        if spec.bias is not None and spec.bias.shape != (n_out,):
            raise ShapeError(f"{spec.name}.bias must have shape ({n_out},), received {spec.bias.shape}")
        if previous is not None and n_in != previous.weight.shape[0]:
            raise ShapeError(
                f"{spec.name}.weight expects {n_in} inputs but the layer before it ({previous.name}) "
                f"has {previous.weight.shape[0]} outputs"
            )
        previous = spec
    n_0 = linears[0].weight.shape[1]
    if input_dim is not None and input_dim != n_0:
        raise ShapeError(f"input_dim is {input_dim!r} but the first Linear layer has {n_0} in_features")
    if dtype is None:
        dtype = "float64" if any(_has_float64(spec) for spec in linears) else "float32"
    layers = [_layer(spec) for spec in specs]
    try:
        net = Network(layers, loss=loss, input_dim=n_0, seed=seed, dtype=dtype)
    except ShapeError as exc:
        raise ShapeError(f"the modules' sizes do not chain: {exc}") from None
    for layer, spec in zip(layers, specs):
        if isinstance(spec, _LinearSpec):
            layer.W[...] = spec.weight
            layer.b[...] = 0 if spec.bias is None else spec.bias
        elif isinstance(spec, _NormSpec):
            for kind, value in spec.arrays.items():
                if value.shape != getattr(layer, kind).shape:
                    raise ShapeError(f"{spec.name} normalises {value.shape[0]} features but the layer before it "
                                     f"has {getattr(layer, kind).shape[0]} outputs")
                getattr(layer, kind)[...] = value
    return net


def _layer(spec):
    """The layerwise layer of one spec (a Dropout is its own spec)."""
    if isinstance(spec, _LinearSpec):
        return Dense(spec.weight.shape[0], activation=spec.activation or "identity")
    if isinstance(spec, _NormSpec):
        return BatchNorm(momentum=spec.momentum, eps=spec.eps, activation=spec.activation or "identity")
    return spec


def _has_float64(spec: _LinearSpec) -> bool:
    return spec.weight.dtype == np.float64 or (spec.bias is not None and spec.bias.dtype == np.float64)
