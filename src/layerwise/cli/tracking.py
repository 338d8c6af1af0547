"""``--mlflow``: a run of ``layerwise train`` recorded in an MLflow tracking store.

The MLflow run is named after the run directory. Its parameters are the run's
options (those set) and a few facts of the data and the network; its metrics
are each epoch's (step = epoch, from 1) and the test metrics (``test_accuracy``,
``test_r2`` ...); its artifacts are the files of the run directory.
"""

from __future__ import annotations

from pathlib import Path

from .._version import __version__
from .model import describe


def tracker_for(opts):
    """An :class:`~layerwise.train.tracking.MLflowLogger` for a run with ``--mlflow`` or ``--mlflow-uri``, else None.

    Made before any work, so that a missing mlflow package or a bad store is reported at once.
    """
    if not (opts.mlflow or opts.mlflow_uri):
        return None
    from ..train.tracking import MLflowLogger

    tags = {"layerwise.version": __version__, "layerwise.data": opts.data}
    if opts.resume is not None:
        tags["layerwise.resumed_from"] = str(Path(opts.resume).resolve())
    return MLflowLogger(opts.mlflow_uri, opts.mlflow_experiment, tags=tags)


def describe_run(tracker, opts, data, model, run_dir: Path) -> None:
    """Name the MLflow run after the run directory and set its parameters, before training begins."""
    tracker.run_name = run_dir.name
    options = {key: ",".join(map(str, value)) if key == "hidden" else value
               for key, value in opts.to_dict().items() if value is not None}
    tracker.params = {**options, "network": describe(model.net), "n_train": len(data.X_train),
                      "n_test": len(data.X_test), "n_features": data.X_train.shape[1], "task": data.task,
                      "run_dir": str(run_dir.resolve())}


def record_results(tracker, metrics: dict, run_dir: Path) -> None:
    """Log the test metrics and every file of the run directory."""
    tracker.log_metrics({f"test_{key}": value for key, value in metrics.items() if key != "examples"})
    tracker.log_files(sorted(path for path in run_dir.iterdir() if path.is_file()))
