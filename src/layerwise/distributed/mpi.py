"""Data-parallel training over MPI (mpi4py): every rank trains on its shard of each global batch.

Per global batch of ``m`` examples, rank ``r`` takes the contiguous rows
``lo:hi`` of that batch (sizes differ by at most one) and runs the ordinary
forward and backward passes on them. Its gradient is the (weighted) mean over
its shard; scaled by the shard's share of the batch,

    share_r = m_r / m                 (no example weights)
    share_r = sum_{i in r} w_i / sum_i w_i   (sample and class weights)

the shards' gradients sum to the gradient of the whole batch, which one
``Allreduce`` forms on every rank: while training, ``net.dtheta`` is the front
of a buffer one slot longer, whose last slot carries the shard's share of the
batch loss, so that gradient and loss travel together, in the network's dtype.
(In float32 the batch loss is thus summed in float32: about 1e-7 relative, the
precision of the float32 loss itself. Every rank receives the same sums, so
schedules and early stopping decide alike on every rank; the validation loss
is summed in float64, once per epoch.) The L2 penalty belongs to the batch,
not to a shard: it is left out of the shards' passes and added once,
``dW += (lambda/m) W``, after the sum. Every rank then clips and steps alike.

BatchNorm couples the examples of a batch through its mean and variance.
Each BatchNorm's ``batch`` hook (a
:class:`~layerwise.distributed.shards.ShardOfBatch`) completes its sums across
the ranks. Forward: the sums of ``X``, then of ``(X - mu)^2`` about the
batch's mean (two ``Allreduce`` calls; the one-process two-pass formula,
where the one-pass ``sum X^2 - N mu^2`` would cancel catastrophically when
``|mu| >> sigma``, in float32 above all). Backward: its ``dgamma`` and
``dbeta`` (one ``Allreduce``, which a BatchNorm with no parameters below it
skips). Every rank normalises by the batch's statistics and updates its
running statistics with the batch's ``N``, as one process does.

Every rank holds the same generator state (broadcast from rank 0 with the
parameters), so every rank draws the same permutation each epoch; the dropout
masks are drawn for the whole batch, as one process draws them, and each rank
keeps the rows of its shard
(:class:`~layerwise.distributed.shards.ShardedGenerator`). Hence the
arithmetic is the single process's up to the order of the sums.

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
from ..layers import BatchNorm
from .shards import ShardedGenerator, ShardOfBatch, idle_pass

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
        self.exchange = None  # while training: the gradient, then the loss, in one buffer
        self.batch = (0, 1.0)  # the global batch's size and this shard's share of it
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
        """Broadcast rank 0's parameters, state and generator; share out the batch; abort all ranks on a failure.

        While inside, ``net.dtheta`` is the front of the exchange buffer,
        dropout masks are drawn batch-wide and every BatchNorm sums over the
        global batch. A :class:`~layerwise.errors.TrainingDivergedError` is
        raised normally: it is detected from summed values, on every rank at
        the same batch. Any other exception is reported on stderr and ends
        every rank with ``MPI_Abort`` (a lone failing rank would leave the
        others waiting).
        """
        original, gradient = net.rng, net.dtheta
        norms = [layer for layer in net.layers if isinstance(layer, BatchNorm)]
        try:
            self.comm.Bcast(net.theta, root=0)
            self.comm.Bcast(net.state, root=0)
            original.bit_generator.state = self.comm.bcast(original.bit_generator.state, root=0)
            net.rng = self.rng = ShardedGenerator(original)
            self.exchange = np.zeros(gradient.size + 1, dtype=gradient.dtype)
            net.table.use_gradient(self.exchange[:-1])
            net.dtheta = net.table.dtheta
            for layer in norms:
                layer.batch = ShardOfBatch(self)
            yield self
        except TrainingDivergedError:
            raise
        except BaseException as exc:  # noqa: B036 (every failure must end the other ranks)
            self.abort(exc)
        finally:
            net.rng = original
            for layer in norms:
                vars(layer).pop("batch", None)
            if self.exchange is not None:
                gradient[...] = net.dtheta
                net.table.use_gradient(gradient)
                net.dtheta, self.exchange = gradient, None

    def abort(self, exc: BaseException, doing: str = "training") -> None:
        """Report ``exc`` as this rank's failure while ``doing`` and end every rank of the communicator.

        Bad input (a LayerwiseError or OSError) is reported in one line and ends with status 2; any
        other exception with its traceback too, and status 1.
        """
        expected = isinstance(exc, (LayerwiseError, OSError))
        if not expected:
            traceback.print_exception(type(exc), exc, exc.__traceback__, file=sys.stderr)
        sys.stderr.write(f"layerwise: error: rank {self.rank} of {self.size} failed while {doing} "
                         f"({type(exc).__name__}: {exc}); stopping every rank\n")
        sys.stderr.flush()
        self.comm.Abort(2 if expected else 1)

    def batch_gradient(self, net, local_pass, start: int, stop: int, weights: np.ndarray | None):
        """The loss ``J`` and gradient (in ``net.dtheta``) of the global batch ``start:stop``, on every rank.

        ``local_pass(lo, hi)`` runs forward, loss and backward on rows
        ``lo:hi`` of the epoch's order and returns ``(J, cache, grads)``;
        ``weights`` are the epoch's example weights in that order (or None).
        Returns ``J`` of the whole batch with this rank's ``cache`` and ``grads``.
        """
        m = stop - start
        lo, hi = self.shard(start, stop)
        share, share64 = _shares(net.dtype, weights, start, stop, lo, hi)
        self.batch = (m, share)
        self.rng.window = (m, lo - start)
        l2, net.l2 = net.l2, 0.0  # the penalty belongs to the whole batch: added once, after the sum
        try:
            if hi > lo:
                J, cache, grads = local_pass(lo, hi)
            else:  # more ranks than examples in this batch: nothing to add, but join in what couples the batch
                J, cache, grads = 0.0, {}, {}
                net.dtheta[...] = 0
                idle_pass(net)
        finally:
            net.l2 = l2
            self.rng.window = None
        net.dtheta *= share
        self.exchange[-1] = J * share64
        self.comm.Allreduce(self.MPI.IN_PLACE, self.exchange)  # the gradient and the loss, summed
        J = float(self.exchange[-1])
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
