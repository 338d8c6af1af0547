"""The program's name and its progress notes on standard error."""

from __future__ import annotations

import sys

PROG = "layerwise"


def say(message: str, quiet: bool = False) -> None:
    """Print a progress note on standard error unless ``quiet``."""
    if not quiet:
        print(message, file=sys.stderr, flush=True)
