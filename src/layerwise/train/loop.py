"""The training loop: the only place that loops over epochs and batches.

Data path per batch, straight through::

    X_batch -> Network._forward -> loss -> Network._backward -> optimizer.step -> net.theta

Everything the loop touches is allocated once: the shuffled copy of the data
set, and per batch size a workspace holding every ``Z``, ``A``, ``dZ`` and
``dA`` buffer. The optimizer sees the whole network as one flat array
(``{"theta": net.theta}`` and ``{"dtheta": net.dtheta}``), so a step is a
handful of NumPy calls however many layers there are.
"""

from __future__ import annotations

import contextlib
import math
import time

import numpy as np

from .._checks import check_range, positive_int
from ..distributed import get_communicator
from ..engine.workspace import make_workspace
from ..errors import ConfigError, TrainingDivergedError
from ..optim.optimizers import clip_grad_norm, get_optimizer
from ..optim.schedules import Constant, get_schedule
from .callbacks import Callback, CallbackList, EarlyStopping, ProgressBar
from .checkpoint import CheckpointWriter, restore
from .dense_epoch import CompiledEpoch
from .evaluation import _count_matches, _labels, _predict_into, evaluate
from .examples import example_weights, split
from .history import History


def fit(net, X, Y, epochs: int = 10, batch_size: int = 32, optimizer="adam", *, lr: float | None = None,
        schedule=None, validation_data=None, validation_split: float = 0.0, shuffle: bool = True,
        callbacks=None, class_weight=None, sample_weight=None, early_stopping=None, clip_norm: float | None = None,
        l2: float | None = None, checkpoint=None, resume_from=None, diagnostics=False, distributed=None,
        verbose: int = 1) -> History:
    """Train ``net`` by mini-batch backpropagation; see :meth:`layerwise.Network.fit`."""
    comm = get_communicator(distributed)
    root = comm is None or comm.root  # the rank that prints and writes files
    positive_int("epochs", epochs)
    positive_int("batch_size", batch_size)
    if l2 is not None:
        net.l2 = check_range("l2", l2, 0.0)
    X = net.check_X(X)
    Y = net.check_Y(Y, X.shape[0])
    weights = example_weights(net, Y, sample_weight, class_weight)
    if validation_data is not None:
        if not isinstance(validation_data, (tuple, list)) or len(validation_data) != 2:
            raise ConfigError("validation_data must be a tuple (X_val, Y_val)")
        X_val = net.check_X(validation_data[0], "X_val")
        Y_val = net.check_Y(validation_data[1], X_val.shape[0])
    elif validation_split:
        X, Y, weights, X_val, Y_val = split(net, X, Y, weights, validation_split)
    else:
        X_val = Y_val = None

    opt = get_optimizer(optimizer, **({} if lr is None else {"lr": lr}))
    sched = get_schedule(schedule) if schedule is not None else Constant()
    history, start_epoch, stopping_state = History(), 0, None
    if resume_from is not None:
        start_epoch, history, stopping_state = restore(resume_from, net, opt, sched)
        if start_epoch > epochs:
            raise ConfigError(f"the checkpoint {resume_from} has {start_epoch} epochs done, more than the {epochs} "
                              f"asked for in all; give epochs >= {start_epoch} to continue")
        opt.lr = sched.resume(epochs)
    else:
        opt.lr = sched.start(opt.lr, epochs)

    callback_list = list(callbacks or [])
    stopper = next((cb for cb in callback_list if isinstance(cb, EarlyStopping)), None)  # saved in checkpoints
    if early_stopping:
        stopper = early_stopping if isinstance(early_stopping, EarlyStopping) else EarlyStopping(
            monitor="val_loss" if X_val is not None else "loss")
        callback_list.append(stopper)
    if diagnostics and root:  # under MPI rank 0 watches its shards (another rank's shard may be empty)
        from ..inspect.diagnostics import GradientMonitor

        history.diagnostics = diagnostics if isinstance(diagnostics, GradientMonitor) else GradientMonitor()
        callback_list.append(history.diagnostics)
    steps = math.ceil(X.shape[0] / batch_size)
    if verbose and root:
        callback_list.append(ProgressBar(epochs, steps, live=None if verbose == 1 else False, stopper=stopper))
    if checkpoint is not None and root:
        callback_list.append(CheckpointWriter(checkpoint, opt, sched, history, stopper))
    cbs = CallbackList(callback_list)

    net.stop_training = False
    with contextlib.nullcontext() if comm is None else comm.training(net):
        trainer = _Trainer(net, X, Y, weights, batch_size, shuffle, opt, clip_norm, comm)  # net.dtheta as set there
        cbs.on_train_begin(net, {})
        if stopper is not None and stopping_state is not None:
            stopper.load_state_dict(stopping_state)
            if stopper.stopped_epoch is not None:
                start_epoch = epochs  # the run had stopped early: end at once, restoring the best weights
        for epoch in range(start_epoch, epochs):
            cbs.on_epoch_begin(net, epoch, {"lr": opt.lr})
            began = time.perf_counter()
            with np.errstate(over="ignore", invalid="ignore"):  # divergence is detected and reported below
                logs = trainer.run_epoch(epoch, cbs)
            if X_val is not None:
                logs.update(evaluate(net, X_val, Y_val, prefix="val_", comm=comm))
            logs["lr"] = opt.lr
            logs["time"] = time.perf_counter() - began
            history.append(epoch, logs)
            opt.lr = sched.step(logs.get("val_loss", logs["loss"]))
            cbs.on_epoch_end(net, epoch, logs)
            if comm is not None:
                net.stop_training = comm.agree(net.stop_training)  # every rank stops when rank 0 does
            if net.stop_training:
                break
        cbs.on_train_end(net, {})
    return history


