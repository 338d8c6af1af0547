"""Gradient diagnostics: where backpropagation goes wrong while a network trains.

:class:`GradientMonitor` is a training callback. Every ``every`` batches it
measures each Dense layer ``l`` on the batch just trained and appends a
record to ``monitor.records``; the rules of :mod:`layerwise.detectors` turn
the records into warnings, each printed once per kind and layer::

    monitor = GradientMonitor(every=10)
    net.fit(X, y, diagnostics=monitor)        # or diagnostics=True
    print(monitor.table())
    monitor.plot("diagnostics.png")

A record is a dict with ``step`` (batches since training began), ``epoch``,
``batch`` (within the epoch, from 0), ``loss`` (of the batch), and one list
per quantity below whose entry ``l - 1`` belongs to Dense layer ``l``
(``None`` where a quantity does not apply):

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
``backward_gain``      ``||dZ_l|| / ||dZ_{l+1}||``: how much going back through layer
                       ``l + 1`` shrinks (< 1) or grows (> 1) that signal
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
``monitor.findings`` (:class:`layerwise.detectors.Finding` with kind and
layer). With ``tensorboard_dir`` every recorded quantity is also written as
a TensorBoard scalar (``<quantity>/layer_<l>``), through the optional
``tensorboardX`` package.
"""

from __future__ import annotations

import math
import numbers
import os
import sys

import numpy as np

from ..errors import ConfigError, DataError
from ..train.callbacks import Callback
from .detectors import Detectors, Finding, Thresholds

FIELDS = ("grad_norm_W", "grad_norm_b", "weight_norm", "update_ratio", "z_mean", "z_std", "a_mean", "a_std",
          "dead_fraction", "saturated_fraction", "dz_norm", "backward_gain")
"""The per-layer quantities of a record."""

SATURATION_MARGIN = 0.01
"""A sigmoid unit is saturated below ``0.01`` or above ``0.99``; a tanh unit beyond ``|A| > 0.99``."""

SATURATED_ON = 0.9
"""Fraction of a batch's examples on which a unit must be saturated to count as saturated."""

_SATURATING_Z = {
    "sigmoid": math.log((1 - SATURATION_MARGIN) / SATURATION_MARGIN),  # sigmoid(z) > 0.99 <=> z > 4.595
    "tanh": math.atanh(1 - SATURATION_MARGIN),  # tanh(z) > 0.99 <=> z > 2.647
}
_FORMAT, _VERSION = "layerwise-diagnostics", 1
_STDERR = object()


