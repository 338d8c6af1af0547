"""Callbacks of ``layerwise train``: the loss in the targets' units, and the line announcing each epoch."""

from __future__ import annotations

from .console import say
from .model import Model


class OriginalUnits:
    """A callback that reports the losses of a regression on standardised targets in the targets' own units.

    Training minimises the loss of the standardised targets ``(y - mean) / scale``; for one output,
    ``mse`` in the original units is that loss times ``scale**2`` and ``mae`` times ``scale``. The
    callback rescales ``loss`` and ``val_loss`` in each epoch's logs before they are printed, and
    :meth:`convert` does the same to the History (whose checkpointed copy stays as trained).
    """

    def __init__(self, factor: float):
        self.factor = factor

    @classmethod
    def for_model(cls, model: Model):
        """The callback for a model with a target scaler and an mse or mae loss on one output, else None."""
        power = model.net.loss_fn.scale_power
        if model.targets is None or power is None or model.targets.scale.size != 1:
            return None
        return cls(float(model.targets.scale[0]) ** power)

    def on_epoch_end(self, net, epoch, logs) -> None:
        for key in ("loss", "val_loss"):
            if key in logs:
                logs[key] *= self.factor

    def convert(self, history) -> None:
        for key in ("loss", "val_loss"):
            if key in history.history:
                history.history[key] = [value * self.factor for value in history.history[key]]


class Announce:
    """A callback that prints a line when training begins (after a checkpoint has been restored)."""

    def __init__(self, message: str, quiet: bool):
        self.message, self.quiet = message, quiet

    def on_train_begin(self, net, logs) -> None:
        say(self.message, self.quiet)
