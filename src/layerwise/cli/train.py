"""``layerwise train``: build a network for the data, train it and write the run directory."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import math
import sys
from pathlib import Path

from .._version import __version__
from ..errors import ConfigError
from ..ops.losses import get_loss
from ..preprocessing import Preprocessing, Standardize, fit_table
from . import config as cfg
from . import tracking
from .console import PROG, say
from .data import TrainingData, load_training_data
from .layer_specs import ARCHITECTURES, IMAGE_SHAPES, parse_layers
from .metrics import chance_warning, measure, summary_line
from .model import Model, build_network, default_output_activation, describe, save_model
from .resume import RUN_FILE, absolute_source, recorded_options, resumed_options
from .run_files import (
    DIAGNOSTICS_FILES,
    check_run_dir,
    default_run_dir,
    run_directory,
    write_diagnostics,
    write_history,
)
from .train_callbacks import Announce, OriginalUnits

REGRESSION_LOSSES = tuple(name for name in cfg.loss_name.names if get_loss(name).task == "regression")
"""The CLI's regression losses (its classification losses are the others)."""


def _output_layer(opts: cfg.TrainOptions, data: TrainingData) -> tuple[str, str, int]:
    """The loss, output activation and output units that suit the task."""
    loss = opts.loss or ("cross_entropy" if data.task == "classification" else "mse")
    task = get_loss(loss).task
    if data.task == "classification":
        if task != "classification":
            raise ConfigError(f"loss {loss} is for regression, but {opts.data} is a classification task; use "
                              "cross_entropy or binary_cross_entropy, or --task regression")
        units = get_loss(loss).units(len(data.classes))
        if units is None:
            raise ConfigError(f"{loss} needs exactly 2 classes, {opts.data} has {len(data.classes)}; "
                              "use cross_entropy")
    else:
        if task != "regression":
            raise ConfigError(f"loss {loss} is for classification, but {opts.data} is a regression task; use "
                              f"{', '.join(REGRESSION_LOSSES)}, or --task classification")
        units = 1 if data.y_train.ndim == 1 else data.y_train.shape[1]
    return loss, opts.output_activation or default_output_activation(loss), units


def new_model(opts: cfg.TrainOptions, data: TrainingData) -> Model:
    """An initialised network shaped for the data, with its preprocessing fitted on the training part."""
    loss, output_activation, units = _output_layer(opts, data)
    layers = opts.layers
    if opts.arch is not None:
        if layers is not None:
            raise ConfigError("give --layers or --arch, not both")
        layers = parse_layers(ARCHITECTURES[opts.arch])
    input_shape = opts.input_shape or IMAGE_SHAPES.get(opts.data)
    scale_targets = opts.standardize and data.task == "regression" and output_activation == "identity"
    targets = [Standardize.fit(data.y_train)] if scale_targets else []
    if data.table:  # columns by name, one-hot text, imputed numbers, then (optionally) standardised
        steps = Preprocessing(inputs=fit_table(data.X_train, data.feature_names, standardize=opts.standardize),
                              targets=targets)
    else:
        steps = Preprocessing(inputs=[Standardize.fit(data.X_train)], targets=targets) if opts.standardize else None
    n_inputs = steps.inputs[-1].n_out if steps is not None and steps.inputs else data.X_train.shape[1]
    net = build_network(opts.hidden, opts.activation, output_activation, units, loss, n_inputs,
                        opts.seed, opts.dtype, opts.dropout, opts.l2, layers=layers, input_shape=input_shape)
    net.classes = data.classes
    net.preprocessing = steps
    return Model(net, {}, Path("model.safetensors"), 0, __version__)