STAGE_BYTES = 1 << 21
"""Size of the buffer into which the shuffled inputs are gathered, a stretch of batches at a time."""


class _Trainer:
    """Owns the shuffled data, the per-batch-size workspaces and the epoch loop.

    Every epoch draws a fresh permutation. The targets, example weights and
    labels are gathered in that order whole, once per epoch; the inputs, the
    large array, are gathered a stretch of batches at a time into
    ``X_epoch``, a buffer of about :data:`STAGE_BYTES`, so that a large data
    set is never copied whole and a batch's rows are still in cache when the
    first layer reads them. Batches are views into these buffers.
    """

    def __init__(self, net, X, Y, weights, batch_size, shuffle, optimizer, clip_norm, comm=None):
        self.net, self.X, self.Y, self.weights, self.comm = net, X, Y, weights, comm
        self.batch_size, self.shuffle, self.optimizer, self.clip_norm = batch_size, shuffle, optimizer, clip_norm
        m = X.shape[0]
        self.labels = _labels(net, Y)
        self.order, self.identity = np.arange(m), np.arange(m)
        if shuffle:
            batches_per_stretch = max(1, STAGE_BYTES // (batch_size * X.shape[1] * X.itemsize))
            self.stretch = min(m, batches_per_stretch * batch_size)
            self.X_epoch = np.empty((self.stretch, X.shape[1]), dtype=X.dtype)
        else:
            self.stretch, self.X_epoch = m, X
        self.Y_epoch = np.empty_like(Y) if shuffle else Y
        self.w_epoch = None if weights is None else (np.empty_like(weights) if shuffle else weights)
        self.labels_epoch = None if self.labels is None else (np.empty_like(self.labels) if shuffle else self.labels)
        self.gathered = [(source, target) for source, target in ((Y, self.Y_epoch), (weights, self.w_epoch),
                                                                 (self.labels, self.labels_epoch))
                         if shuffle and source is not None]
        self.predicted = None if self.labels is None else np.empty_like(self.labels)
        self.matches = None if self.labels is None else np.empty(self.labels.shape, dtype=bool)
        self.owned = None if comm is None else comm.owned(m, batch_size)  # the positions this rank trains on
        self.params, self.grads = {"theta": net.theta}, {"dtheta": net.dtheta}
        self.decayed = {"theta": net.n_weights}  # weight decay acts on the weights alone, theta's leading stretch
        stack = None if comm is not None else net._compiled_forward()
        self.fast = stack if stack is not None and stack.trains(weighted=weights is not None) else None
        self.workspaces = {} if self.fast is None else self.fast.workspaces  # the fast path's persist between fits
        self.compiled = None if self.fast is None else CompiledEpoch.of(self)

    def workspace(self, m: int) -> dict:
        """Buffers for a batch of ``m`` examples, allocated on first use and reused."""
        if m not in self.workspaces:
            if self.fast is not None:  # whose workspaces are kept from one fit to the next
                self.fast.make_room()
            self.workspaces[m] = make_workspace(self.net, m)
        return self.workspaces[m]

    def inputs(self, start: int, stop: int) -> np.ndarray:
        """The rows of the batch ``start:stop`` of this epoch's order, gathering the next stretch when due."""
        if not self.shuffle:
            return self.X[start:stop]
        if self.comm is not None:  # a rank's shard of a batch: its rows alone
            rows = self.order[start:stop]
            return np.take(self.X, rows, axis=0, out=self.X_epoch[: rows.shape[0]], mode="clip")
        offset = start % self.stretch
        if offset == 0:
            rows = self.order[start: start + self.stretch]
            np.take(self.X, rows, axis=0, out=self.X_epoch[: rows.shape[0]], mode="clip")  # "clip": unbuffered
        return self.X_epoch[offset: offset + stop - start]

    def run_epoch(self, epoch: int, callbacks) -> dict:
        net, m, size = self.net, self.X.shape[0], self.batch_size
        if self.shuffle:
            np.copyto(self.order, self.identity)  # a fresh permutation each epoch, so a resumed run draws the same one
            net.rng.shuffle(self.order)
        listening = _listens_to_batches(callbacks)
        if self.compiled is not None and self.compiled.takes(listening):
            return self.compiled_epoch(epoch)
        if self.shuffle:
            for source, target in self.gathered:
                np.take(source, self.order, axis=0, out=target, mode="clip")
        total_loss = 0.0
        for batch, start in enumerate(range(0, m, size)):
            stop = min(start + size, m)
            if self.comm is None:
                J, cache, grads = self.gradient(start, stop)
            else:
                J, cache, grads = self.comm.batch_gradient(net, self.gradient, start, stop, self.w_epoch)
            squared_norm = float(np.dot(net.dtheta, net.dtheta))
            if not (math.isfinite(J) and math.isfinite(squared_norm)):
                raise TrainingDivergedError(_divergence(epoch, batch, "loss" if not math.isfinite(J) else "gradient",
                                                        self.optimizer, self.X, self.Y, self.weights))
            if self.clip_norm is not None:
                clip_grad_norm(self.grads, self.clip_norm)
            self.optimizer.step(self.params, self.grads, self.decayed)
            total_loss += J * (stop - start)
            if listening:
                callbacks.on_batch_end(net, batch, {"loss": J, "size": stop - start, "cache": cache, "grads": grads})
        logs = {"loss": total_loss / m}
        if self.labels is not None:
            correct = _count_matches(self.predicted, self.labels_epoch, self.matches, self.owned)
            logs["accuracy"] = (correct if self.comm is None else self.comm.sum(correct)[0]) / m
        return logs

    def compiled_epoch(self, epoch: int) -> dict:
        """The epoch's batches in one compiled call (:mod:`.dense_epoch`), with the logs and the divergence
        error of :meth:`run_epoch`'s loop."""
        m = self.X.shape[0]
        done, total, correct, J = self.compiled.run(self)
        if done < math.ceil(m / self.batch_size):
            raise TrainingDivergedError(_divergence(epoch, done, "gradient" if math.isfinite(J) else "loss",
                                                    self.optimizer, self.X, self.Y, self.weights))
        logs = {"loss": total / m}
        if self.labels is not None:
            logs["accuracy"] = correct / m
        return logs

    def gradient(self, start: int, stop: int) -> tuple[float, dict, dict]:
        """Forward, loss and backward on rows ``start:stop`` of the epoch's order: ``(J, cache, grads)``.

        The gradient lands in ``net.dtheta``; the predictions of the rows in ``predicted``. A small stack of
        Dense layers takes the compiled fast path (:mod:`layerwise.layers.dense_stack`), which computes
        the same equations in one call.
        """
        net = self.net
        Xb, Yb = self.inputs(start, stop), self.Y_epoch[start:stop]
        ws = self.workspace(stop - start)
        if self.fast is not None and Xb.flags.c_contiguous and Yb.flags.c_contiguous:
            J, cache, grads = self.fast.gradient(Xb, Yb, ws)
            AL = cache[net.output.output_key]
        else:
            wb = None if self.w_epoch is None else self.w_epoch[start:stop]
            cache = net._forward(Xb, True, ws)
            AL = cache[net.output.output_key]
            J = net._loss(AL, Yb, wb, ws["loss"])
            grads = net._backward(cache, Yb, wb, ws)
        if self.predicted is not None:
            _predict_into(AL, self.predicted[start:stop])
        return J, cache, grads


LARGE = 1e6
"""Inputs, targets or example weights beyond this magnitude are named as the cause of a divergence."""


def _divergence(epoch: int, batch: int, what: str, optimizer, X, Y, weights) -> str:
    """Why training stopped, with advice that fits the cause.

    A learning rate is only suggested when it can be the cause: not before the
    first update, and not when the training inputs, targets or example weights
    are so large (beyond :data:`LARGE`) that the arithmetic overflows anyway.
    """
    where = (f"training diverged at epoch {epoch + 1}, batch {batch + 1}: the {what} is not finite; the parameters "
             "are those of the last finite step")
    with np.errstate(invalid="ignore"):
        sizes = [(name, float(np.max(np.abs(values)))) for name, values in
                 (("inputs", X), ("targets", Y), ("example weights (class_weight x sample_weight)", weights))
                 if values is not None]
    large = [f"the {name} reach {size:.3g}" for name, size in sizes if not size <= LARGE]
    if large:
        return (f"{where}; {' and '.join(large)}, too large for {X.dtype} arithmetic whatever the learning "
                "rate; scale them down (standardise the features)")
    if optimizer.steps == 0:
        return (f"{where}; this happened before any update, so the learning rate is not the cause; check the "
                "inputs, targets and weights")
    return f"{where}; try a lower learning rate (now {optimizer.lr:g}) or gradient clipping"


def _listens_to_batches(callbacks) -> bool:
    """Whether a callback overrides ``on_batch_end``; if none does, the batch logs are not built."""
    members = getattr(callbacks, "callbacks", None)
    if members is None:
        return True
    return any(getattr(type(cb), "on_batch_end", Callback.on_batch_end) is not Callback.on_batch_end
               for cb in members)
