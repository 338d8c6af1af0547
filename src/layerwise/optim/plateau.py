"""``ReduceOnPlateau``: the learning rate follows the monitored metric, as
``torch.optim.lr_scheduler.ReduceLROnPlateau``."""

from __future__ import annotations

import math

from .._checks import check_range
from ..errors import ConfigError
from .schedule_base import Schedule


class ReduceOnPlateau(Schedule):
    """Divide the rate by ``1 / factor`` when a metric stops improving, as ``ReduceLROnPlateau``.

    An epoch improves on the best metric so far when it is lower than
    ``best * (1 - threshold)`` (mode ``"min"``) or higher than
    ``best * (1 + threshold)`` (mode ``"max"``); with ``threshold_mode="abs"``
    the margin is ``threshold`` itself. After more than ``patience`` epochs
    without improvement the rate becomes ``max(lr * factor, min_lr)`` (changes
    below 1e-8 are ignored) and the next ``cooldown`` epochs are not counted.
    A NaN metric never improves.

    Parameters
    ----------
    mode : {"min", "max"}, default "min"
    factor : float in (0, 1), default 0.1
    patience : int >= 0, default 10
    threshold : float >= 0, default 1e-4
    threshold_mode : {"rel", "abs"}, default "rel"
    cooldown : int >= 0, default 0
    min_lr : float >= 0, default 0
    """

    name = "plateau"
    eps = 1e-8

    def __init__(self, mode: str = "min", factor: float = 0.1, patience: int = 10, threshold: float = 1e-4,
                 threshold_mode: str = "rel", cooldown: int = 0, min_lr: float = 0.0):
        super().__init__()
        if mode not in ("min", "max"):
            raise ConfigError(f"ReduceOnPlateau: mode must be 'min' or 'max', received {mode!r}")
        if threshold_mode not in ("rel", "abs"):
            raise ConfigError(f"ReduceOnPlateau: threshold_mode must be 'rel' or 'abs', received {threshold_mode!r}")
        self.mode, self.threshold_mode = mode, threshold_mode
        self.factor = check_range("ReduceOnPlateau: factor", factor, 0.0, 1.0, low_open=True, high_open=True)
        self.patience = check_range("ReduceOnPlateau: patience", patience, 0, integer=True)
        self.threshold = check_range("ReduceOnPlateau: threshold", threshold, 0.0)
        self.cooldown = check_range("ReduceOnPlateau: cooldown", cooldown, 0, integer=True)
        self.min_lr = check_range("ReduceOnPlateau: min_lr", min_lr, 0.0)
        self._reset(None)

    def _reset(self, epochs):
        self.best: float | None = None
        self.num_bad_epochs = 0
        self.cooldown_counter = 0

    def lr_at(self, epoch: int) -> float:
        """The base rate at epoch 0; later rates depend on the metrics seen, see :meth:`step`."""
        if epoch != 0:
            raise ConfigError("ReduceOnPlateau: the learning rate depends on the metrics; use step(metric)")
        return self.base_lr

    def improves(self, metric: float) -> bool:
        """Whether ``metric`` beats the best value so far by more than the threshold."""
        if math.isnan(metric):
            return False
        sign = 1.0 if self.mode == "min" else -1.0
        if self.best is None:
            return sign * metric < math.inf
        if self.threshold_mode == "rel":
            bar = self.best * (1.0 - sign * self.threshold)
        else:
            bar = self.best - sign * self.threshold
        return sign * metric < sign * bar

    def step(self, metric: float | None = None) -> float:
        """Record the closing epoch's ``metric`` and return the next epoch's learning rate.

        Raises
        ------
        ConfigError
            If no metric is given.
        """
        self._check_started()
        if metric is None:
            raise ConfigError("ReduceOnPlateau: step() needs the monitored metric of the epoch, received None")
        metric = _check_metric(metric)
        self.epoch += 1
        if self.improves(metric):
            self.best = metric
            self.num_bad_epochs = 0
        else:
            self.num_bad_epochs += 1
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.num_bad_epochs = 0
        if self.num_bad_epochs > self.patience:
            reduced = max(self.lr * self.factor, self.min_lr)
            if self.lr - reduced > self.eps:
                self.lr = reduced
            self.cooldown_counter = self.cooldown
            self.num_bad_epochs = 0
        return self.lr

    def _extra_state(self):
        return {"best": self.best, "num_bad_epochs": self.num_bad_epochs, "cooldown_counter": self.cooldown_counter}

    def _load_extra(self, extra):
        owner = "ReduceOnPlateau state"
        best = extra.get("best")
        self.best = None if best is None else check_range(f"{owner}: extra.best", best)
        self.num_bad_epochs = check_range(f"{owner}: extra.num_bad_epochs", extra.get("num_bad_epochs"), 0,
                                          integer=True)
        self.cooldown_counter = check_range(f"{owner}: extra.cooldown_counter", extra.get("cooldown_counter"), 0,
                                             integer=True)


def _check_metric(metric) -> float:
    try:
        return float(metric)
    except (TypeError, ValueError):
        raise ConfigError(f"ReduceOnPlateau: the metric must be a number, received {metric!r}") from None
