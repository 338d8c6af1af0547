"""Gradient diagnostics: where backpropagation goes wrong while a network trains.

:class:`GradientMonitor` is a training callback. Every ``every`` batches it
measures each layer with weights (Dense, Conv2D) on the batch just trained
and appends a record to ``monitor.records``; the rules of :mod:`layerwise.inspect.detectors` turn
the records into warnings, each printed once per kind and layer::

    monitor = GradientMonitor(every=10)
    net.fit(X, y, diagnostics=monitor)        # or diagnostics=True
    print(monitor.table())
    monitor.plot("diagnostics.png")

A record is a dict with ``step`` (batches since training began), ``epoch``,
``batch`` (within the epoch, from 0), ``loss`` (of the batch), and one list
per quantity below whose entry ``i`` belongs to ``monitor.layers[i]``, the
``i``-th layer with weights, numbered ``l`` as the network numbers its layers
(every layer but Dropout takes the next number; ``None`` where a quantity
does not apply). A convolution's units are its filters at every place:

=====================  ==============================================================
``grad_norm_W``        ``||dW_l||`` (Frobenius), the gradient the optimizer used
``grad_norm_b``        ``||db_l||``
``weight_norm``        ``||W_l||`` after the batch's update
``update_ratio``       ``||W_l after - W_l before|| / ||W_l before||`` of the batch's update
``z_mean``, ``z_std``  mean and standard deviation of ``Z_l`` over the batch
``a_mean``, ``a_std``  the same for ``A_l`` (after dropout, as the next layer sees it)
``dead_fraction``      ReLU layers: fraction of units with ``Z <= 0`` on every example
``saturated_fraction`` sigmoid / tanh layers: fraction of units saturated on at least
                       90% of the examples: sigmoid ``A < 0.01`` or ``A > 0.99``
                       (``|Z| > 4.595``), tanh ``|A| > 0.99`` (``|Z| > 2.647``)
``dz_norm``            ``||dZ_l||``, the error signal backpropagated to layer ``l``
``backward_gain``      ``||dZ_l|| / ||dZ_k||``, ``k`` the next layer with weights: how much
                       going back from ``k`` to ``l`` shrinks (< 1) or grows (> 1) that signal
=====================  ==============================================================

**When the update is measured.** The trainer calls ``on_batch_end`` after the
optimizer step, so the weights it sees are already updated. The monitor
therefore copies the weights on the batch *before* each sampled batch (and
at the start of training, for the first one) and, on the sampled batch,
compares them with the updated weights: ``update_ratio`` is exactly that
batch's step. Batches that are neither sampled nor just before one cost one
integer test and one float comparison: the loss of every batch is compared
with ten times the first sampled loss, and a batch above it is sampled at
once (its ``update_ratio`` is ``None``) so that a diverging run is reported
before its loss becomes NaN.

Warnings go to ``stream`` (standard error by default, nothing with
``stream=None``) and are kept in ``monitor.warnings`` (messages) and
``monitor.findings`` (:class:`layerwise.inspect.thresholds.Finding` with kind and
layer). With ``tensorboard_dir`` every recorded quantity is also written as
a TensorBoard scalar (``<quantity>/layer_<l>``, ``l`` the layer's number), through the optional
``tensorboardX`` package.
"""

from __future__ import annotations

import math
import os
import sys

import numpy as np

from .._checks import positive_int
from ..errors import ConfigError
from ..train.callbacks import Callback
from .detectors import Detectors, Finding, Thresholds
from .diagnostics_report import FIELDS, MonitorReport

__all__ = ["FIELDS", "GradientMonitor", "SATURATED_ON", "SATURATION_MARGIN"]

SATURATION_MARGIN = 0.01
"""A sigmoid unit is saturated below ``0.01`` or above ``0.99``; a tanh unit beyond ``|A| > 0.99``."""

SATURATED_ON = 0.9
"""Fraction of a batch's examples on which a unit must be saturated to count as saturated."""

_SATURATING_Z = {
    "sigmoid": math.log((1 - SATURATION_MARGIN) / SATURATION_MARGIN),  # sigmoid(z) > 0.99 <=> z > 4.595
    "tanh": math.atanh(1 - SATURATION_MARGIN),  # tanh(z) > 0.99 <=> z > 2.647
}
_STDERR = object()


