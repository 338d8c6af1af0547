"""The ``layerwise`` command."""

from __future__ import annotations

from . import demo


def main(argv: list[str] | None = None) -> int:
    """Run the demonstration: train on digits and print accuracies."""
    demo.run()
    return 0
