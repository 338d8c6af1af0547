"""The registry of stored preprocessing step types, and rebuilding a step from its stored form."""

from __future__ import annotations

from importlib import import_module

import numpy as np

from ..errors import ConfigError
from .steps import Step

STEPS = {"standardize": ("steps", "Standardize"), "columns": ("encoders", "Columns"),
         "one_hot": ("encoders", "OneHot"), "impute": ("encoders", "Impute")}
"""Registry of stored step types: the module of :mod:`layerwise.preprocessing` and the class of each (imported
when a stored step names it, so that a model with no table encoding does not load the encoders)."""


def step_class(kind: str) -> type[Step]:
    """The class of the stored step type ``kind`` (a key of :data:`STEPS`)."""
    module, name = STEPS[kind]
    return getattr(import_module(f".{module}", __package__), name)


def step_from_stored(config: dict, arrays: dict[str, np.ndarray]) -> Step:
    """Rebuild a step from its stored config (with ``"type"``) and arrays.

    Raises
    ------
    ConfigError
        If the type is unknown or the stored data does not describe a valid step.
    """
    kind = config.get("type") if isinstance(config, dict) else None
    if kind not in STEPS:
        raise ConfigError(f"unknown preprocessing step {kind!r}; expected one of {', '.join(sorted(STEPS))}")
    try:
        return step_class(kind).from_stored(config, arrays)
    except KeyError as exc:
        raise ConfigError(f"the {kind} preprocessing step is missing its array or setting {exc}") from None
    except ConfigError:
        raise
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"the {kind} preprocessing step is malformed: {exc}") from None
