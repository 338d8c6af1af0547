"""Callbacks: hooks into the training loop.

A callback is any object with some of the methods below; each receives the
network and a ``logs`` dict (the running or final metrics). A callback stops
training by setting ``net.stop_training = True``.

* ``on_train_begin(net, logs)``
* ``on_epoch_begin(net, epoch, logs)``
* ``on_batch_end(net, batch, logs)``: ``logs`` holds the batch ``loss`` and ``size``, and
  the batch's forward ``cache`` and backward ``grads`` (``dZ<l>``, ``dA<l>``; the
  parameter gradients are ``net.dtheta``, by name ``net.table.grads``). These arrays are reused for the
  next batch: copy what you keep.
* ``on_epoch_end(net, epoch, logs)`` (``loss``, ``val_loss``, ``accuracy``, ... of the epoch)
* ``on_train_end(net, logs)``
"""

from __future__ import annotations

import math
import sys

import numpy as np

from .._checks import check_range
from ..errors import ConfigError


class Callback:
    """Base class with every hook doing nothing; subclass and override what you need."""

    def on_train_begin(self, net, logs: dict) -> None: ...

    def on_epoch_begin(self, net, epoch: int, logs: dict) -> None: ...

    def on_batch_end(self, net, batch: int, logs: dict) -> None: ...

    def on_epoch_end(self, net, epoch: int, logs: dict) -> None: ...

    def on_train_end(self, net, logs: dict) -> None: ...


class CallbackList(Callback):
    """Calls each hook on every callback in order."""

    def __init__(self, callbacks):
        self.callbacks = list(callbacks)

    def on_train_begin(self, net, logs):
        for callback in self.callbacks:
            getattr(callback, "on_train_begin", _none)(net, logs)

    def on_epoch_begin(self, net, epoch, logs):
        for callback in self.callbacks:
            getattr(callback, "on_epoch_begin", _none)(net, epoch, logs)

    def on_batch_end(self, net, batch, logs):
        for callback in self.callbacks:
            getattr(callback, "on_batch_end", _none)(net, batch, logs)

    def on_epoch_end(self, net, epoch, logs):
        for callback in self.callbacks:
            getattr(callback, "on_epoch_end", _none)(net, epoch, logs)

    def on_train_end(self, net, logs):
        for callback in self.callbacks:
            getattr(callback, "on_train_end", _none)(net, logs)


def _none(*args) -> None:
    return None


