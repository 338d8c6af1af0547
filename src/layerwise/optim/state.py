"""Optimizer state for files, and gradient clipping: flat arrays of gradients and buffers.

:func:`flatten_state` splits an optimizer's nested :meth:`state_dict` into a
flat ``{key: ndarray}`` (for a safetensors file) and a JSON-compatible
``meta`` that names those keys; :func:`unflatten_state` puts it back together.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

from .._checks import check_range
from ..errors import ConfigError, ModelFileError

TENSOR = "__tensor__"


def clip_grad_norm(grads: Mapping[str, np.ndarray] | Iterable[np.ndarray], max_norm: float) -> float:
    """Scale gradients in place so that their global L2 norm is at most ``max_norm``.

    As ``torch.nn.utils.clip_grad_norm_``: the norm is taken over all arrays
    together; when it exceeds ``max_norm`` every array is multiplied by
    ``max_norm / (norm + 1e-6)``. Pass only parameter gradients (for instance
    ``{"dtheta": net.dtheta}``), not ``dZ`` / ``dA``.

    Returns
    -------
    float
        The global norm before clipping (NaN or inf if a gradient is not finite;
        the arrays are then scaled into NaN too, as in PyTorch).
    """
    max_norm = check_range("clip_grad_norm: max_norm", max_norm, 0.0, low_open=True)
    arrays = list(grads.values()) if isinstance(grads, Mapping) else list(grads)
    total = 0.0
    for g in arrays:
        flat = g.reshape(-1)
        total += float(np.dot(flat, flat))
    norm = math.sqrt(total)
    coef = max_norm / (norm + 1e-6)
    if not coef >= 1.0:
        for g in arrays:
            g *= coef
    return norm


def flatten_state(state: Mapping[str, Any], prefix: str = "") -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """Split a nested state dict into ``(tensors, meta)`` for a safetensors file plus JSON.

    Every array is moved to ``tensors`` under the dotted path of its position,
    ``prefix + "state.theta.exp_avg"``, and replaced in ``meta`` by
    ``{"__tensor__": key}``; everything else is copied as plain JSON values.
    """
    tensors: dict[str, np.ndarray] = {}

    def walk(node, path):
        if isinstance(node, np.ndarray):
            key = prefix + ".".join(path)
            if key in tensors:
                raise ConfigError(f"two state entries flatten to the same key {key!r}; rename the parameters")
            tensors[key] = np.ascontiguousarray(node)
            return {TENSOR: key}
        if isinstance(node, Mapping):
            return {str(k): walk(v, [*path, str(k)]) for k, v in node.items()}
        if isinstance(node, (list, tuple)):
            return [walk(v, [*path, str(i)]) for i, v in enumerate(node)]
        return plain(node)

    return tensors, walk(state, [])


def unflatten_state(tensors: Mapping[str, np.ndarray], meta: Mapping[str, Any]) -> dict[str, Any]:
    """Inverse of :func:`flatten_state`.

    Raises
    ------
    ModelFileError
        If ``meta`` names a tensor that ``tensors`` does not hold.
    """

    def walk(node):
        if isinstance(node, Mapping):
            if set(node) == {TENSOR}:
                key = node[TENSOR]
                if not isinstance(key, str) or key not in tensors:
                    raise ModelFileError(f"saved state refers to tensor {key!r}, which the file does not contain")
                return tensors[key]
            return {k: walk(v) for k, v in node.items()}
        if isinstance(node, list):
            return [walk(v) for v in node]
        return node

    return walk(meta)


def plain(value):
    """A JSON-compatible Python value: NumPy scalars become Python scalars, tuples lists."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, tuple):
        return [plain(v) for v in value]
    return value
