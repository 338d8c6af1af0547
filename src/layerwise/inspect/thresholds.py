"""The limits of the gradient-health rules (:class:`Thresholds`) and what a rule reports (:class:`Finding`);
the rules themselves are :mod:`layerwise.inspect.detectors`."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields

from .._checks import check_range, positive_int
from ..errors import ConfigError


@dataclass(frozen=True)
class Thresholds:
    """Limits of the gradient-health rules; see the table in :mod:`layerwise.inspect.detectors`.

    Parameters
    ----------
    vanishing : float, default 1e-3
        Warn when ``||dZ_l|| / ||dZ_L||`` falls below this.
    exploding : float, default 1e3
        Warn when ``||dZ_l|| / ||dZ_L||`` rises above this.
    growth : float, default 100
        Warn when ``||dW_l||`` exceeds this multiple of its recent median.
    loss_growth : float, default 10
        Warn when a batch loss exceeds this multiple of the first sampled loss.
    dead : float, default 0.5
        Largest healthy fraction of dead units in a ReLU layer.
    saturated : float, default 0.5
        Largest healthy fraction of saturated units in a sigmoid or tanh layer.
    update_high, update_extreme : float, default 0.1, 1.0
        Update-to-weight ratios above which the learning rate is too high
        (persistently, or on a single batch).
    update_low : float, default 1e-6
        Update-to-weight ratio below which the learning rate is too low.
    plateau_epochs : int, default 5
        Epochs over which the loss must improve.
    plateau_change : float, default 1e-3
        Smallest relative improvement over ``plateau_epochs`` epochs.
    small_loss : float, default 0.1
        A loss below this fraction of its first value counts as small
        (converged): no plateau or too-low learning rate is reported then.
    patience : int, default 3
        Consecutive sampled batches a persistent condition must hold.
    """

    vanishing: float = 1e-3
    exploding: float = 1e3
    growth: float = 100.0
    loss_growth: float = 10.0
    dead: float = 0.5
    saturated: float = 0.5
    update_high: float = 0.1
    update_extreme: float = 1.0
    update_low: float = 1e-6
    plateau_epochs: int = 5
    plateau_change: float = 1e-3
    small_loss: float = 0.1
    patience: int = 3

    def __post_init__(self):
        for item in fields(self):
            value = getattr(self, item.name)
            if item.type == "int":
                positive_int(f"Thresholds.{item.name}", value)
            else:
                check_range(f"Thresholds.{item.name}", value, 0, low_open=True)
        if self.update_low >= self.update_high:
            raise ConfigError(f"Thresholds.update_low ({self.update_low:g}) must be below update_high "
                              f"({self.update_high:g})")

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> Thresholds:
        known = {item.name for item in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError(f"unknown threshold(s) {', '.join(unknown)}; expected some of {', '.join(sorted(known))}")
        return cls(**data)


@dataclass(frozen=True)
class Finding:
    """One warning: its ``kind`` (see :data:`KINDS`), the layer's number ``l`` (or None) and the message."""

    kind: str
    layer: int | None
    epoch: int
    batch: int | None
    message: str

    def to_dict(self) -> dict:
        return asdict(self)
