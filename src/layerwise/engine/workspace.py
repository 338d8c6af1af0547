"""Workspaces: the per-batch buffers of every layer, allocated once per batch size and reused."""

from __future__ import annotations

import numpy as np


def make_workspace(net, m: int) -> dict:
    """Preallocated buffers for batches of ``m`` examples, all of the network's dtype.

    Every buffer a layer declares (:meth:`Layer.buffers`: ``Z<l>``, ``A<l>``,
    ``dZ<l>``, the ``dA`` it hands back, Dropout's masks, BatchNorm's ``X^<l>``);
    the scratch arrays ``S<l>`` the layers declare, all views of one buffer
    since only one layer runs at a time; ``loss``, shape ``(m, n_L)``, for the
    loss's terms; and, with an L2 penalty, ``decay``, for ``(lambda/m) W`` over
    all the weights.
    """
    ws = {}
    for layer in net.layers:
        for key, shape in layer.buffers(m).items():
            ws[key] = np.empty(shape, dtype=net.dtype)
    scratch_shapes = {layer.S_key: layer.scratch_shape(m) for layer in net.layers
                      if layer.scratch_shape(m) is not None}
    if scratch_shapes:
        scratch = np.empty(max(int(np.prod(shape)) for shape in scratch_shapes.values()), dtype=net.dtype)
        for key, shape in scratch_shapes.items():
            ws[key] = scratch[: int(np.prod(shape))].reshape(shape)
    ws["loss"] = np.empty((m, net.n_outputs), dtype=net.dtype)
    if net.l2:
        ws["decay"] = np.empty(net.n_weights, dtype=net.dtype)
    return ws
