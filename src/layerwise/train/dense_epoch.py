"""The epoch of a small Dense stack trained with Adam, in one compiled call, when nothing watches its batches.

On the digits' 64-64-10 at batch 32 a batch's compiled forward and backward
(:func:`layerwise.layers.dense_stack.dense_stack_pass`) and its Adam step
(:func:`layerwise.optim.kernels.adam`) take about 28 µs, and the Python of the
batch loop around them (the rows gathered, the checks, the optimizer's frames,
the accuracy count) as long again. :func:`dense_stack_batches` runs the loop
itself compiled, calling the same two kernels: per batch, the rows of the
epoch's order gathered, the forward and backward pass, the check that the
loss and the gradient are finite, one Adam step per part of ``theta``, the
loss summed and the predictions counted, exactly the batch loop of
:class:`layerwise.train.loop._Trainer`, whose readable form stays the
reference (the tests compare the two, epoch by epoch).

:class:`CompiledEpoch` takes it when the trainer's batches take the Dense
stack's fast path, the optimizer is :class:`~layerwise.optim.Adam` or
:class:`~layerwise.optim.AdamW` with its fused step, there is no gradient
clipping, and no callback overrides ``on_batch_end`` (a progress bar does, so
``fit(verbose=0)`` takes it and the live bar does not).
"""

from __future__ import annotations

import numpy as np

from .._compile import compiled
from ..layers.dense_stack import A, dense_stack_pass
from ..optim import kernels as fused
from ..optim.adam import Adam
from ..optim.kernels import adam

ARGMAX, THRESHOLD, NO_LABELS = range(3)
"""How the kernel counts correct predictions: the class of the largest output, each output over 0.5, none."""


@compiled(calls=(dense_stack_pass, adam))
def dense_stack_batches(X, Y, labels, counting, order, first, size, count, Xb, Yb, theta, dtheta, buffer, S,
                        layout, output, scale, tiny, exp_avg, exp_avg_sq, max_exp_avg_sq, bounds, h, amsgrad):
    """Train ``count`` batches of ``size`` rows, the rows ``order[first:first + count * size]``; return
    ``(batches done, sum of size * J, correct predictions, the last J)``. A batch whose loss or gradient is not
    finite stops the loop before its step: then the batches done are fewer than ``count``."""
    total, correct, J = 0.0, 0, 0.0
    L, n_out = layout.shape[0], Yb.shape[1]
    for k in range(count):
        start = first + k * size
        for i in range(size):
            Xb[i, :] = X[order[start + i]]
            Yb[i, :] = Y[order[start + i]]
        J = dense_stack_pass(Xb, Yb, theta, dtheta, buffer, S, layout, output, scale, tiny, True)
        if not (np.isfinite(J) and np.isfinite(np.dot(dtheta, dtheta))):
            return k, total, correct, J
        for part in range(bounds.size - 1):
            lo, hi = bounds[part], bounds[part + 1]  # max_exp_avg_sq is empty without AMSGrad, and so its slice
            adam(theta[lo:hi], dtheta[lo:hi], exp_avg[lo:hi], exp_avg_sq[lo:hi], max_exp_avg_sq[lo:hi], h[k, part],
                 amsgrad)
        total += float(J) * size
        AL = buffer[layout[L - 1, A]: layout[L - 1, A] + size * n_out].reshape((size, n_out))
        for i in range(size):
            row = order[start + i]
            if counting == ARGMAX:
                best = 0
                for j in range(1, n_out):
                    if AL[i, j] > AL[i, best]:
                        best = j
                correct += best == labels[row, 0]
            elif counting == THRESHOLD:
                hit = True
                for j in range(n_out):
                    hit = hit and (AL[i, j] > 0.5) == labels[row, j]
                correct += hit
    return count, total, correct, J


class CompiledEpoch:
    """How one trainer's epochs run compiled, from :meth:`of` (None when the trainer is not one it covers).

    It keeps the labels in the form the kernel counts them, not the trainer: :meth:`run` is given it, so that
    the trainer, which holds this, is freed with its data as soon as ``fit`` returns.
    """

    def __init__(self, labels: np.ndarray | None):
        if labels is None:
            self.counting, self.labels = NO_LABELS, np.zeros((0, 1), dtype=np.int64)
        else:
            self.counting = ARGMAX if labels.ndim == 1 else THRESHOLD
            self.labels = labels.reshape(labels.shape[0], -1)

    @classmethod
    def of(cls, trainer) -> CompiledEpoch | None:
        """The compiled epochs of ``trainer``, or None (see the module docstring)."""
        covered = (trainer.fast is not None and trainer.clip_norm is None and isinstance(trainer.optimizer, Adam)
                   and trainer.X.flags.c_contiguous and trainer.Y.flags.c_contiguous)
        return cls(trainer.labels) if covered else None

    @staticmethod
    def takes(listening: bool) -> bool:
        """Whether this epoch runs compiled: no callback watches the batches, and the fused steps are on."""
        return not listening and fused.ENABLED

    def run(self, trainer) -> tuple[int, float, int, float]:
        """Train the epoch in ``trainer``'s order: ``(batches done, sum of m_batch * J, correct predictions, the
        last batch's J)``; the batches done are fewer than the epoch's when one diverged (the next one, not
        stepped: its J and gradient are the last computed)."""
        net, fast, optimizer = trainer.net, trainer.fast, trainer.optimizer
        m, size = trainer.X.shape[0], trainer.batch_size
        full, rest = divmod(m, size)
        done, total, correct, J = 0, 0.0, 0, 0.0
        for first, rows, count in ((0, size, full), (full * size, rest, 1 if rest else 0)):
            if not count:
                continue
            ws = trainer.workspace(rows)
            (buffer, S, layout), _, _ = fast.bind(ws)
            if "X_gathered" not in ws:  # the rows of a batch, gathered
                ws["X_gathered"] = np.empty((rows, trainer.X.shape[1]), net.dtype)
                ws["Y_gathered"] = np.empty((rows, trainer.Y.shape[1]), net.dtype)
            ran, batch_total, batch_correct, J = dense_stack_batches(
                trainer.X, trainer.Y, self.labels, self.counting, trainer.order, first, rows, count,
                ws["X_gathered"], ws["Y_gathered"], net.theta, net.dtheta, buffer, S, layout, fast.output_code,
                fast.one.dtype.type(1 / rows), fast.tiny, *optimizer.fused_steps("theta", net.theta,
                                                                                  trainer.decayed, count),
                optimizer.amsgrad)
            optimizer.steps += ran
            done, total, correct = done + ran, total + batch_total, correct + batch_correct
            if ran < count:
                break
        return done, total, correct, J
