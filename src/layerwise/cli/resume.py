"""Resuming ``layerwise train --resume``: the options a run recorded in its run.json, and which of them a
resumed run may change."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
from pathlib import Path

from ..errors import ConfigError
from . import config as cfg

RESUMABLE = ("epochs", "batch_size", "patience", "min_delta", "clip_norm", "out", "quiet", "diagnose", "tensorboard",
             "threads", "resume", "mlflow", "mlflow_uri", "mlflow_experiment")
"""Options that a resumed run may change; every other one continues as the run recorded it."""

RUN_FILE = "run.json"
"""The options of a run, written into its directory before training so that --resume can continue with them."""


def absolute_source(source: str) -> str:
    """A data file as an absolute path; the names of bundled data sets unchanged."""
    from ..data.datasets import EMBEDDED, IDX_SETS

    return source if source in EMBEDDED or source in IDX_SETS else os.path.abspath(source)


def recorded_options(checkpoint: str) -> dict | None:
    """The options of the run that wrote ``checkpoint``: its run.json (or model file) beside it, else None."""
    folder = Path(checkpoint).parent
    try:
        with open(folder / RUN_FILE, encoding="utf-8") as stream:
            options = json.load(stream).get("options")
    except (OSError, ValueError, AttributeError):
        options = None
        if (folder / "model.safetensors").is_file():
            from .model import load_model

            with contextlib.suppress(Exception):
                options = load_model(folder / "model.safetensors").info.get("options")
    if not isinstance(options, dict):
        return None
    known = {field.name for field in dataclasses.fields(cfg.TrainOptions)}
    per_invocation = ("out", "quiet", "resume", "threads")
    return {key: tuple(value) if key == "hidden" else value for key, value in options.items()
            if key in known and key not in per_invocation}


def _shown(value) -> str:
    return ",".join(map(str, value)) if isinstance(value, (tuple, list)) else str(value)


def resumed_options(given: dict, recorded: dict, checkpoint: str) -> cfg.TrainOptions:
    """The recorded options of a run with the given ones over them; ``resume_note`` says what is overridden.

    Raises
    ------
    ConfigError
        If a given option may not change on resume (anything but :data:`RESUMABLE`) and differs.
    """
    overrides = []
    for key, value in given.items():
        before = recorded.get(key)
        if value == before:
            continue
        flag = "--" + key.replace("_", "-")
        if key == "lr":
            used = _shown(before) if before is not None else f"{recorded.get('optimizer')}'s default rate"
            raise ConfigError(f"{flag} cannot change when resuming: the optimizer continues from the checkpoint's "
                              f"state and schedule (the run used {used}); start a new run to change it")
        if key not in RESUMABLE:
            raise ConfigError(f"{flag} cannot change when resuming: the run used {_shown(before)}, received "
                              f"{_shown(value)}; start a new run (without --resume) to change it")
        if key not in ("resume", "out", "quiet"):
            overrides.append(f"{key.replace('_', '-')} {_shown(value)} (was {_shown(before)})")
    opts = cfg.TrainOptions(**{**recorded, **given})
    opts.resume_note = (f"resuming {checkpoint} with the run's own options (data {opts.data}, target "
                        f"{opts.target or 'default'}); overriding: {', '.join(overrides) or 'nothing'}")
    return opts
