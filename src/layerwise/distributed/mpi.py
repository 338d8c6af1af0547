"""Data-parallel training over MPI (mpi4py): every rank trains on its shard of each global batch.

Per global batch of ``m`` examples, rank ``r`` takes the contiguous rows
``lo:hi`` of that batch (sizes differ by at most one) and runs the ordinary
forward and backward passes on them. Its gradient is the (weighted) mean over
its shard; scaled by the shard's share of the batch,

    share_r = m_r / m                 (no example weights)
    share_r = sum_{i in r} w_i / sum_i w_i   (sample and class weights)

the shards' gradients sum to the gradient of the whole batch, which one
``Allreduce`` of the flat buffer ``net.dtheta`` forms on every rank (the loss
terms travel in a second, two-number ``Allreduce``). The L2 penalty belongs to
the batch, not to a shard: it is left out of the shards' passes and added once,
``dW += (lambda/m) W``, after the sum. Every rank then clips and steps alike.

Every rank holds the same generator state (broadcast from rank 0 with the
parameters), so every rank draws the same permutation each epoch; the dropout
masks are drawn for the whole batch, as one process draws them, and each rank
keeps the rows of its shard (:class:`ShardedGenerator`). Hence the arithmetic
is the single process's up to the order of the sums.

An exception on one rank while training would leave the others waiting in the
next collective call forever; :meth:`MPICommunicator.training` and the
exception hook turn it into ``MPI_Abort``, which ends every rank at once.
"""

from __future__ import annotations

import contextlib
import sys
import traceback

import numpy as np

from ..errors import ConfigError, LayerwiseError, TrainingDivergedError
from ..layers import BatchNorm, Dropout

_hook_installed = False


def _mpi():
    try:
        from mpi4py import MPI
    except ImportError:
        raise ConfigError("distributed='mpi' needs mpi4py and an MPI runtime: pip install 'layerwise[mpi]'") from None
    return MPI


