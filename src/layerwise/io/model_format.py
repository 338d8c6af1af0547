"""The model file's format: its names and versions, and the checks a file must pass before a network is built
from it (the document, the config against the tensor table, class labels); see :mod:`layerwise.io.model_file`."""

from __future__ import annotations

import math
import re

import numpy as np

from ..engine.layout import example_shape
from ..engine.network import Network
from ..errors import ConfigError, LayerwiseError, ModelFileError
from ..limits import require_memory
from .safetensors_file import (
    Header,
    parse_json,
)

FORMAT = "layerwise"

FORMAT_VERSION = 2
"""The newest format this version reads and writes."""

DENSE_FORMAT_VERSION = 1
"""The format of files of Dense and Dropout layers without preprocessing (readable by layerwise 0.1.0)."""

METADATA_KEY = "layerwise"

DIGEST_KEY = "tensors_sha256"

_PARAMETER_NAME = re.compile(r"(W|b|gamma|beta|running_mean|running_var)([0-9]+)")

_TENSOR_DTYPES = ("bool", "int8", "uint8", "int16", "uint16", "int32", "uint32", "int64", "uint64",
                  "float16", "float32", "float64")

_DIGEST = re.compile(r"[0-9a-f]{64}")


def _parse_document(path, header: Header) -> dict:
    """Return the validated layerwise JSON document from the safetensors metadata."""
    metadata = header.metadata
    if METADATA_KEY not in metadata:
        names = ", ".join(sorted(header.tensors)[:20]) or "none"
        raise ModelFileError(f"{path} is a safetensors file but not a layerwise model file: its metadata has no "
                             f"{METADATA_KEY!r} entry (tensors in the file: {names})")
    document = parse_json(metadata[METADATA_KEY], f"{path}'s {METADATA_KEY!r} metadata",
                          f"{path} is corrupt: its {METADATA_KEY!r} metadata is not valid JSON")
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        found = document.get("format") if isinstance(document, dict) else type(document).__name__
        raise ModelFileError(f"{path} is not a layerwise model file: its metadata format is {found!r}, "
                             f"expected {FORMAT!r}")
    version = document.get("format_version")
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise ModelFileError(f"{path} is corrupt: format_version must be a positive integer, received {version!r}")
    if version > FORMAT_VERSION:
        raise ModelFileError(
            f"{path} was written by a newer layerwise (format {version}, layerwise "
            f"{document.get('library_version', 'unknown')}); this version reads format {FORMAT_VERSION}; "
            f"upgrade layerwise"
        )
    for key, kind in (("library_version", str), ("config", dict), ("extra", dict)):
        if not isinstance(document.get(key), kind):
            raise ModelFileError(f"{path} is corrupt: its metadata entry {key!r} must be a {kind.__name__}, "
                                 f"received {type(document.get(key)).__name__}")
    digest = document.get(DIGEST_KEY)
    if digest is not None and not (isinstance(digest, str) and _DIGEST.fullmatch(digest)):
        raise ModelFileError(f"{path} is corrupt: its {DIGEST_KEY!r} must be 64 lowercase hexadecimal digits, "
                             f"received {str(digest)[:80]!r}")
    return document


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
        if entry.dtype != net.dtype:
            raise ModelFileError(f"{path}: {name} is {entry.dtype} in the file, the config expects {net.dtype}")
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
