"""The schedule base class: the epoch counter, the start, step and resume protocol, the state round trip;
see :mod:`layerwise.optim.schedules` for the schedules and how the trainer drives them."""

from __future__ import annotations

import inspect
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
