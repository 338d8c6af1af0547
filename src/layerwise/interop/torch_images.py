"""Conversion from PyTorch of image networks: ``Conv2d``, pooling, ``Flatten`` and ``BatchNorm2d`` leaves of a
``Sequential`` as protocol layers, weights copied."""

from __future__ import annotations

from ..engine.network import Network
from ..errors import ConfigError, ShapeError
from ..layers import BatchNorm, Dense, Dropout
from .torch_specs import _activation_from_module, _array

_IMAGE_MODULES = ("Conv2d", "MaxPool2d", "AvgPool2d", "Flatten", "BatchNorm2d")


def _image_network(torch, children: list, input_shape, loss, dtype, seed) -> Network:
    """A network of image layers (and Dense, Dropout) from the leaves of a ``Sequential``, weights copied."""
    from ..layers import AvgPool2D, Conv2D, Flatten, MaxPool2D

    nn = torch.nn
    if input_shape is None:
        raise ConfigError("from_torch needs input_shape=(C, H, W) for a Sequential with Conv2d or pooling modules")
    entries = []  # [layer, module or None, activation or None]
    for name, child in children:
        kind = type(child)
        if kind is nn.Identity:
            continue
        if kind is nn.Linear:
            entries.append([Dense, child, None])
        elif kind is nn.Conv2d:
            if child.groups != 1 or tuple(child.dilation) != (1, 1) or child.padding_mode != "zeros" \
                    or child.stride[0] != child.stride[1]:
                raise ConfigError(f"module {name} ({child!r}) is not supported: Conv2d needs groups=1, dilation=1, "
                                  "zero padding and the same stride along both axes")
            entries.append([Conv2D, child, None])
        elif kind in (nn.MaxPool2d, nn.AvgPool2d):
            entries.append([_pool_layer(child, name, MaxPool2D if kind is nn.MaxPool2d else AvgPool2D), None, None])
        elif kind is nn.Flatten:
            if child.start_dim != 1 or child.end_dim != -1:
                raise ConfigError(f"module {name} ({child!r}) is not supported: Flatten must flatten dims 1 to -1")
            entries.append([Flatten(), None, None])
        elif kind in (nn.BatchNorm1d, nn.BatchNorm2d):
            if not child.affine or not child.track_running_stats or child.momentum is None:
                raise ConfigError(f"module {name} ({child!r}) is not supported: BatchNorm needs affine=True, "
                                  "track_running_stats=True and a momentum")
            entries.append([BatchNorm, child, None])
        elif kind is nn.Dropout:
            entries.append([Dropout(float(child.p)), None, None])
        else:
            previous = entries[-1] if entries else None
            if previous is None or previous[1] is None or previous[2] is not None:
                raise ConfigError(f"module {name} ({child!r}) must directly follow a Linear, Conv2d or BatchNorm "
                                  "module, once")
            previous[2] = _activation_from_module(nn, child, name)
    params = [p for _, module, _ in entries if module is not None for p in module.parameters()]
    if dtype is None:
        dtype = "float64" if any(p.dtype == torch.float64 for p in params) else "float32"
    layers = []
    for maker, module, activation in entries:
        activation = activation or "identity"
        if maker is Dense:
            layers.append(Dense(module.out_features, activation=activation))
        elif maker is Conv2D:
            padding = module.padding if isinstance(module.padding, str) else tuple(module.padding)
            layers.append(Conv2D(module.out_channels, tuple(module.kernel_size), stride=module.stride[0],
                                 padding=padding, activation=activation))
        elif maker is BatchNorm:
            layers.append(BatchNorm(momentum=float(module.momentum), eps=float(module.eps), activation=activation))
        else:
            layers.append(maker)
    net = Network(layers, loss=loss, input_shape=tuple(input_shape), seed=seed, dtype=dtype)
    for layer, (_, module, _) in zip(net.layers, entries):
        if module is None:
            continue
        names = {"W": "weight", "b": "bias"} if not isinstance(layer, BatchNorm) else \
            {"gamma": "weight", "beta": "bias", "running_mean": "running_mean", "running_var": "running_var"}
        for kind, attribute in names.items():
            target, value = getattr(layer, kind), getattr(module, attribute)
            if value is None:  # a Linear or Conv2d without bias
                target[...] = 0
                continue
            value = _array(value, f"{type(module).__name__} {attribute}")
            if value.shape != target.shape:
                raise ShapeError(f"{type(module).__name__} {attribute} has shape {value.shape}, but layer {layer.l} "
                                 f"({layer.describe()}) needs {target.shape} for input_shape={tuple(input_shape)}")
            target[...] = value
    return net


def _pool_layer(module, name: str, kind):
    if module.padding not in (0, (0, 0)) or module.ceil_mode or getattr(module, "dilation", 1) not in (1, (1, 1)):
        raise ConfigError(f"module {name} ({module!r}) is not supported: pooling needs padding=0, dilation=1 "
                          "and ceil_mode=False")
    stride = module.stride if isinstance(module.stride, int) else module.stride[0]
    return kind(module.kernel_size if isinstance(module.kernel_size, int) else tuple(module.kernel_size),
                stride=stride)
