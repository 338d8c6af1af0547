"""Reading a :class:`~layerwise.inspect.diagnostics.GradientMonitor`'s records: the per-layer series, the
summary table, the figure, and the JSON-compatible round trip (``diagnostics.json``)."""

from __future__ import annotations

import math
import os
from typing import TYPE_CHECKING

import numpy as np

from ..errors import ConfigError, DataError
from .detectors import Finding, Thresholds

if TYPE_CHECKING:
    from .diagnostics import GradientMonitor

FIELDS = ("grad_norm_W", "grad_norm_b", "weight_norm", "update_ratio", "z_mean", "z_std", "a_mean", "a_std",
          "dead_fraction", "saturated_fraction", "dz_norm", "backward_gain")
"""The per-layer quantities of a record."""

_FORMAT, _VERSION = "layerwise-diagnostics", 2  # 2: layers carry their number l and type (1: Dense 1..L)


class MonitorReport:
    """The reading and serialising part of :class:`~layerwise.inspect.diagnostics.GradientMonitor` (a base
    class of it)."""

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
            kinds = sorted({f.kind for f in self.findings if f.layer == layer["l"]})
            rows.append([str(layer["l"]), layer["activation"], str(layer["units"]), _sci(last["grad_norm_W"][i]),
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
        names = [f"layer {layer['l']} ({layer['activation']})" for layer in self.layers]
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
            monitor.layers = [{"l": int(x.get("l", i + 1)), "type": str(x.get("type", "Dense")),
                               "units": int(x["units"]), "activation": str(x["activation"])}
                              for i, x in enumerate(data["layers"])]
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
