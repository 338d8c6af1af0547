"""Callbacks: hooks into the training loop.

A callback is any object with some of the methods below; each receives the
network and a ``logs`` dict (the running or final metrics). A callback stops
training by setting ``net.stop_training = True``.

* ``on_train_begin(net, logs)``
* ``on_epoch_begin(net, epoch, logs)``
* ``on_batch_end(net, batch, logs)``: ``logs`` holds the batch ``loss`` and ``size``, and
  the batch's forward ``cache`` and backward ``grads`` (``dZ<l>``, ``dA<l>``; the
  parameter gradients are ``net.grad_views``). These arrays are reused for the
  next batch: copy what you keep.
* ``on_epoch_end(net, epoch, logs)`` (``loss``, ``val_loss``, ``accuracy``, ... of the epoch)
* ``on_train_end(net, logs)``
"""

from __future__ import annotations

import math
import sys

import numpy as np

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
        if not isinstance(patience, int) or patience < 0:
            raise ConfigError(f"EarlyStopping patience must be a non-negative integer, received {patience!r}")
        if min_delta < 0:
            raise ConfigError(f"EarlyStopping min_delta must be non-negative, received {min_delta!r}")
        self.monitor, self.patience, self.min_delta = monitor, patience, float(min_delta)
        self.mode = ("max" if "acc" in monitor or monitor.endswith("r2") else "min") if mode == "auto" else mode
        self.restore_best_weights = restore_best_weights

    def on_train_begin(self, net, logs):
        self.best = math.inf if self.mode == "min" else -math.inf
        self.best_epoch = None
        self.best_theta = None
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
            return
        self.wait += 1
        if self.wait > self.patience:
            self.stopped_epoch = epoch
            net.stop_training = True

    def on_train_end(self, net, logs):
        if self.restore_best_weights and self.best_theta is not None:
            net.theta[...] = self.best_theta

    def state_dict(self) -> dict:
        """Return the progress so far, for a checkpoint.

        Returns
        -------
        dict
            ``monitor``, ``mode``, ``best``, ``best_epoch``, ``wait`` and
            ``stopped_epoch``, all JSON-compatible (``best`` is a number, or
            the string ``"inf"`` / ``"-inf"`` before any epoch improved, as
            JSON has no infinity), and ``best_theta``, a copy of the best
            parameters or None.
        """
        best = float(self.best)
        return {"monitor": self.monitor, "mode": self.mode, "best": best if math.isfinite(best) else str(best),
                "best_epoch": self.best_epoch, "wait": self.wait, "stopped_epoch": self.stopped_epoch,
                "best_theta": None if self.best_theta is None else self.best_theta.copy()}

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


class ProgressBar(Callback):
    """Report progress: a live bar per epoch on a terminal, one line per epoch otherwise.

    Parameters
    ----------
    epochs : int
        Total epochs, for the "epoch i/n" label.
    steps : int
        Batches per epoch.
    stream : file, default sys.stderr
    live : bool, optional
        Draw a live bar; by default only when ``stream`` is a terminal.
    """

    def __init__(self, epochs: int, steps: int, stream=None, live: bool | None = None):
        self.epochs, self.steps = epochs, steps
        self.stream = stream or sys.stderr
        self.live = self.stream.isatty() if live is None else live
        self.bar = None

    def on_epoch_begin(self, net, epoch, logs):
        if self.live:
            from tqdm.auto import tqdm

            self.bar = tqdm(total=self.steps, desc=f"epoch {epoch + 1}/{self.epochs}", file=self.stream,
                            leave=True, dynamic_ncols=True, mininterval=0.2)
            self.running, self.seen = 0.0, 0

    def on_batch_end(self, net, batch, logs):
        if self.bar is not None:
            self.running += logs["loss"]
            self.seen += 1
            self.bar.update(1)
            if self.seen % 10 == 0 or self.seen == self.steps:
                self.bar.set_postfix(loss=f"{self.running / self.seen:.4f}", refresh=False)

    def on_epoch_end(self, net, epoch, logs):
        text = format_logs(logs)
        if self.bar is not None:
            self.bar.set_postfix_str(text)
            self.bar.close()
            self.bar = None
        else:
            print(f"epoch {epoch + 1}/{self.epochs}  {text}", file=self.stream, flush=True)


def format_logs(logs: dict) -> str:
    """``loss 0.1234  val_loss 0.2345  accuracy 0.9600 ...`` for the numeric entries of ``logs``."""
    parts = []
    for key, value in logs.items():
        if key == "time":
            parts.append(f"{value:.3f}s")
        elif key == "lr":
            parts.append(f"lr {value:.3g}")
        elif isinstance(value, (float, int, np.floating)):
            parts.append(f"{key} {value:.4f}")
    return "  ".join(parts)
