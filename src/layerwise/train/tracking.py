"""Experiment tracking: a training callback that records a run in an MLflow tracking store.

MLflow is an optional dependency (``pip install "layerwise[mlflow]"``); it is
imported when an :class:`MLflowLogger` is made, never by ``import layerwise``.
"""

from __future__ import annotations

import math
import numbers
import os
import time

from ..errors import ConfigError
from .callbacks import Callback

PARAM_LENGTH = 500
"""Longest parameter value logged; longer values are cut (MLflow stores parameters as short text)."""


def _mlflow():
    try:
        import mlflow.entities
        import mlflow.exceptions
        import mlflow.tracking
    except ImportError:
        raise ConfigError('MLflow tracking needs the mlflow package: pip install "layerwise[mlflow]"') from None
    return mlflow


class MLflowLogger(Callback):
    """Log a training run to MLflow: its parameters, each epoch's metrics and the files it wrote.

    Parameters
    ----------
    tracking_uri : str, optional
        The tracking store, e.g. ``file:///home/me/mlruns``, ``sqlite:///mlflow.db`` or
        ``http://host:5000``. By default MLflow's own choice (``MLFLOW_TRACKING_URI`` when set).
    experiment : str, default "layerwise"
        The experiment the run belongs to; created when it does not exist.
    run_name : str, optional
        The run's name (MLflow makes one up by default).
    params : dict, optional
        The run's parameters, logged when training begins (as text, None as "None").
    tags : dict, optional
        Tags of the run.

    Raises
    ------
    ConfigError
        If mlflow is not installed, or the tracking store refuses a request.

    Notes
    -----
    The run starts at ``on_train_begin``; every ``on_epoch_end`` logs the
    epoch's numeric logs (``loss``, ``val_loss``, ``accuracy``, ``lr``,
    ``time`` ...) with the epoch, counted from 1, as the step. Use the logger
    as a context manager, which ends the run as FINISHED, or as FAILED when
    the block raises::

        with MLflowLogger(params={"lr": 0.01}) as tracker:
            net.fit(X, y, optimizer=lw.Adam(lr=0.01), callbacks=[tracker])
            net.save("model.safetensors")
            tracker.log_files(["model.safetensors"])
    """

    def __init__(self, tracking_uri: str | None = None, experiment: str = "layerwise", run_name: str | None = None,
                 params: dict | None = None, tags: dict | None = None):
        mlflow = _mlflow()
        self.tracking_uri, self.experiment, self.run_name = tracking_uri, experiment, run_name
        self.params, self.tags = dict(params or {}), {str(k): str(v) for k, v in (tags or {}).items()}
        self._entities, self._errors = mlflow.entities, mlflow.exceptions.MlflowException
        self.client = self._call(mlflow.tracking.MlflowClient, tracking_uri=tracking_uri)
        self.run_id = None

    def _call(self, method, *args, **kwargs):
        """Call the MLflow client; its failures become one ConfigError naming the store."""
        try:
            return method(*args, **kwargs)
        except self._errors as exc:
            store = self.tracking_uri or "MLflow's default tracking store"
            raise ConfigError(f"MLflow tracking store {store}: {' '.join(exc.message.split())}") from None

    def start(self) -> str:
        """Create the run (once) and return its id."""
        if self.run_id is None:
            found = self._call(self.client.get_experiment_by_name, self.experiment)
            experiment_id = (found.experiment_id if found is not None
                             else self._call(self.client.create_experiment, self.experiment))
            run = self._call(self.client.create_run, experiment_id, run_name=self.run_name, tags=self.tags)
            self.run_id = run.info.run_id
        return self.run_id

    def on_train_begin(self, net, logs):
        self.start()
        params = [self._entities.Param(str(key), str(value)[:PARAM_LENGTH]) for key, value in self.params.items()]
        for first in range(0, len(params), 100):  # MLflow takes at most 100 parameters a request
            self._call(self.client.log_batch, self.run_id, params=params[first:first + 100])

    def on_epoch_end(self, net, epoch, logs):
        self.log_metrics(logs, step=epoch + 1)

    def log_metrics(self, values: dict, step: int = 0) -> None:
        """Log the finite numbers among ``values`` (other entries are skipped) at ``step``."""
        now = int(time.time() * 1000)
        metrics = [self._entities.Metric(str(key), float(value), now, step) for key, value in values.items()
                   if isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value)]
        if metrics:
            self._call(self.client.log_batch, self.start(), metrics=metrics)

    def log_files(self, paths) -> None:
        """Copy files into the run's artifacts; missing ones are skipped."""
        for path in paths:
            if os.path.isfile(path):
                self._call(self.client.log_artifact, self.start(), os.fspath(path))

    def end(self, status: str = "FINISHED") -> None:
        """End the run with ``status`` (FINISHED, FAILED or KILLED), if it was started."""
        if self.run_id is not None:
            self._call(self.client.set_terminated, self.run_id, status)

    def __enter__(self) -> MLflowLogger:
        return self

    def __exit__(self, kind, exc, traceback) -> None:
        self.end("FINISHED" if kind is None else "KILLED" if issubclass(kind, KeyboardInterrupt) else "FAILED")
