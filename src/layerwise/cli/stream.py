"""``layerwise train --data FOLDER`` on a Parquet folder: training streamed one row group at a time.

Memory holds one row group and the network, never the table. The row groups
are split into training and test groups (``--test-split`` of the groups, drawn
with ``--seed``); the scalers are fitted in one streamed pass over the
training groups; every epoch visits the training groups in a fresh order (the
network's generator) and trains on each, shuffled, with one optimizer that
carries its state from group to group. The test metrics are summed group by
group. Early stopping, validation splits, schedules other than constant and
resuming are not available on this path.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from .. import __version__
from ..data.parquet import ParquetFolder
from ..errors import ConfigError
from ..preprocessing import Preprocessing, Standardize
from . import config as cfg
from .console import say
from .data import TrainingData
from .metrics import predicted_index
from .model import Model, build_network, describe, save_model


def stream_run(opts: cfg.TrainOptions) -> tuple[Model, dict, Path, None]:
    """Train on a Parquet folder streamed in row groups; return the model, the test metrics and the run directory."""
    from ..inspect import plots
    from ..optim.optimizers import get_optimizer
    from ..optim.schedules import Constant
    from ..train.checkpoint import save_checkpoint
    from ..train.loop import History

    _check_supported(opts)
    folder = ParquetFolder(opts.data, opts.target)
    task = opts.task if opts.task != "auto" else ("regression" if folder.target_type.startswith(
        ("float", "double", "halffloat")) else "classification")
    train, test = _split_groups(len(folder.groups), opts.test_split, opts.seed)
    classes = _classes(folder) if task == "classification" else None
    features, targets = _streamed_scalers(folder, train, task, opts.standardize)
    from .run_files import run_directory, write_history
    from .train import _headline, _output_layer

    shape = TrainingData(np.empty((0, len(folder.features))), np.empty(0), None, None, classes, task, {})
    loss, output_activation, units = _output_layer(opts, shape)
    net = build_network(opts.hidden, opts.activation, output_activation, units, loss, len(folder.features),
                        opts.seed, opts.dtype, opts.dropout, opts.l2)
    net.classes = classes
    if features is not None:
        net.preprocessing = Preprocessing(inputs=[features], targets=[targets] if targets is not None
                                          and output_activation == "identity" else [])
    model = Model(net, {}, Path("model.safetensors"), 0, __version__)
    optimizer = get_optimizer(opts.optimizer, **({} if opts.lr is None else {"lr": opts.lr}))
    history = History()
    with run_directory(opts.out) as run_dir:
        model.path = run_dir / "model.safetensors"
        say(f"training {describe(net)} on {opts.data}: {sum(folder.sizes[g] for g in train)} training rows in "
            f"{len(train)} row groups, {sum(folder.sizes[g] for g in test)} test rows in {len(test)}; writing "
            f"{run_dir}", opts.quiet)
        for epoch in range(opts.epochs):
            began, totals = time.perf_counter(), np.zeros(3)
            for index in net.rng.permutation(train):
                X, y = _group(model, folder, index, classes)
                fitted = net.fit(X, y, epochs=1, batch_size=opts.batch_size, optimizer=optimizer,
                                 clip_norm=opts.clip_norm, verbose=0)
                totals += (len(X), fitted["loss"][0] * len(X), fitted.history.get("accuracy", [0.0])[0] * len(X))
            logs = {"loss": totals[1] / totals[0], **({"accuracy": totals[2] / totals[0]} if classes else {}),
                    "lr": optimizer.lr, "time": time.perf_counter() - began}
            history.append(epoch, logs)
            save_checkpoint(run_dir / "checkpoint.safetensors", net, optimizer, Constant(), history, epoch + 1)
            say(f"epoch {epoch + 1}/{opts.epochs}  loss {logs['loss']:.4f}" +
                (f"  accuracy {logs['accuracy']:.4f}" if classes else "") + f"  {logs['time']:.3f}s", opts.quiet)
        tested_on = "test" if test else "train"
        metrics = _streamed_metrics(model, folder, test or train, classes)
        model.info = {"data": {"source": opts.data, "format": "parquet", "target": folder.target, "task": task,
                               "rows": folder.n_rows, "row_groups": len(folder.groups), "test_row_groups": test,
                               "feature_names": folder.features},
                      "options": opts.to_dict(), "test_metrics": _headline(metrics), "tested_on": tested_on}
        save_model(model.path, model)
        write_history(run_dir, history.to_dict())
        plots.training_curves(history.to_dict(), run_dir / "curves.png", title=f"{opts.data}: {describe(net)}")
    return model, metrics, run_dir, None


def _check_supported(opts: cfg.TrainOptions) -> None:
    if opts.early_stopping:  # asked for explicitly (streamed folders default to no early stopping)
        say("note: a streamed Parquet folder trains for all --epochs: early stopping needs a validation set held in "
            "memory", opts.quiet)
    unsupported = [name for name, on in (("--resume", opts.resume),
                                         ("--val-split", opts.val_split), ("--diagnose", opts.diagnose),
                                         ("--tensorboard", opts.tensorboard),
                                         ("--mlflow", opts.mlflow or opts.mlflow_uri),
                                         ("--schedule", opts.schedule not in (None, "constant"))) if on]
    if unsupported:
        raise ConfigError(f"{', '.join(unsupported)} cannot be used when training on a Parquet folder, which is "
                          "streamed one row group at a time")


def _split_groups(n_groups: int, test_split: float, seed: int) -> tuple[list[int], list[int]]:
    """Training and test row groups: ``test_split`` of the groups, drawn with ``seed`` (none when only one)."""
    n_test = min(n_groups - 1, int(np.ceil(test_split * n_groups))) if n_groups > 1 else 0
    order = np.random.default_rng(seed).permutation(n_groups)
    return sorted(int(g) for g in order[n_test:]), sorted(int(g) for g in order[:n_test])


def _classes(folder: ParquetFolder) -> list:
    """The sorted distinct targets, scanned group by group from the target column alone."""
    seen = np.unique(folder.targets(0))
    for index in range(1, len(folder.groups)):
        seen = np.union1d(seen, folder.targets(index))
    return seen.tolist()


def _streamed_scalers(folder: ParquetFolder, train: list[int], task: str, standardize: bool):
    """Feature (and regression target) scalers from per-group means and squared deviations, merged pairwise."""
    if not standardize:
        return None, None
    stats = [None, None]
    for index in train:
        X, y = folder.read(index)
        for k, values in enumerate((X, y.astype(np.float64).reshape(-1, 1) if task == "regression" else None)):
            if values is not None:
                stats[k] = _merge(stats[k], (values.shape[0], values.mean(axis=0),
                                             ((values - values.mean(axis=0)) ** 2).sum(axis=0)))
    return tuple(None if s is None else _scaler(*s) for s in stats)


def _merge(a, b):
    """Chan's pairwise merge of (count, mean, sum of squared deviations)."""
    if a is None:
        return b
    (n_a, mean_a, m2_a), (n_b, mean_b, m2_b) = a, b
    n = n_a + n_b
    delta = mean_b - mean_a
    return n, mean_a + delta * (n_b / n), m2_a + m2_b + delta ** 2 * (n_a * n_b / n)