class GradientMonitor(MonitorReport, Callback):
    """Watch per-layer gradient health while training; warn about what goes wrong.

    Parameters
    ----------
    every : int, default 10
        Measure every ``every``-th batch (counted across epochs).
    tensorboard_dir : str or path, optional
        Also log every recorded quantity to TensorBoard event files in this
        folder (needs ``pip install "layerwise[tensorboard]"``).
    stream : file or None, default sys.stderr
        Where warnings are printed when they are first found; None keeps
        them silent (they are still collected in :attr:`warnings`).
    thresholds : Thresholds, optional
        Limits of the detectors; see :mod:`layerwise.inspect.detectors`.

    Attributes
    ----------
    records : list of dict
        One record per sampled batch (see the module docstring).
    findings : list of Finding
        Every warning with its kind, layer, epoch and batch.
    epoch_losses : list of float
        Training loss of every epoch (for the plateau rule).
    layers : list of dict
        ``{"l": number, "type": "Dense", "units": n_l, "activation": name}`` per layer with weights
        (``units``: a convolution's filters).
    """

    def __init__(self, every: int = 10, tensorboard_dir: str | os.PathLike | None = None, stream=_STDERR,
                 thresholds: Thresholds | None = None):
        if thresholds is not None and not isinstance(thresholds, Thresholds):
            raise ConfigError(f"thresholds must be a Thresholds instance, received {type(thresholds).__name__}")
        if tensorboard_dir is not None:
            if not isinstance(tensorboard_dir, (str, os.PathLike)):
                raise ConfigError(f"tensorboard_dir must be a path, received {type(tensorboard_dir).__name__}")
            _summary_writer_class()
        self.every = positive_int("GradientMonitor every", every)
        self.tensorboard_dir = None if tensorboard_dir is None else os.fspath(tensorboard_dir)
        self._stream = stream
        self.thresholds = thresholds or Thresholds()
        self.records: list[dict] = []
        self.findings: list[Finding] = []
        self.epoch_losses: list[float] = []
        self.layers: list[dict] = []
        self._step = 0
        self._epoch = 0
        self._lr = None
        self._writer = None
        self._detectors = None
        self._loss_alarm = math.inf

    @property
    def stream(self):
        """The file warnings go to (``sys.stderr`` at the time of printing by default), or None."""
        return sys.stderr if self._stream is _STDERR else self._stream

    @property
    def warnings(self) -> list[str]:
        """The warning messages, in the order they were found."""
        return [finding.message for finding in self.findings]

    # ----------------------------------------------------------------- hooks
    def on_train_begin(self, net, logs):
        watched = _weight_layers(net)
        layers = [{"l": layer.l, "type": type(layer).__name__, "units": layer.output_shape[0],
                   "activation": layer.activation.name} for layer in watched]
        if self.layers and layers != self.layers:
            raise ConfigError(
                f"this GradientMonitor holds records of a network with layers {_describe(self.layers)}, "
                f"received a network with {_describe(layers)}; use a new GradientMonitor"
            )
        self.layers = layers
        self._unchecked_output = watched.index(net.output) if net.shortcut and net.output in watched else None
        self._w_slices = [net.table.layer_slices(layer)[f"W{layer.l}"] for layer in watched]
        self._w_before = net.theta[: net.n_weights].copy()
        self._remember_weights()
        if self._detectors is None:
            warned = [(finding.kind, finding.layer) for finding in self.findings]
            self._detectors = Detectors(self.thresholds, layers, warned)
        if self.tensorboard_dir is not None:
            self._writer = _summary_writer_class()(logdir=self.tensorboard_dir)

    def on_epoch_begin(self, net, epoch, logs):
        self._epoch = epoch
        self._lr = logs.get("lr")

    def on_batch_end(self, net, batch, logs):
        step = self._step
        self._step += 1
        if step % self.every == 0 or logs["loss"] > self._loss_alarm:
            self._sample(net, batch, logs, step)
        if self._step % self.every == 0:
            np.copyto(self._w_before, net.theta[: net.n_weights])
            self._remember_weights()

    def on_epoch_end(self, net, epoch, logs):
        self.epoch_losses.append(float(logs["loss"]))
        self._report(self._detectors.check_epoch(epoch, self.epoch_losses))
        if self._writer is not None:
            self._writer.add_scalar("loss/epoch", float(logs["loss"]), self._step)
            self._writer.flush()

    def on_train_end(self, net, logs):
        self.close()

    def close(self) -> None:
        """Flush and close the TensorBoard writer, if any.

        The end of training calls this; after a run that stopped with an
        exception (such as :class:`~layerwise.errors.TrainingDivergedError`)
        call it yourself.
        """
        if self._writer is not None:
            self._writer.close()
            self._writer = None

    # ------------------------------------------------------------- measuring
    def _remember_weights(self) -> None:
        """Mark the copy in ``_w_before`` as the weights before the next step's update."""
        self._before_step = self._step
        self._before_norms = [_norm(self._w_before[s]) for s in self._w_slices]

    def _sample(self, net, batch: int, logs: dict, step: int) -> None:
        if "cache" not in logs or "grads" not in logs:
            raise ConfigError("GradientMonitor needs the batch's 'cache' and 'grads' in the logs of on_batch_end, "
                              f"received only {', '.join(sorted(logs))}")
        cache, grads, L = logs["cache"], logs["grads"], len(self.layers)
        record = {"step": step, "epoch": self._epoch, "batch": int(batch), "loss": float(logs["loss"])}
        columns = {key: [None] * L for key in FIELDS}
        with np.errstate(all="ignore"):
            if self._before_step == step:
                delta = np.subtract(net.theta[: net.n_weights], self._w_before, out=self._w_before)
                for i, s in enumerate(self._w_slices):
                    if self._before_norms[i] > 0:
                        columns["update_ratio"][i] = _norm(delta[s]) / self._before_norms[i]
                self._before_step = -1
            for i, layer in enumerate(_weight_layers(net)):
                l = layer.l
                Z, A, dZ = (array.reshape(array.shape[0], -1) for array in  # a convolution's units: every
                            (cache[layer.Z_key], cache[layer.output_key], grads[layer.dZ_key]))  # filter at each place
                columns["grad_norm_W"][i] = _norm(net.table.grads[f"dW{l}"])
                columns["grad_norm_b"][i] = _norm(net.table.grads[f"db{l}"])
                columns["weight_norm"][i] = _norm(net.table.params[f"W{l}"])
                columns["z_mean"][i], columns["z_std"][i] = float(Z.mean()), float(Z.std())
                columns["a_mean"][i], columns["a_std"][i] = float(A.mean()), float(A.std())
                columns["dz_norm"][i] = _norm(dZ)
                name = layer.activation.name
                if name == "relu":
                    columns["dead_fraction"][i] = float(np.count_nonzero(Z.max(axis=0) <= 0)) / Z.shape[1]
                elif name in _SATURATING_Z and i != self._unchecked_output:
                    saturated_on = np.count_nonzero(np.abs(Z) > _SATURATING_Z[name], axis=0) / Z.shape[0]
                    columns["saturated_fraction"][i] = np.count_nonzero(saturated_on >= SATURATED_ON) / Z.shape[1]
            for i in range(L - 1):
                columns["backward_gain"][i] = _ratio(columns["dz_norm"][i], columns["dz_norm"][i + 1])
        record.update(columns)
        self.records.append(record)
        if self._writer is not None:
            self._log_scalars(record)
        self._report(self._detectors.check(record, self._lr))
        self._loss_alarm = self._detectors.loss_alarm

    def _report(self, findings: list[Finding]) -> None:
        stream = self.stream
        for finding in findings:
            self.findings.append(finding)
            if stream is not None:
                print(f"layerwise diagnostics: {finding.message}", file=stream, flush=True)
            if self._writer is not None:
                self._writer.add_text(f"warnings/{finding.kind}", finding.message, self._step)
        if findings and self._writer is not None:
            self._writer.flush()

    def _log_scalars(self, record: dict) -> None:
        step = record["step"]
        self._writer.add_scalar("loss/batch", record["loss"], step)
        for key in FIELDS:
            for layer, value in zip(self.layers, record[key]):
                if value is not None:
                    self._writer.add_scalar(f"{key}/layer_{layer['l']}", value, step)

def _summary_writer_class():
    try:
        from tensorboardX import SummaryWriter
    except ImportError:
        raise ConfigError('TensorBoard logging needs the tensorboardX package: pip install "layerwise[tensorboard]"'
                          ) from None
    return SummaryWriter


def _norm(x: np.ndarray) -> float:
    """``||x||`` (Frobenius) as a Python float; finite whenever ``x`` is, even if ``sum(x**2)`` overflows."""
    flat = x.reshape(-1)
    value = float(np.linalg.norm(flat))
    if math.isinf(value) and np.isfinite(flat).all():
        scale = float(np.abs(flat).max())
        value = scale * float(np.linalg.norm(flat / scale))
    return value


def _ratio(a: float, b: float) -> float:
    if b == 0:
        return math.nan if a == 0 else math.inf
    return a / b


def _weight_layers(net) -> list:
    """The layers the monitor watches: those whose parameters are weights ``W`` and biases ``b`` (Dense,
    Conv2D), in order."""
    return [layer for layer in net.layers if [spec.kind for spec in layer.params()] == ["W", "b"]]


def _describe(layers: list[dict]) -> str:
    return "[" + ", ".join(f"{x['l']} {x['type']} {x['units']} {x['activation']}" for x in layers) + "]"