class MPICommunicator:
    """The training loop's link to the other ranks of an MPI communicator.

    Parameters
    ----------
    comm : mpi4py.MPI.Comm, optional
        The ranks that train together; ``MPI.COMM_WORLD`` by default.
    """

    def __init__(self, comm=None):
        self.MPI = _mpi()
        self.comm = self.MPI.COMM_WORLD if comm is None else comm
        self.rank, self.size = self.comm.Get_rank(), self.comm.Get_size()
        self.terms = np.zeros(1)
        self.decay = None
        self.rng = None
        if self.size > 1:
            _install_abort_hook(self.comm)

    @property
    def root(self) -> bool:
        """Whether this is rank 0, the rank that prints and writes files."""
        return self.rank == 0

    def shard(self, start: int, stop: int) -> tuple[int, int]:
        """This rank's rows ``lo:hi`` of the global batch ``start:stop``: contiguous, sizes differing by at most 1."""
        base, extra = divmod(stop - start, self.size)
        lo = start + self.rank * base + min(self.rank, extra)
        return lo, lo + base + (self.rank < extra)

    def owned(self, m: int, batch_size: int) -> np.ndarray:
        """A mask of the positions of an epoch's order that fall in this rank's shards."""
        mask = np.zeros(m, dtype=bool)
        for start in range(0, m, batch_size):
            lo, hi = self.shard(start, min(start + batch_size, m))
            mask[lo:hi] = True
        return mask

    @contextlib.contextmanager
    def training(self, net):
        """Broadcast rank 0's parameters and generator, draw dropout masks batch-wide, abort all ranks on a failure.

        A :class:`~layerwise.errors.TrainingDivergedError` is raised normally:
        it is detected from summed values, on every rank at the same batch.
        Any other exception is reported on stderr and ends every rank with
        ``MPI_Abort`` (a lone failing rank would leave the others waiting).
        """
        batch_statistics = [f"{type(layer).__name__} layer {layer.l}" for layer in net.layers
                            if isinstance(layer, BatchNorm)]
        if batch_statistics:  # each rank would normalise by its own shard's statistics: not the one-process result
            raise ConfigError(f"distributed='mpi' cannot train {', '.join(batch_statistics)} yet: its batch "
                              "statistics are not synchronised across ranks; train it in one process")
        original = net.rng
        try:
            self.comm.Bcast(net.theta, root=0)
            original.bit_generator.state = self.comm.bcast(original.bit_generator.state, root=0)
            net.rng = self.rng = ShardedGenerator(original)
            yield self
        except TrainingDivergedError:
            raise
        except BaseException as exc:  # noqa: B036 (every failure must end the other ranks)
            self.abort(exc)
        finally:
            net.rng = original

    def abort(self, exc: BaseException) -> None:
        """Report ``exc`` as this rank's failure and end every rank of the communicator."""
        if not isinstance(exc, LayerwiseError):
            traceback.print_exception(type(exc), exc, exc.__traceback__, file=sys.stderr)
        sys.stderr.write(f"layerwise: error: rank {self.rank} of {self.size} failed while training "
                         f"({type(exc).__name__}: {exc}); stopping every rank\n")
        sys.stderr.flush()
        self.comm.Abort(2 if isinstance(exc, LayerwiseError) else 1)

    def batch_gradient(self, net, local_pass, start: int, stop: int, weights: np.ndarray | None):
        """The loss ``J`` and gradient (in ``net.dtheta``) of the global batch ``start:stop``, on every rank.

        ``local_pass(lo, hi)`` runs forward, loss and backward on rows
        ``lo:hi`` of the epoch's order and returns ``(J, cache, grads)``;
        ``weights`` are the epoch's example weights in that order (or None).
        Returns ``J`` of the whole batch with this rank's ``cache`` and ``grads``.
        """
        m = stop - start
        lo, hi = self.shard(start, stop)
        self.rng.window = (m, lo - start)
        l2, net.l2 = net.l2, 0.0  # the penalty belongs to the whole batch: added once, after the sum
        try:
            if hi > lo:
                J, cache, grads = local_pass(lo, hi)
            else:  # more ranks than examples in this batch: nothing to add, but the masks are still drawn
                J, cache, grads = 0.0, {}, {}
                net.dtheta[...] = 0
                self.rng.skip_masks(net)
        finally:
            net.l2 = l2
            self.rng.window = None
        share, share64 = _shares(net.dtype, weights, start, stop, lo, hi)
        net.dtheta *= share
        self.terms[0] = J * share64
        self.comm.Allreduce(self.MPI.IN_PLACE, net.dtheta)
        self.comm.Allreduce(self.MPI.IN_PLACE, self.terms)
        J = float(self.terms[0])
        if net.l2:
            if self.decay is None or self.decay.size != net.n_weights:
                self.decay = np.empty(net.n_weights, dtype=net.dtype)
            W = net.theta[: net.n_weights]
            net.dtheta[: net.n_weights] += np.multiply(W, net.l2 / m, out=self.decay)  # dW += (lambda/m) W
            J += net.l2 / (2 * m) * float(np.dot(W, W))
        return J, cache, grads

    def sum(self, *values: float) -> tuple[float, ...]:
        """The sums over all ranks of a few numbers, in one ``Allreduce``."""
        buffer = np.array(values, dtype=np.float64)
        self.comm.Allreduce(self.MPI.IN_PLACE, buffer)
        return tuple(float(value) for value in buffer)

    def agree(self, flag: bool) -> bool:
        """Rank 0's value of ``flag`` on every rank (for decisions such as stopping)."""
        return bool(self.comm.bcast(bool(flag), root=0))


def _shares(dtype, weights, start: int, stop: int, lo: int, hi: int) -> tuple:
    """This shard's share of the batch, in the network's dtype (for the gradient) and in float64 (for the loss)."""
    if weights is None:
        return dtype.type((hi - lo) / (stop - start)), (hi - lo) / (stop - start)
    total = weights[start:stop].sum()  # as the single-process backward pass sums the batch's weights
    share = weights[lo:hi].sum() / total if total > 0 else dtype.type(0)
    total64 = np.sum(weights[start:stop], dtype=np.float64)
    share64 = float(np.sum(weights[lo:hi], dtype=np.float64) / total64) if total64 > 0 else 0.0
    return dtype.type(share), share64


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
        rows, width = size
        key = (m, width, np.dtype(dtype).name)
        if key not in self.buffers:
            self.buffers[key] = np.empty((m, width), dtype=dtype)
        full = self.generator.random((m, width), dtype=dtype, out=self.buffers[key])
        part = full[offset: offset + rows]
        if out is None:
            return part.copy()
        out[...] = part
        return out

    def skip_masks(self, net) -> None:
        """Draw, and discard, the batch's dropout masks in the forward pass's order."""
        for layer in net.layers:
            if isinstance(layer, Dropout) and layer.rate > 0:
                self.random((0,) + layer.input_shape, dtype=net.dtype)


def _install_abort_hook(comm) -> None:
    """Make an uncaught exception on any rank end all ranks (instead of leaving them waiting)."""
    global _hook_installed
    if _hook_installed:
        return
    previous = sys.excepthook

    def hook(kind, value, tb):
        previous(kind, value, tb)
        sys.stderr.flush()
        comm.Abort(1)

    sys.excepthook = hook
    _hook_installed = True
