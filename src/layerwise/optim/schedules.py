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
from typing import Any

from .._checks import check_range
from ..errors import ConfigError
from .plateau import ReduceOnPlateau
from .schedule_base import Schedule

__all__ = ["SCHEDULES", "Constant", "CosineAnnealing", "ExponentialDecay", "ReduceOnPlateau", "Schedule",
           "StepDecay", "get_schedule", "schedule_from_state"]


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