class EarlyStopping(Callback):
    """Stop when a monitored quantity has stopped improving.

    Parameters
    ----------
    monitor : str, default "val_loss"
        A key of the epoch logs: ``loss``, ``val_loss``, ``accuracy``, ``val_accuracy``...
    patience : int, default 5
        Epochs without improvement before stopping.
    min_delta : float, default 0
        Smallest change that counts as an improvement.
    mode : {"auto", "min", "max"}, default "auto"
        Whether lower or higher is better; "auto" takes "max" for accuracies.
    restore_best_weights : bool, default True
        Put back the parameters of the best epoch when training stops.

    Notes
    -----
    :meth:`state_dict` and :meth:`load_state_dict` carry the progress (best
    value and epoch, epochs waited, the stopping epoch, the best parameters)
    across a checkpoint, so that a resumed run stops where an uninterrupted
    one would.
    """

    def __init__(self, monitor: str = "val_loss", patience: int = 5, min_delta: float = 0.0,
                 mode: str = "auto", restore_best_weights: bool = True):
        if mode not in ("auto", "min", "max"):
            raise ConfigError(f"EarlyStopping mode must be 'auto', 'min' or 'max', received {mode!r}")
        self.patience = check_range("EarlyStopping patience", patience, 0, integer=True)
        self.min_delta = check_range("EarlyStopping min_delta", min_delta, 0.0)
        self.monitor = monitor
        self.mode = ("max" if "acc" in monitor or monitor.endswith("r2") else "min") if mode == "auto" else mode
        self.restore_best_weights = restore_best_weights

    def on_train_begin(self, net, logs):
        self.best = math.inf if self.mode == "min" else -math.inf
        self.best_epoch = None
        self.best_theta = self.best_state = None
        self.wait = 0
        self.stopped_epoch = None

    def _improved(self, value: float) -> bool:
        if self.mode == "min":
            return value < self.best - self.min_delta
        return value > self.best + self.min_delta

    def on_epoch_end(self, net, epoch, logs):
        if self.monitor not in logs:
            raise ConfigError(
                f"EarlyStopping monitors {self.monitor!r}, which is not logged; available: {', '.join(sorted(logs))}"
            )
        value = logs[self.monitor]
        if self._improved(value):
            self.best, self.best_epoch, self.wait = value, epoch, 0
            if self.restore_best_weights:
                self.best_theta = net.theta.copy()
                self.best_state = net.state.copy() if net.state.size else None
            return
        self.wait += 1
        if self.wait > self.patience:
            self.stopped_epoch = epoch
            net.stop_training = True

    def on_train_end(self, net, logs):
        if self.restore_best_weights and self.best_theta is not None:
            net.theta[...] = self.best_theta
            if self.best_state is not None:  # BatchNorm's running statistics of the best epoch
                net.state[...] = self.best_state

    def summary(self, epochs_run: int) -> str | None:
        """What happened, in one sentence, or None before any epoch improved.

        ``stopped at epoch 10; best epoch 4 (val_loss 0.123); weights restored``, with epochs
        counted from 1 as in the progress lines; ``epochs_run`` is the number of epochs trained.
        """
        if self.best_epoch is None:
            return None
        best = f"best epoch {self.best_epoch + 1} ({self.monitor} {self.best:.4g})"
        ran = (f"stopped at epoch {self.stopped_epoch + 1}" if self.stopped_epoch is not None
               else f"no early stop in {epochs_run} epochs")
        restored = "weights restored" if self.restore_best_weights and self.best_theta is not None else \
            "last weights kept"
        return f"{ran}; {best}; {restored}"

    def state_dict(self) -> dict:
        """Return the progress so far, for a checkpoint.

        Returns
        -------
        dict
            ``monitor``, ``mode``, ``best``, ``best_epoch``, ``wait`` and
            ``stopped_epoch``, all JSON-compatible (``best`` is a number, or
            the string ``"inf"`` / ``"-inf"`` before any epoch improved, as
            JSON has no infinity), ``best_theta``, a copy of the best
            parameters or None, and ``best_state``, the non-trained state
            (BatchNorm's running statistics) of that epoch or None.
        """
        best = float(self.best)
        return {"monitor": self.monitor, "mode": self.mode, "best": best if math.isfinite(best) else str(best),
                "best_epoch": self.best_epoch, "wait": self.wait, "stopped_epoch": self.stopped_epoch,
                "best_theta": None if self.best_theta is None else self.best_theta.copy(),
                "best_state": None if self.best_state is None else self.best_state.copy()}

    def load_state_dict(self, state: dict) -> None:
        """Continue from what :meth:`state_dict` returned; call it after ``on_train_begin``, which resets.

        Parameters
        ----------
        state : dict
            The output of :meth:`state_dict`, possibly read back from JSON.

        Raises
        ------
        ConfigError
            If keys are missing, or the state monitors another quantity or in another mode.
        """
        keys = {"monitor", "mode", "best", "best_epoch", "wait", "stopped_epoch", "best_theta"}
        if not isinstance(state, dict) or not keys <= set(state):
            raise ConfigError(f"early-stopping state must be a dict with keys {', '.join(sorted(keys))}; received "
                              f"{sorted(state) if isinstance(state, dict) else type(state).__name__}")
        if (state["monitor"], state["mode"]) != (self.monitor, self.mode):
            raise ConfigError(f"early-stopping state monitors {state['monitor']!r} (mode {state['mode']!r}), cannot "
                              f"load it into an EarlyStopping monitoring {self.monitor!r} (mode {self.mode!r})")
        self.best = float(state["best"])
        self.best_epoch, self.wait, self.stopped_epoch = state["best_epoch"], state["wait"], state["stopped_epoch"]
        self.best_theta = None if state["best_theta"] is None else np.array(state["best_theta"])
        best_state = state.get("best_state")  # absent from checkpoints of 0.1.0
        self.best_state = None if best_state is None else np.array(best_state)