class GradientMonitor(Callback):
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
        Limits of the detectors; see :mod:`layerwise.detectors`.

    Attributes
    ----------
    records : list of dict
        One record per sampled batch (see the module docstring).
    findings : list of Finding
        Every warning with its kind, layer, epoch and batch.
    epoch_losses : list of float
        Training loss of every epoch (for the plateau rule).
    layers : list of dict
        ``{"units": n_l, "activation": name}`` per Dense layer.
    """

    def __init__(self, every: int = 10, tensorboard_dir: str | os.PathLike | None = None, stream=_STDERR,
                 thresholds: Thresholds | None = None):
        if isinstance(every, bool) or not isinstance(every, numbers.Integral) or every < 1:
            raise ConfigError(f"GradientMonitor every must be a positive integer, received {every!r}")
        if thresholds is not None and not isinstance(thresholds, Thresholds):
            raise ConfigError(f"thresholds must be a Thresholds instance, received {type(thresholds).__name__}")
        if tensorboard_dir is not None:
            if not isinstance(tensorboard_dir, (str, os.PathLike)):
                raise ConfigError(f"tensorboard_dir must be a path, received {type(tensorboard_dir).__name__}")
            _summary_writer_class()
        self.every = int(every)
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
        layers = [{"units": layer.W.shape[0], "activation": layer.activation.name} for layer in watched]
        if self.layers and layers != self.layers:
            raise ConfigError(
                f"this GradientMonitor holds records of a network with Dense layers {_describe(self.layers)}, "
                f"received a network with {_describe(layers)}; use a new GradientMonitor"
            )
        self.layers = layers
        self._output_shortcut = net.shortcut
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
                dW, db, l = layer.dW, layer.db, i + 1
                Z, A, dZ = (array.reshape(array.shape[0], -1) for array in  # a convolution's units: every
                            (cache[layer.Z_key], cache[layer.output_key], grads[layer.dZ_key]))  # filter at each place
                columns["grad_norm_W"][i] = _norm(dW)
                columns["grad_norm_b"][i] = _norm(db)
                columns["weight_norm"][i] = _norm(layer.W)
                columns["z_mean"][i], columns["z_std"][i] = float(Z.mean()), float(Z.std())
                columns["a_mean"][i], columns["a_std"][i] = float(A.mean()), float(A.std())
                columns["dz_norm"][i] = _norm(dZ)
                name = layer.activation.name
                if name == "relu":
                    columns["dead_fraction"][i] = float(np.count_nonzero(Z.max(axis=0) <= 0)) / Z.shape[1]
                elif name in _SATURATING_Z and not (l == L and self._output_shortcut):
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
            for i, value in enumerate(record[key]):
                if value is not None:
                    self._writer.add_scalar(f"{key}/layer_{i + 1}", value, step)

    # --------------------------------------------------------------- reading
    def series(self, key: str) -> np.ndarray:
        """The quantity ``key`` over the sampled batches: shape ``(n_records, L)``, NaN where not applicable."""
        if key not in FIELDS:
            raise ConfigError(f"unknown diagnostics quantity {key!r}; expected one of {', '.join(FIELDS)}")
        return np.array([[np.nan if x is None else x for x in record[key]] for record in self.records],
                        dtype=np.float64).reshape(len(self.records), len(self.layers))

    def table(self) -> str:
        """A per-layer summary: latest and median gradient norms, update ratios, dead and saturated units."""
        if not self.records:
            return "gradient diagnostics: no sampled batches recorded"
        last = self.records[-1]
        n = len(self.records)
        head = (f"gradient diagnostics: {n} sampled batch{'es' if n != 1 else ''} (every {self.every}), latest at "
                f"epoch {last['epoch'] + 1}, batch {last['batch'] + 1}; med = median over all samples")
        columns = ["layer", "activation", "units", "|dW|", "|dW| med", "|W|", "update/|W| med", "dZ gain med",
                   "dead", "saturated", "warnings"]
        medians = {key: _column_medians(self.series(key)) for key in ("grad_norm_W", "update_ratio", "backward_gain")}
        rows = [columns]
        for i, layer in enumerate(self.layers):
            kinds = sorted({f.kind for f in self.findings if f.layer == i + 1})
            rows.append([str(i + 1), layer["activation"], str(layer["units"]), _sci(last["grad_norm_W"][i]),
                         _sci(medians["grad_norm_W"][i]), _sci(last["weight_norm"][i]),
                         _sci(medians["update_ratio"][i]), _sci(medians["backward_gain"][i]),
                         _percent(last["dead_fraction"][i]), _percent(last["saturated_fraction"][i]),
                         ", ".join(kinds) or "-"])
        widths = [max(len(row[j]) for row in rows) for j in range(len(columns))]
        lines = [head]
        for row in rows:
            cells = [cell.ljust(w) if j in (1, len(columns) - 1) else cell.rjust(w)
                     for j, (cell, w) in enumerate(zip(row, widths))]
            lines.append("  ".join(cells).rstrip())
        overall = [f.message for f in self.findings if f.layer is None]
        lines.extend(f"network: {message}" for message in overall)
        return "\n".join(lines)

    def plot(self, path: str | os.PathLike, dpi: int = 100) -> None:
        """Write a PNG: gradient norms and update ratios per layer (log scale), dead and saturated fractions.

        The figure is 9 x 10 inches, so ``dpi=100`` gives 900 x 1000 pixels.
        """
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure

        if not self.records:
            raise DataError("there is nothing to plot: the monitor recorded no sampled batches")
        steps = np.array([record["step"] for record in self.records])
        figure = Figure(figsize=(9, 10))
        FigureCanvasAgg(figure)
        grad_ax, update_ax, unit_ax = figure.subplots(3, 1, sharex=True)
        names = [f"layer {i + 1} ({layer['activation']})" for i, layer in enumerate(self.layers)]
        t = self.thresholds
        _log_lines(grad_ax, steps, self.series("grad_norm_W"), names)
        grad_ax.set_ylabel("||dW||")
        grad_ax.set_title("gradient norm per layer")
        _log_lines(update_ax, steps, self.series("update_ratio"), names)
        for level, style in ((t.update_high, "--"), (1e-3, ":"), (t.update_low, "--")):
            update_ax.axhline(level, color="grey", linestyle=style, linewidth=0.8)
        update_ax.set_ylabel("||update|| / ||W||")
        update_ax.set_title("update-to-weight ratio (dotted: 1e-3; dashed: warning thresholds)")
        for key, style, label in (("dead_fraction", "-", "dead"), ("saturated_fraction", "--", "saturated")):
            values = self.series(key)
            for i, name in enumerate(names):
                if np.isfinite(values[:, i]).any():
                    unit_ax.plot(steps, values[:, i], style, color=f"C{i % 10}", label=f"{label}: {name}")
        unit_ax.axhline(max(t.dead, t.saturated), color="grey", linestyle=":", linewidth=0.8)
        unit_ax.set_ylim(-0.02, 1.02)
        unit_ax.set_ylabel("fraction of units")
        unit_ax.set_title("dead ReLU (solid) and saturated sigmoid/tanh (dashed) units")
        unit_ax.set_xlabel("training step (batches)")
        for ax in (grad_ax, update_ax, unit_ax):
            if ax.get_legend_handles_labels()[0]:
                ax.legend(fontsize="small", loc="best")
            ax.grid(True, alpha=0.3)
        figure.tight_layout()
        from .plots import save_figure

        save_figure(figure, path, dpi)

    # --------------------------------------------------------- serialisation
    def to_dict(self) -> dict:
        """A JSON-compatible copy of everything recorded (non-finite numbers as ``"nan"``, ``"inf"``, ``"-inf"``)."""
        return {
            "format": _FORMAT,
            "version": _VERSION,
            "every": self.every,
            "thresholds": self.thresholds.to_dict(),
            "layers": [dict(layer) for layer in self.layers],
            "epoch_losses": [_encode(x) for x in self.epoch_losses],
            "records": [{key: [_encode(x) for x in value] if isinstance(value, list) else _encode(value)
                         for key, value in record.items()} for record in self.records],
            "findings": [finding.to_dict() for finding in self.findings],
        }

    @classmethod
    def from_dict(cls, data: dict, stream=None) -> GradientMonitor:
        """Rebuild a monitor from :meth:`to_dict` output (to print its table or plot it again)."""
        if not isinstance(data, dict) or data.get("format") != _FORMAT:
            received = data.get("format") if isinstance(data, dict) else type(data).__name__
            raise DataError(f"expected layerwise diagnostics data (format {_FORMAT!r}), received {received!r}")
        if not isinstance(data.get("version"), int) or data["version"] > _VERSION:
            raise DataError(f"diagnostics data version {data.get('version')!r} is not supported; this layerwise "
                            f"reads version {_VERSION} and older")
        try:
            monitor = cls(every=data["every"], stream=stream, thresholds=Thresholds.from_dict(data["thresholds"]))
            monitor.layers = [{"units": int(x["units"]), "activation": str(x["activation"])} for x in data["layers"]]
            monitor.epoch_losses = [_decode(x) for x in data["epoch_losses"]]
            monitor.records = [{key: [_decode(x) for x in value] if isinstance(value, list) else _decode(value)
                                for key, value in record.items()} for record in data["records"]]
            monitor.findings = [Finding(**finding) for finding in data["findings"]]
        except (KeyError, TypeError, ValueError) as exc:
            raise DataError(f"diagnostics data is incomplete or malformed: {type(exc).__name__}: {exc}") from None
        L = len(monitor.layers)
        for record in monitor.records:
            if any(len(record.get(key, ())) != L for key in FIELDS):
                raise DataError(f"diagnostics record at step {record.get('step')!r} does not hold {L} value(s) for "
                                f"each of {', '.join(FIELDS)}")
        if monitor.records:
            monitor._step = monitor.records[-1]["step"] + 1
        return monitor


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


def _log_lines(ax, steps: np.ndarray, values: np.ndarray, names: list[str]) -> None:
    """One line per layer on a log scale; values that are 0, NaN or inf are left out."""
    shown = np.where(np.isfinite(values) & (values > 0), values, np.nan)
    for i, name in enumerate(names):
        if np.isfinite(shown[:, i]).any():
            ax.plot(steps, shown[:, i], color=f"C{i % 10}", label=name)
    ax.set_yscale("log")


def _column_medians(values: np.ndarray) -> list[float]:
    """Median of each column over its finite entries; NaN for a column without any."""
    return [float(np.median(column[np.isfinite(column)])) if np.isfinite(column).any() else math.nan
            for column in values.T]


def _ratio(a: float, b: float) -> float:
    if b == 0:
        return math.nan if a == 0 else math.inf
    return a / b


def _weight_layers(net) -> list:
    """The layers the monitor watches: those with weights ``W`` and biases ``b`` (Dense), in order."""
    return [layer for layer in net.layers if [spec.kind for spec in layer.params()] == ["W", "b"]]


def _describe(layers: list[dict]) -> str:
    return "[" + ", ".join(f"{x['units']} {x['activation']}" for x in layers) + "]"


def _sci(value) -> str:
    return "-" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.2e}"


def _percent(value) -> str:
    return "-" if value is None else f"{value:.0%}"


def _encode(value):
    if isinstance(value, float) and not math.isfinite(value):
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")
    return value


def _decode(value):
    if isinstance(value, str):
        if value not in ("nan", "inf", "-inf"):
            raise ValueError(f"expected a number, None, 'nan', 'inf' or '-inf', received {value!r}")
        return float(value)
    return value
