"""The registry of stored preprocessing step types, and rebuilding a step from its stored form."""

from __future__ import annotations

import numpy as np

from ..errors import ConfigError
from .encoders import Columns, Impute, OneHot
from .steps import Standardize, Step

STEPS: dict[str, type[Step]] = {cls.name: cls for cls in (Standardize, Columns, OneHot, Impute)}
"""Registry of stored step types."""


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
        return STEPS[kind].from_stored(config, arrays)
    except KeyError as exc:
        raise ConfigError(f"the {kind} preprocessing step is missing its array or setting {exc}") from None
    except ConfigError:
        raise
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"the {kind} preprocessing step is malformed: {exc}") from None
