"""``History``: what a fit records, epoch by epoch."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class History:
    """Per-epoch records of a fit: ``history.history["loss"]``, ``["val_loss"]``, ...

    Keys: ``loss``, ``accuracy`` (classifiers), ``val_loss`` and
    ``val_accuracy`` (with validation data), ``lr`` and ``time`` (seconds).
    ``diagnostics`` is the :class:`~layerwise.inspect.diagnostics.GradientMonitor` of a
    fit with ``diagnostics=``, else None.
    """

    epoch: list = field(default_factory=list)
    history: dict = field(default_factory=dict)
    diagnostics: object = None

    def append(self, epoch: int, logs: dict) -> None:
        self.epoch.append(epoch)
        for key, value in logs.items():
            self.history.setdefault(key, []).append(float(value))

    def __getitem__(self, key: str) -> list:
        return self.history[key]

    def to_dict(self) -> dict:
        return {"epoch": list(self.epoch), **{k: list(v) for k, v in self.history.items()}}

    @classmethod
    def from_dict(cls, data: dict) -> History:
        data = dict(data)
        return cls(epoch=list(data.pop("epoch", [])), history={k: list(v) for k, v in data.items()})