def _scaler(n: int, mean: np.ndarray, m2: np.ndarray) -> Standardize:
    scale = np.sqrt(m2 / n)
    return Standardize(mean, np.where(scale > 1e-12 * (1 + np.abs(mean)), scale, 1.0))


def _group(model: Model, folder: ParquetFolder, index: int, classes) -> tuple[np.ndarray, np.ndarray]:
    """Row group ``index`` as the network takes it: scaled inputs, class indices or scaled targets."""
    X, y = folder.read(index)
    X = model.inputs(X, folder.folder)
    if classes is not None:
        return X, np.searchsorted(np.asarray(classes), y)
    y = y.astype(np.float64).reshape(-1, 1)
    return X, model.training_targets(y)


def _streamed_metrics(model: Model, folder: ParquetFolder, groups: list[int], classes) -> dict:
    """Accuracy, or R^2, MSE and MAE on the original scale, summed group by group."""
    sums = np.zeros(6)  # examples, correct or squared error, absolute error, sum y, sum y^2
    for index in groups:
        X, y = folder.read(index)  # raw rows: predict applies the saved preprocessing
        X = model.check_features(X, folder.folder)
        if classes is not None:
            y = np.searchsorted(np.asarray(classes), y)
            sums[:2] += (len(y), np.count_nonzero(predicted_index(model.net, model.net.predict_proba(X)) == y))
            continue
        truth = y.astype(np.float64).reshape(-1, 1)
        error = model.net.predict(X).astype(np.float64).reshape(truth.shape) - truth
        sums += (len(y), np.sum(error ** 2), np.sum(np.abs(error)), truth.sum(), np.sum(truth ** 2), 0)
    n = int(sums[0])
    if classes is not None:
        return {"task": "classification", "examples": n, "accuracy": float(sums[1] / n)}
    total = sums[4] - sums[3] ** 2 / n
    return {"task": "regression", "examples": n, "mse": float(sums[1] / n), "mae": float(sums[2] / n),
            "r2": float(1 - sums[1] / total) if total > 0 else 0.0}
