"""Learning-rate schedules, stepped once per epoch.

A schedule turns the optimizer's base learning rate into one learning rate per
epoch. The trainer drives it with two calls::

    schedule = get_schedule("cosine", warmup=5)
    optimizer.lr = schedule.start(optimizer.lr, epochs=n_epochs)   # lr of epoch 0
    for epoch in range(n_epochs):
        ...                                                         # train one epoch
        optimizer.lr = schedule.step(val_loss)                      # lr of the next epoch

``step`` takes the monitored metric, which only :class:`ReduceOnPlateau` uses.
A run resumed from a checkpoint restores the schedule with
:meth:`Schedule.load_state_dict` and then calls ``resume(n_epochs)`` with the
total epochs of the resumed run, which may be more than the first run planned:

    optimizer.lr = schedule.resume(n_epochs)                        # lr of the next epoch

Only a schedule whose rates depend on the run's length changes there: a
cosine schedule without its own ``epochs`` anneals over the run, so extending
the run moves its end to the new last epoch (see :class:`CosineAnnealing`).
The values match ``torch.optim.lr_scheduler`` (``StepLR``, ``ExponentialLR``,
``LinearLR`` followed by ``CosineAnnealingLR``, ``ReduceLROnPlateau``).

:meth:`Schedule.state_dict` returns JSON-compatible scalars only::

    {"name": "plateau", "hyper": {...}, "base_lr": 0.01, "lr": 0.001, "epoch": 12, "extra": {...}}

where ``extra`` holds what a schedule tracks beyond the epoch (the resolved
horizon of a cosine schedule; the best metric and counters of a plateau one).
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Mapping
from typing import Any, ClassVar

from .._checks import check_range
from ..errors import ConfigError


class Schedule:
    """Base class of the epoch-wise learning-rate schedules.

    Subclasses define :meth:`lr_at` (closed form in the epoch index) or
    override :meth:`step`; they store hyper-parameters as attributes named like
    their constructor arguments.
    """

    name: ClassVar[str] = "schedule"

    def __init__(self) -> None:
        self.base_lr: float | None = None
        self.lr: float | None = None
        self.epoch = 0

    def start(self, base_lr: float, epochs: int | None = None) -> float:
        """Reset to epoch 0 with learning rate ``base_lr`` and return the first epoch's rate.

        ``epochs`` is the number of epochs training will run; schedules that
        need a horizon (cosine) use it when they were not given one.
        """
        self.base_lr = check_range(f"{type(self).__name__}: base_lr", base_lr, 0.0, low_open=True)
        if epochs is not None:
            epochs = check_range(f"{type(self).__name__}: epochs", epochs, 1, integer=True)
        self.epoch = 0
        self._reset(epochs)
        self.lr = self.lr_at(0)
        return self.lr

    def step(self, metric: float | None = None) -> float:
        """Close the current epoch and return the learning rate of the next one."""
        self._check_started()
        self.epoch += 1
        self.lr = self.lr_at(self.epoch)
        return self.lr

    def resume(self, epochs: int | None = None) -> float:
        """Continue a restored schedule in a run of ``epochs`` epochs in all; return the next epoch's rate.

        Called after :meth:`load_state_dict` when training resumes from a
        checkpoint; ``epochs`` counts the epochs already done. Schedules whose
        rates do not depend on the run's length return the restored rate.
        """
        self._check_started()
        if epochs is not None:
            check_range(f"{type(self).__name__}: epochs", epochs, 1, integer=True)
        return self.lr

    def lr_at(self, epoch: int) -> float:
        """The learning rate of epoch ``epoch`` (counted from 0)."""
        raise NotImplementedError

    def hyperparameters(self) -> dict[str, Any]:
        """The constructor arguments as JSON-compatible values."""
        return {arg: getattr(self, arg) for arg in inspect.signature(type(self)).parameters}

    def state_dict(self) -> dict[str, Any]:
        """Return the schedule's configuration and progress as JSON-compatible values."""
        return {"name": self.name, "hyper": self.hyperparameters(), "base_lr": self.base_lr, "lr": self.lr,
                "epoch": self.epoch, "extra": self._extra_state()}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore what :meth:`state_dict` returned, so that stepping resumes where it stopped."""
        keys = {"name", "hyper", "base_lr", "lr", "epoch", "extra"}
        if not isinstance(state, Mapping) or not keys <= set(state):
            raise ConfigError(f"schedule state must be a dict with keys {', '.join(sorted(keys))}; received "
                              f"{sorted(state) if isinstance(state, Mapping) else type(state).__name__}")
        if state["name"] != self.name:
            raise ConfigError(f"schedule state is for {state['name']!r}, cannot load it into {self.name!r}")
        owner = f"{type(self).__name__} state"
        hyper, extra = state["hyper"], state["extra"]
        accepted = list(inspect.signature(type(self)).parameters)
        if not isinstance(hyper, Mapping) or not set(hyper) <= set(accepted):
            received = sorted(map(str, hyper)) if isinstance(hyper, Mapping) else type(hyper).__name__
            raise ConfigError(f"{owner}: hyper must be a dict with keys among {', '.join(accepted) or 'none'}; "
                              f"received {received}")
        if not isinstance(extra, Mapping):
            raise ConfigError(f"{owner}: extra must be a dict, received {type(extra).__name__}")
        vars(self).update(vars(type(self)(**hyper)))
        self.base_lr = check_range(f"{owner}: base_lr", state["base_lr"], 0.0, low_open=True)
        self.lr = check_range(f"{owner}: lr", state["lr"], 0.0)
        self.epoch = check_range(f"{owner}: epoch", state["epoch"], 0, integer=True)
        self._load_extra(extra)

    def _reset(self, epochs: int | None) -> None:
        """Prepare for a new run of ``epochs`` epochs (None when unknown)."""

    def _extra_state(self) -> dict[str, Any]:
        return {}

    def _load_extra(self, extra: Mapping[str, Any]) -> None:
        """Restore what :meth:`_extra_state` returned."""

    def _check_started(self) -> None:
        if self.base_lr is None:
            raise ConfigError(f"{type(self).__name__}: call start(base_lr) before step()")

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.hyperparameters().items())
        return f"{type(self).__name__}({args})"


class Constant(Schedule):
    """The base learning rate at every epoch."""

    name = "constant"

    def lr_at(self, epoch: int) -> float:
        return self.base_lr


class StepDecay(Schedule):
    """``lr = base_lr * gamma ** (epoch // step_size)``, as ``torch.optim.lr_scheduler.StepLR``.

    Parameters
    ----------
    step_size : int >= 1, default 10
        Epochs between two decays.
    gamma : float in (0, 1], default 0.1
    """

    name = "step"

    def __init__(self, step_size: int = 10, gamma: float = 0.1):
        super().__init__()
        self.step_size = check_range("StepDecay: step_size", step_size, 1, integer=True)
        self.gamma = check_range("StepDecay: gamma", gamma, 0.0, 1.0, low_open=True)

    def lr_at(self, epoch: int) -> float:
        return self.base_lr * self.gamma ** (epoch // self.step_size)


class ExponentialDecay(Schedule):
    """``lr = base_lr * gamma ** epoch``, as ``torch.optim.lr_scheduler.ExponentialLR``.

    Parameters
    ----------
    gamma : float in (0, 1], default 0.95
    """

    name = "exponential"

    def __init__(self, gamma: float = 0.95):
        super().__init__()
        self.gamma = check_range("ExponentialDecay: gamma", gamma, 0.0, 1.0, low_open=True)

    def lr_at(self, epoch: int) -> float:
        return self.base_lr * self.gamma**epoch


class CosineAnnealing(Schedule):
    """Linear warm-up followed by cosine annealing to ``min_lr``.

    With ``W = warmup`` and ``T = epochs``::

        lr(e) = base_lr * (f + (1 - f) * e / W)                                  e < W
        lr(e) = min_lr + (base_lr - min_lr) * (1 + cos(pi * (e - W) / (T - W))) / 2   W <= e <= T
        lr(e) = min_lr                                                           e > T

    where ``f = warmup_start_factor``: ``LinearLR(start_factor=f, total_iters=W)``
    then ``CosineAnnealingLR(T_max=T - W, eta_min=min_lr)`` in PyTorch terms. As
    there, ``min_lr`` is reached at epoch ``T``, one past the last of ``T``
    training epochs.

    Extending a run. Without ``epochs`` the schedule anneals over the run:
    ``T`` is the run's number of epochs, also when a run is resumed from a
    checkpoint with more (or fewer) epochs than it first had. The remaining
    epochs then get the rates that a run planned with the new total has at
    those epochs, so resuming a finished 3-epoch run with ``epochs=6`` trains
    epochs 3, 4 and 5 at ``lr(3)``, ``lr(4)``, ``lr(5)`` of ``T = 6`` (0.5, 0.25
    and 0.067 times the base rate with ``min_lr = 0``), and an
    interrupted run resumed with its own total continues bit for bit. A
    schedule given its own ``epochs`` keeps that horizon and trains at
    ``min_lr`` past it; as that would be no training at all when ``min_lr`` is
    0, a run longer than ``epochs`` then needs ``min_lr > 0`` (ConfigError).

    Parameters
    ----------
    epochs : int >= 1 or None, default None
        Length ``T`` of the schedule; None takes the ``epochs`` passed to :meth:`start`.
    warmup : int >= 0, default 0
        Number of warm-up epochs, less than ``epochs``.
    min_lr : float >= 0, default 0
        Final learning rate, at most the base rate.
    warmup_start_factor : float in (0, 1], default 0.1
        Fraction of the base rate the warm-up starts from.
    """

    name = "cosine"

    def __init__(self, epochs: int | None = None, warmup: int = 0, min_lr: float = 0.0,
                 warmup_start_factor: float = 0.1):
        super().__init__()
        if epochs is not None:
            epochs = check_range("CosineAnnealing: epochs", epochs, 1, integer=True)
        self.epochs = epochs
        self.warmup = check_range("CosineAnnealing: warmup", warmup, 0, integer=True)
        self.min_lr = check_range("CosineAnnealing: min_lr", min_lr, 0.0)
        self.warmup_start_factor = check_range("CosineAnnealing: warmup_start_factor", warmup_start_factor,
                                                0.0, 1.0, low_open=True)
        if epochs is not None and self.warmup >= epochs:
            raise ConfigError(f"CosineAnnealing: warmup must be less than epochs ({epochs}), received {warmup}")
        self.total_epochs = epochs

    def _reset(self, epochs):
        total = self.epochs if self.epochs is not None else epochs
        if total is None:
            raise ConfigError("CosineAnnealing: the number of epochs is unknown; pass epochs= to the schedule "
                              "or to start()")
        if self.warmup >= total:
            raise ConfigError(f"CosineAnnealing: warmup must be less than the number of epochs ({total}), "
                              f"received {self.warmup}")
        if self.min_lr > self.base_lr:
            raise ConfigError(f"CosineAnnealing: min_lr must not exceed the base learning rate {self.base_lr}, "
                              f"received {self.min_lr}")
        self.total_epochs = total
        self._check_horizon(epochs)

    def resume(self, epochs=None):
        """Continue in a run of ``epochs`` epochs: without its own ``epochs``, the horizon becomes the run's."""
        super().resume(epochs)
        if epochs is not None and self.epochs is None:
            self.total_epochs = epochs
            self.lr = self.lr_at(self.epoch)
        self._check_horizon(epochs)
        return self.lr

    def _check_horizon(self, run_epochs):
        if run_epochs is not None and run_epochs > self.total_epochs and self.min_lr == 0.0:
            raise ConfigError(f"CosineAnnealing: the schedule ends at epoch {self.total_epochs} (epochs="
                              f"{self.total_epochs}) with min_lr=0, so epochs {self.total_epochs + 1} to "
                              f"{run_epochs} of the run would train at rate 0; give min_lr > 0, epochs >= "
                              f"{run_epochs}, or no epochs so that the schedule follows the run")

    def lr_at(self, epoch: int) -> float:
        W, T, f = self.warmup, self.total_epochs, self.warmup_start_factor
        if epoch < W:
            return self.base_lr * (f + (1.0 - f) * epoch / W)
        if epoch >= T:
            return self.min_lr
        return self.min_lr + (self.base_lr - self.min_lr) * (1.0 + math.cos(math.pi * (epoch - W) / (T - W))) / 2.0

    def _extra_state(self):
        return {"total_epochs": self.total_epochs}

    def _load_extra(self, extra):
        self.total_epochs = check_range("CosineAnnealing state: extra.total_epochs", extra.get("total_epochs"), 1,
                                         integer=True)


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


SCHEDULES: dict[str, type[Schedule]] = {
    cls.name: cls for cls in (Constant, StepDecay, ExponentialDecay, CosineAnnealing, ReduceOnPlateau)
}
"""Registered schedules by name."""


def get_schedule(schedule: str | Schedule | None = "constant", **kwargs) -> Schedule:
    """Return a schedule from its name and keyword arguments, or pass an instance through.

    ``None`` means ``"constant"``. Names are ``"constant"``, ``"step"``,
    ``"exponential"``, ``"cosine"`` and ``"plateau"``.

    Raises
    ------
    ConfigError
        If the name is unknown (the message lists the valid names), a keyword
        argument is not accepted (the message lists those that are), a value is
        out of range, or keyword arguments come with an instance.
    """
    if isinstance(schedule, Schedule):
        if kwargs:
            raise ConfigError(f"schedule arguments {sorted(kwargs)} apply only to a schedule given by name; "
                              f"received an instance {schedule!r}")
        return schedule
    key = "constant" if schedule is None else schedule.strip().lower() if isinstance(schedule, str) else None
    if key not in SCHEDULES:
        raise ConfigError(f"unknown schedule {schedule!r}; expected one of {', '.join(sorted(SCHEDULES))} "
                          "or a Schedule")
    cls = SCHEDULES[key]
    accepted = list(inspect.signature(cls).parameters)
    unknown = sorted(set(kwargs) - set(accepted))
    if unknown:
        raise ConfigError(f"schedule {key!r} got unexpected argument(s) {', '.join(unknown)}; "
                          f"accepted: {', '.join(accepted) or 'none'}")
    return cls(**kwargs)


def schedule_from_state(state: Mapping[str, Any]) -> Schedule:
    """Rebuild a schedule, progress included, from :meth:`Schedule.state_dict` output."""
    if not isinstance(state, Mapping) or state.get("name") not in SCHEDULES:
        name = state.get("name") if isinstance(state, Mapping) else type(state).__name__
        raise ConfigError(f"schedule state must name one of {', '.join(sorted(SCHEDULES))}; received {name!r}")
    schedule = SCHEDULES[state["name"]]()
    schedule.load_state_dict(state)
    return schedule