class ProgressBar(Callback):
    """Report progress: a live bar per epoch on a terminal, then one line per epoch of at most ``width`` columns.

    Parameters
    ----------
    epochs : int
        Total epochs, for the "epoch i/n" label.
    steps : int
        Batches per epoch.
    stream : file, default sys.stderr
    live : bool, optional
        Draw a live bar; by default only when ``stream`` is a terminal.
    stopper : EarlyStopping, optional
        Say at the end of training where it stopped and which epoch was best.
    width : int, default 80
        Longest line written (the terminal's width when narrower); a longer
        epoch line wraps before its validation metrics instead of hiding them.
        The learning rate is shown on the first epoch's line and whenever it
        changes, not repeated while it stays the same.
    """

    def __init__(self, epochs: int, steps: int, stream=None, live: bool | None = None, stopper=None,
                 width: int = 80):
        self.epochs, self.steps = epochs, steps
        self.stream = stream or sys.stderr
        self.live = self.stream.isatty() if live is None else live
        self.stopper, self.width, self.bar, self.ran = stopper, width, None, 0
        self.lr_shown = None

    def on_train_begin(self, net, logs):
        self.lr_shown = None

    def on_epoch_begin(self, net, epoch, logs):
        if self.live:
            import shutil

            from tqdm.auto import tqdm

            width = min(self.width, shutil.get_terminal_size((self.width, 24)).columns)
            self.bar = tqdm(total=self.steps, desc=f"epoch {epoch + 1}/{self.epochs}", file=self.stream,
                            leave=False, ncols=width, mininterval=0.2,
                            bar_format="{desc} {percentage:3.0f}%|{bar}| {n_fmt}/{total_fmt} {elapsed}{postfix}")
            self.running, self.seen = 0.0, 0

    def on_batch_end(self, net, batch, logs):
        if self.bar is not None:
            self.running += logs["loss"]
            self.seen += 1
            self.bar.update(1)
            if self.seen % 10 == 0 or self.seen == self.steps:
                self.bar.set_postfix_str(f"loss {self.running / self.seen:.4g}", refresh=False)

    def on_epoch_end(self, net, epoch, logs):
        if self.bar is not None:
            self.bar.close()
            self.bar = None
        self.ran = epoch + 1
        shown = dict(logs)
        if "lr" in shown and shown["lr"] == self.lr_shown:
            del shown["lr"]
        self.lr_shown = logs.get("lr")
        print("\n".join(epoch_lines(epoch, self.epochs, shown, self.width)), file=self.stream, flush=True)

    def on_train_end(self, net, logs):
        summary = self.stopper.summary(self.ran) if self.stopper is not None else None
        if summary:
            print(summary, file=self.stream, flush=True)


SHORT = {"accuracy": "acc", "val_accuracy": "val_acc"}
"""Abbreviations of the epoch line."""


def epoch_lines(epoch: int, epochs: int, logs: dict, width: int = 80) -> list[str]:
    """``epoch 3/20  loss 0.1234  acc 0.9600  val_loss 0.2345  val_acc 0.9500  lr 0.001``, wrapped at ``width``.

    The time per epoch is left out (it is in the history files); a line longer
    than ``width`` breaks before the validation metrics, then before the learning rate.
    """
    train, val, rest = [f"epoch {epoch + 1}/{epochs}"], [], []
    for key, value in logs.items():
        if key == "time" or not isinstance(value, (float, int, np.floating)):
            continue
        text = f"lr {value:.3g}" if key == "lr" else f"{SHORT.get(key, key)} {value:.4g}"
        (rest if key == "lr" else val if key.startswith("val_") else train).append(text)
    lines = []
    for group in (train, val, rest):
        if not group:
            continue
        joined = "  ".join(group)
        if lines and len(lines[-1]) + 2 + len(joined) <= width:
            lines[-1] += "  " + joined
        else:
            lines.append(joined if not lines else "    " + joined)
    return lines