def _monitor(opts: cfg.TrainOptions, n_train: int):
    """A GradientMonitor sampling every 10th batch, or more often so that a short run gets about 50 samples."""
    if not (opts.diagnose or opts.tensorboard):
        return None
    from ..inspect.diagnostics import GradientMonitor

    steps = -(-n_train // opts.batch_size) * opts.epochs
    return GradientMonitor(every=max(1, min(10, steps // 50)), tensorboard_dir=opts.tensorboard, stream=sys.stderr)


def fit_model(model: Model, opts: cfg.TrainOptions, data: TrainingData, run_dir: Path, comm=None, tracker=None):
    """Train with the options, checkpointing into the run directory; return the History and the monitor.

    With a communicator (under ``mpiexec``) every rank trains its shards; only rank 0 watches and checkpoints.
    ``tracker``, an MLflow logger, records each epoch's metrics (in the targets' units).
    """
    from ..optim.optimizers import get_optimizer
    from ..optim.schedules import get_schedule
    from ..train.callbacks import EarlyStopping

    X_train = model.inputs(data.X_train, opts.data)
    y_train = model.training_targets(data.y_train)
    val_split = opts.val_split if opts.val_split is not None else (0.2 if opts.early_stopping else 0.0)
    if val_split and math.ceil(val_split * len(X_train)) >= len(X_train):
        given = "" if opts.val_split is not None else " (the default with early stopping)"
        raise ConfigError(f"--val-split {val_split:g}{given} of the {len(X_train)} training example(s) of {opts.data} "
                          "leaves none to train on; give more data, or --val-split 0 without --early-stopping")
    resumed = getattr(opts, "resume_note", None)
    message = (f"training {describe(model.net)} on {opts.data}: {len(X_train)} training and {len(data.X_test)} test "
               f"examples; {opts.optimizer}, {opts.epochs} epochs; writing {run_dir}")
    encoded = model.encoding_note()
    message += f"\n{encoded}" if encoded else ""
    header = Announce(message if resumed is None else f"{resumed}\n{message}", opts.quiet)
    monitor = _monitor(opts, len(X_train)) if comm is None or comm.root else None
    optimizer = get_optimizer(opts.optimizer, **cfg.optimizer_arguments(opts))
    schedule = get_schedule(opts.schedule, **cfg.schedule_arguments(opts))
    stopper = EarlyStopping(patience=opts.patience, min_delta=opts.min_delta) if opts.early_stopping else None
    units = OriginalUnits.for_model(model)
    history = model.net.fit(
        X_train, y_train, epochs=opts.epochs, batch_size=opts.batch_size, optimizer=optimizer,
        schedule=schedule, validation_split=val_split, early_stopping=stopper,
        clip_norm=opts.clip_norm, checkpoint=run_dir / "checkpoint.safetensors", resume_from=opts.resume,
        diagnostics=monitor if monitor is not None else False,
        callbacks=[header, *(callback for callback in (units, tracker) if callback is not None)],
        verbose=0 if opts.quiet else 1, distributed=comm)
    if units is not None:
        units.convert(history)
    return history, monitor, stopper


def train_run(opts: cfg.TrainOptions, comm=None) -> tuple[Model, dict, Path, object]:
    """Train, measure on the test part and write the run directory; return the model, metrics, directory, monitor.

    With a communicator, only rank 0 creates and writes the run directory (``opts.out``, the same on every rank).
    """
    from ..data.parquet import is_parquet_folder
    from ..inspect import plots

    if is_parquet_folder(opts.data):
        if comm is not None:
            raise ConfigError("a Parquet folder is streamed by one process; run it without mpiexec")
        from .stream import stream_run

        return stream_run(opts)
    if opts.resume is not None and not Path(opts.resume).is_file():
        raise ConfigError(f"the checkpoint {opts.resume} to resume from does not exist")
    check_run_dir(opts.out)
    root = comm is None or comm.root
    tracker = tracking.tracker_for(opts) if root else None
    data = load_training_data(opts)
    model = new_model(opts, data)
    with run_directory(opts.out) if root else contextlib.nullcontext(Path(opts.out)) as run_dir, \
            tracker or contextlib.nullcontext():
        model.path = run_dir / "model.safetensors"
        if root:
            with open(run_dir / RUN_FILE, "w", encoding="utf-8") as stream:
                json.dump({"options": opts.to_dict(), "data": data.info}, stream, indent=1)
        if tracker is not None:
            tracking.describe_run(tracker, opts, data, model, run_dir)
        history, monitor, stopper = fit_model(model, opts, data, run_dir, comm, tracker)
        best = stopper.best_epoch if stopper is not None else None
        tested_on = "test" if len(data.X_test) else "train"
        X, y = (data.X_test, data.y_test) if len(data.X_test) else (data.X_train, data.y_train)
        metrics = measure(model, model.check_features(X, opts.data), y)
        model.info = {"data": data.info, "options": opts.to_dict(), "test_metrics": _headline(metrics),
                      "tested_on": tested_on}
        if not root:
            return model, metrics, run_dir, monitor
        save_model(model.path, model)
        write_history(run_dir, history.to_dict(), best)
        plots.training_curves(history.to_dict(), run_dir / "curves.png", title=f"{opts.data}: {describe(model.net)}",
                              best_epoch=best)
        if monitor is not None:
            write_diagnostics(monitor, run_dir)
        if tracker is not None:
            tracking.record_results(tracker, metrics, run_dir)
    return model, metrics, run_dir, monitor


def _headline(metrics: dict) -> dict:
    return {key: value for key, value in metrics.items() if key in ("examples", "accuracy", "mse", "mae", "r2")}


def warn_at_chance(metrics: dict) -> None:
    """Print a warning on standard error when a classifier is at chance level."""
    warning = chance_warning(metrics)
    if warning:
        print(f"{PROG}: warning: {warning}", file=sys.stderr)


@contextlib.contextmanager
def thread_limit(threads: int | None):
    """Limit the BLAS thread pools with threadpoolctl when it is installed."""
    if threads is None:
        yield
        return
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        say(f"{PROG}: warning: --threads needs the threadpoolctl package; running with the default threads")
        yield
        return
    with threadpool_limits(limits=threads):
        yield


STREAMED_EPOCHS = 20
"""Default epochs over a streamed Parquet folder, which cannot stop early (500 passes would be far too many)."""


def train_options(args, **defaults) -> cfg.TrainOptions:
    """The options of a run: the command line over the --config file over ``defaults``.

    With ``--resume``, the options recorded by the run that wrote the checkpoint take the place of the
    defaults; see :func:`resumed_options`.
    """
    known = {field.name for field in dataclasses.fields(cfg.TrainOptions)}
    given = cfg.read_config_file(args.config) if args.config is not None else {}
    given.update({key: value for key, value in vars(args).items() if key in known and value is not None})
    if "data" in given:
        given["data"] = absolute_source(given["data"])
        from ..data.parquet import is_parquet_folder

        if is_parquet_folder(given["data"]):  # streamed: no validation split to stop on
            defaults = {"early_stopping": False, "epochs": STREAMED_EPOCHS, **defaults}
    recorded = recorded_options(given["resume"]) if given.get("resume") is not None else None
    if recorded is not None:
        return resumed_options(given, recorded, given["resume"])
    return cfg.TrainOptions(**{**defaults, **given})


def cmd_train(args) -> int:
    """``layerwise train``: train, report the test result, write the run directory.

    Under ``mpiexec`` a failure on any rank, in training or around it (options, data, files), ends every
    rank at once: a rank that merely returned its error would leave the others waiting in the next
    collective call.
    """
    comm = _communicator()
    if comm is None:
        return _train(args, None)
    try:
        return _train(args, comm)
    except BaseException as exc:  # noqa: B036 (every failure must end the other ranks)
        comm.abort(exc, "running layerwise train")


def _train(args, comm) -> int:
    opts = train_options(args)
    if comm is not None:  # under mpiexec: one run directory, named by rank 0; the other ranks work silently
        opts = dataclasses.replace(opts, out=comm.comm.bcast(opts.out or str(default_run_dir()), root=0),
                                   quiet=opts.quiet or not comm.root)
    with thread_limit(opts.threads):
        model, metrics, run_dir, monitor = train_run(opts, comm)
    if comm is not None and not comm.root:
        return 0
    files = ["model.safetensors", "checkpoint.safetensors", RUN_FILE, "history.csv", "history.json", "curves.png"]
    if monitor is not None:
        files += DIAGNOSTICS_FILES
        count = len(monitor.warnings)
        print(f"gradient diagnostics: {count or 'no'} warning{'' if count == 1 else 's'}"
              f"{' (printed above)' if count else ''}; for the per-layer table run: {PROG} diagnose {run_dir}")
    part = "test" if model.info["tested_on"] == "test" else "training (no test split)"
    print(f"{part} {summary_line(metrics)}")
    warn_at_chance(metrics)
    say(f"wrote {run_dir}: {', '.join(files)}", opts.quiet)
    return 0


def _communicator():
    """The MPI communicator when started by ``mpiexec`` with several ranks, else None."""
    from ..distributed import get_communicator, launched_under_mpi

    return get_communicator("mpi") if launched_under_mpi() else None
