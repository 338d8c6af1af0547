"""The run directory of ``layerwise train``: where it goes, and the history and diagnostics files it holds."""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import time
from pathlib import Path

from ..errors import ConfigError
from ..io.atomic import write_output
from .resume import RUN_FILE


def check_run_dir(out: str | None) -> None:
    """Fail early, before any work, when ``--out`` names a file or lies below one."""
    if out is None:
        return
    path = Path(out)
    if path.exists() and not path.is_dir():
        raise ConfigError(f"the run directory {path} is a file; give a directory with --out")
    for parent in path.parents:
        if parent.exists():
            if not parent.is_dir():
                raise ConfigError(f"cannot create the run directory {path}: {parent} is a file")
            return


def default_run_dir() -> Path:
    """``runs/<timestamp>``, with a count appended when that exists already."""
    base = Path("runs") / time.strftime("%Y%m%d-%H%M%S")
    path, count = base, 1
    while path.exists():
        count += 1
        path = base.with_name(f"{base.name}-{count}")
    return path


@contextlib.contextmanager
def run_directory(out: str | None):
    """Create the run directory (``runs/<timestamp>`` by default); remove it again if the run fails before writing."""
    path = default_run_dir() if out is None else Path(out)
    check_run_dir(out)
    created = not path.exists()
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"cannot create the run directory {path}: {exc.strerror or exc}") from None
    if not os.access(path, os.W_OK | os.X_OK):
        raise ConfigError(f"the run directory {path} is not writable")
    try:
        yield path
    except BaseException:
        if created:
            with contextlib.suppress(OSError):
                if [entry.name for entry in path.iterdir()] == [RUN_FILE]:  # nothing trained yet
                    (path / RUN_FILE).unlink()
                path.rmdir()  # only when still empty
        raise


def write_history(run_dir: Path, history: dict, best_epoch: int | None = None) -> None:
    """history.json and history.csv, both numbering epochs from 1 as the progress lines do.

    ``best_epoch`` (0-based, as the History counts) is recorded as ``best_epoch`` in the JSON
    file and as a ``best`` column (1 on that epoch's row) in the CSV file.
    """
    document = {**history, "epoch": [epoch + 1 for epoch in history["epoch"]],
                "best_epoch": None if best_epoch is None else best_epoch + 1}
    write_output(run_dir / "history.json", json.dumps(document, indent=1).encode())
    keys = [key for key in history if key != "epoch"]
    table = io.StringIO()
    writer = csv.writer(table)
    writer.writerow(["epoch", *keys, "best"])
    for row, epoch in enumerate(history["epoch"]):
        writer.writerow([epoch + 1, *(f"{history[key][row]:.8g}" for key in keys), int(epoch == best_epoch)])
    write_output(run_dir / "history.csv", table.getvalue().encode())


DIAGNOSTICS_FILES = ["diagnostics.json", "diagnostics.png"]
"""What a run with --diagnose adds to its directory."""


def write_diagnostics(monitor, run_dir: Path) -> None:
    """diagnostics.json and diagnostics.png in the run directory."""
    write_output(run_dir / "diagnostics.json", json.dumps(monitor.to_dict(), indent=1).encode())
    monitor.plot(run_dir / "diagnostics.png")
