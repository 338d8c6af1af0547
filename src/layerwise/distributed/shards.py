"""What a rank's shard of a global batch needs to compute as one process computes the whole batch.

Two things couple the examples of a batch: the dropout masks, drawn for the
batch in one go from the network's generator (:class:`ShardedGenerator`
draws them all and hands the shard its rows), and BatchNorm's statistics
(:class:`ShardOfBatch` completes its sums across the ranks). A rank with no
rows of a batch still takes part in both (:func:`idle_pass`).
"""

from __future__ import annotations

import numpy as np

from ..layers import BatchNorm


class ShardedGenerator:
    """The network's generator while a rank trains on a shard.

    Outside a batch it is the generator itself. Inside one (``window`` set
    to ``(m, offset)``: the global batch size and the shard's first row in the
    batch), :meth:`random` draws the values for all ``m`` rows, exactly the
    draws of one process, and returns the shard's rows: the dropout masks of
    an example are those a single process gives it.
    """

    def __init__(self, rng: np.random.Generator):
        self.generator = rng
        self.window = None
        self.buffers = {}

    @property
    def bit_generator(self):
        return self.generator.bit_generator

    def __getattr__(self, name):
        if name == "generator":  # not yet set (while being copied)
            raise AttributeError(name)
        return getattr(self.generator, name)

    def random(self, size=None, dtype=np.float64, out=None):
        if self.window is None:
            return self.generator.random(size, dtype=dtype, out=out)
        m, offset = self.window
        rows, example = size[0], tuple(size[1:])  # an example: (n,), or (C, H, W) for images
        key = (m, example, np.dtype(dtype).name)
        if key not in self.buffers:
            self.buffers[key] = np.empty((m,) + example, dtype=dtype)
        full = self.generator.random((m,) + example, dtype=dtype, out=self.buffers[key])
        part = full[offset: offset + rows]
        if out is None:
            return part.copy()
        out[...] = part
        return out


class ShardOfBatch:
    """A BatchNorm's sums over the global batch while this rank holds a shard of it (the layer's ``batch``).

    The methods are :class:`~layerwise.layers.batchnorm.WholeBatch`'s. The
    shard's per-example derivatives are ``m_r / share_r`` times ``dJ/dZ``
    (the shard's loss is normalised by its own ``m_r`` and weights), so its
    ``dgamma``, ``dbeta`` enter the sum weighted by ``share_r``, as in the
    gradient exchange, and the sum, the batch's ``dJ/dgamma``, ``dJ/dbeta``,
    comes back divided by ``share_r``: the batch's values in the shard's scale.
    """

    def __init__(self, communicator):
        self.communicator = communicator

    def size(self, m: int) -> int:
        return self.communicator.batch[0]

    def sum(self, sums: np.ndarray) -> np.ndarray:
        self.communicator.comm.Allreduce(self.communicator.MPI.IN_PLACE, sums)
        return sums

    def gradient(self, grads: np.ndarray) -> np.ndarray:
        share = self.communicator.batch[1]
        grads *= share
        self.communicator.comm.Allreduce(self.communicator.MPI.IN_PLACE, grads)
        if share > 0:
            grads /= share
        else:  # this shard's derivatives are all 0 (no rows, or weights 0): any finite value serves
            grads[...] = 0
        return grads


def idle_pass(net) -> None:
    """A rank with no rows of the batch: what couples the batch, done on no rows.

    The forward pass on an empty batch draws the batch's dropout masks and
    joins every BatchNorm's sums (updating its running statistics as the
    other ranks do); the BatchNorms' backward sums are joined, in the
    backward pass's order, with nothing to add.
    """
    net._forward(np.empty((0,) + net.layers[0].input_shape, dtype=net.dtype), True)
    for layer in reversed(net.layers):
        if isinstance(layer, BatchNorm) and layer.needs_dA_prev:
            layer.batch.gradient(np.zeros((2, layer.features), dtype=net.dtype))
