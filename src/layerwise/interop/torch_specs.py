"""What :func:`~layerwise.interop.torch_import.from_torch` reads from torch: the ``Linear`` and ``BatchNorm1d``
layers of a module or a ``state_dict``, with their activations."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from ..engine.checks import check_finite
from ..errors import ConfigError
from ..layers import Dropout
from ..ops.activations import ELU, Activation, LeakyReLU, get_activation
from .torch_export import _torch_exp_module

_SUPPORTED_MODULES = (
    "Linear, BatchNorm1d, ReLU, LeakyReLU, ELU, SELU, GELU (approximate='none'), SiLU, Softplus (beta=1), Tanh, "
    "Sigmoid, Softmax (dim=1), Dropout, Identity and nested Sequential; with input_shape=(C, H, W) also Conv2d, "
    "MaxPool2d, AvgPool2d, Flatten and BatchNorm2d"
)


class _LinearSpec:
    """One ``Linear`` layer read from the source: its name, weights and activation."""

    def __init__(self, name: str, weight: np.ndarray, bias: np.ndarray | None, activation=None):
        self.name, self.weight, self.bias, self.activation = name, weight, bias, activation


class _NormSpec:
    """One ``BatchNorm1d`` read from the source: its parameters, running statistics and activation."""

    def __init__(self, name: str, module, activation=None):
        if not module.affine or not module.track_running_stats or module.momentum is None:
            raise ConfigError(f"module {name} ({module!r}) is not supported: BatchNorm1d needs affine=True, "
                              f"track_running_stats=True and a momentum")
        self.name, self.activation = name, activation
        self.eps, self.momentum = float(module.eps), float(module.momentum)
        self.arrays = {kind: _array(getattr(module, attribute), f"{name}.{attribute}") for kind, attribute in
                       (("gamma", "weight"), ("beta", "bias"), ("running_mean", "running_mean"),
                        ("running_var", "running_var"))}


def _specs_from_module(nn, module) -> list:
    if isinstance(module, nn.Sequential):
        children = list(_flatten(nn, module, ""))
    elif isinstance(module, nn.Linear):
        children = [("0", module)]
    else:
        raise ConfigError(
            f"from_torch expects a torch.nn.Sequential (or a state_dict), received {type(module).__name__}; "
            "for a custom module pass module.state_dict() with activations=[...]"
        )
    specs = []
    for name, child in children:
        if isinstance(child, nn.Identity):
            continue
        if type(child) is nn.Linear:
            bias = None if child.bias is None else _array(child.bias, f"{name}.bias")
            specs.append(_LinearSpec(name, _array(child.weight, f"{name}.weight"), bias))
        elif type(child) is nn.Dropout:
            specs.append(Dropout(float(child.p)))
        elif type(child) is nn.BatchNorm1d:
            specs.append(_NormSpec(name, child))
        else:
            activation = _activation_from_module(nn, child, name)
            previous = specs[-1] if specs else None
            if not isinstance(previous, (_LinearSpec, _NormSpec)) or previous.activation is not None:
                raise ConfigError(
                    f"module {name} ({child!r}) must directly follow a Linear or BatchNorm1d layer: each may be "
                    "followed by one activation, and dropout must come after it"
                )
            previous.activation = activation
    return specs


def _flatten(nn, module, prefix: str):
    """Yield ``(name, module)`` for the leaves of nested ``Sequential`` containers, named as in ``state_dict``."""
    for name, child in module.named_children():
        full = f"{prefix}{name}"
        if isinstance(child, nn.Sequential):
            yield from _flatten(nn, child, f"{full}.")
        else:
            yield full, child


def _activation_from_module(nn, module, name: str) -> Activation | str:
    kind = type(module)
    if kind is _torch_exp_module():
        return "exp"
    plain = {nn.ReLU: "relu", nn.SELU: "selu", nn.SiLU: "silu", nn.Tanh: "tanh", nn.Sigmoid: "sigmoid"}
    if kind in plain:
        return plain[kind]
    if kind is nn.LeakyReLU:
        return LeakyReLU(float(module.negative_slope))
    if kind is nn.ELU:
        return ELU(alpha=float(module.alpha))
    if kind is nn.GELU and module.approximate == "none":
        return "gelu"
    if kind is nn.Softplus and module.beta == 1:
        return "softplus"
    if kind is nn.Softmax and module.dim in (None, 1, -1):
        return "softmax"
    raise ConfigError(f"module {name} ({module!r}) is not supported; supported modules: {_SUPPORTED_MODULES}")


def _specs_from_state_dict(state_dict: Mapping, activations: Sequence | None) -> list:
    groups: dict[str, dict] = {}
    for key, value in state_dict.items():
        prefix, _, leaf = str(key).rpartition(".")
        if leaf not in ("weight", "bias"):
            raise ConfigError(
                f"state_dict entry {key!r} is not a Linear weight or bias; "
                "only state_dicts of Linear layers (keys '<name>.weight', '<name>.bias') can be imported"
            )
        groups.setdefault(prefix, {})[leaf] = _array(value, str(key))
    specs = []
    for prefix, entries in groups.items():
        name = f"{prefix}." if prefix else ""
        if "weight" not in entries:
            raise ConfigError(f"state_dict has {name}bias but no {name}weight")
        specs.append(_LinearSpec(prefix, entries["weight"], entries.get("bias")))
    if not specs:
        raise ConfigError("the state_dict is empty; expected '<name>.weight' and '<name>.bias' entries")
    if activations is None:
        activations = ["relu"] * (len(specs) - 1) + ["identity"]
    if isinstance(activations, (str, Activation)) or not isinstance(activations, Sequence):
        raise ConfigError(f"activations must be a list with one entry per Linear layer, received {activations!r}")
    if len(activations) != len(specs):
        raise ConfigError(
            f"activations must have one entry per Linear layer ({len(specs)}), received {len(activations)}"
        )
    for spec, activation in zip(specs, activations):
        spec.activation = get_activation(activation)
    return specs


def _array(value, key: str) -> np.ndarray:
    """A float32/float64 NumPy copy of a tensor or array; other float types are widened to float32."""
    if hasattr(value, "detach"):
        value = value.detach().cpu()
        if str(value.dtype) not in ("torch.float32", "torch.float64"):
            value = value.float()
        value = value.numpy()
    try:
        array = np.array(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{key} must be a numeric tensor or array, received {type(value).__name__}") from None
    if array.dtype.kind not in "biuf":
        raise ConfigError(f"{key} must be numeric, received dtype {array.dtype}")
    if array.dtype not in (np.float32, np.float64):
        array = array.astype(np.float32)
    check_finite(array, key)
    return array
