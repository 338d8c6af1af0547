"""The checks a model file must pass before a network is built from it (the config against the tensor table,
class labels, finite values); see :mod:`layerwise.io.model_file`. The document's own checks are in
:mod:`.model_document`."""

from __future__ import annotations

import math

import numpy as np

from ..engine.layout import example_shape
from ..engine.network import Network
from ..errors import ConfigError, LayerwiseError, ModelFileError
from ..limits import require_memory
from .model_document import _PARAMETER_NAME
from .safetensors_header import Header


def _network_for(path, config: dict, header: Header) -> Network:
    """Check the config against the tensor table and the memory available, then build the network.

    The expected parameter names and shapes come from the layers themselves
    (:meth:`Network.parameter_shapes`), so nothing of the network's size is
    allocated before the file is known to hold it.
    """
    input_dim = config.get("input_dim")
    if input_dim is None:
        raise ModelFileError(f"{path} is corrupt: its config has no input_dim, so the network cannot be built")
    if isinstance(input_dim, bool) or not isinstance(input_dim, int) or input_dim < 1:
        raise ModelFileError(f"{path} has an invalid network config: input_dim must be a positive integer, "
                             f"received {repr(input_dim)[:80]}")
    example = config.get("input_shape") or input_dim  # (C, H, W) for images, written since format 2
    try:
        net = Network.from_config({**config, "input_dim": None, "input_shape": None})
        if math.prod(example_shape(example)) != input_dim:
            raise ConfigError(f"input_shape {example} does not hold input_dim={input_dim} values")
    except LayerwiseError as exc:
        raise ModelFileError(f"{path} has an invalid network config: {exc}") from None
    except (KeyError, TypeError, ValueError, AttributeError, RecursionError) as exc:
        raise ModelFileError(f"{path} has an invalid network config: {type(exc).__name__}: {exc}") from None
    try:
        expected = net.parameter_shapes(example)
    except LayerwiseError as exc:
        raise ModelFileError(f"{path} has an invalid network config: {exc}") from None
    problem = _classes_problem(config.get("classes"), net, net.output.output_shape[0])
    if problem:
        raise ModelFileError(f"{path} has an invalid network config: {problem}")
    layout = f"the config describes a network of {net._describe(example)}, with parameters {_names(expected)}"
    missing = sorted(expected.keys() - header.tensors.keys(), key=_parameter_order)
    if missing:
        raise ModelFileError(f"{path} is missing parameter tensor(s) {_names(missing)}; {layout}")
    unexpected = sorted((name for name in header.tensors if _PARAMETER_NAME.fullmatch(name)
                         and name not in expected), key=_parameter_order)
    if unexpected:
        raise ModelFileError(f"{path} has unexpected parameter tensor(s) {_names(unexpected)}; {layout}")
    for name, shape in expected.items():
        entry = header.tensors[name]
        if entry.shape != shape:
            raise ModelFileError(f"{path}: {name} has shape {entry.shape} in the file, the config expects {shape}")
        if entry.dtype_name != net.dtype.name:
            raise ModelFileError(f"{path}: {name} is {entry.dtype_name} in the file, the config expects "
                                 f"{net.dtype}")
    others = sum(entry.stop - entry.start for name, entry in header.tensors.items() if name not in expected)
    require_memory(net.memory_needed(example) + others,
                   f"loading {path} (a network of {net._describe(example)} with "
                   f"{sum(math.prod(shape) for shape in expected.values())} {net.dtype.name} parameters and their "
                   f"gradients, plus {others} bytes of other tensors)")
    net.build(example, initialize=False)  # every parameter and state tensor is read from the file next
    return net


def _names(names) -> str:
    names = list(names)
    return ", ".join(names) if len(names) <= 8 else ", ".join(names[:8]) + f" and {len(names) - 8} more"


def _check_finite(path, net: Network) -> None:
    if np.isfinite(net.theta).all() and np.isfinite(net.state).all():
        return
    for name, value in net.table.tensors.items():
        bad = int((~np.isfinite(value)).sum())
        if bad:
            raise ModelFileError(f"{path}: {name} contains {bad} NaN or infinite value(s); the file is corrupt "
                                 f"or was written from a diverged network")


def _parameter_order(name: str) -> tuple[int, str]:
    """Sort key putting W1, b1, W2, ..., W10, b10 in layer order."""
    kind, number = _PARAMETER_NAME.fullmatch(name).groups()
    return int(number), kind


def _classes_problem(classes, net: Network, n_outputs: int) -> str | None:
    """Say why ``classes`` cannot label the ``n_outputs`` outputs of ``net`` (by its loss), or return None."""
    if classes is None:
        return None
    if not isinstance(classes, list) or not classes:
        return f"classes must be a non-empty list of labels, received {classes!r}"
    n_classes = net.loss_fn.n_classes(n_outputs)
    if n_classes is not None and len(classes) != n_classes:
        return (f"{len(classes)} class label(s) for a {net.output.activation.name} output layer of {n_outputs} "
                f"unit(s) under {net.loss_fn.name}, which tells {n_classes} classes apart")
    return None
