"""Data sets as the commands use them: the split of a training run, and labelled data to evaluate on."""

from __future__ import annotations

import hashlib
import shlex
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import ConfigError, DataError
from . import config as cfg
from .model import Model


def data_digest(X: np.ndarray, y: np.ndarray) -> str:
    """SHA-256 of the features and targets, to recognise the training data later (text columns by their text)."""
    digest = hashlib.sha256()
    X = np.asarray(X)
    X = X.astype(str) if X.dtype == object else np.ascontiguousarray(X, dtype=np.float64)
    for array in (X, np.ascontiguousarray(y)):
        digest.update(str(array.shape).encode())
        digest.update(array.tobytes())
    return digest.hexdigest()


def split_indices(y: np.ndarray, task: str, test_split: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Training and test row indices: stratified by class when every class can be split."""
    from sklearn.model_selection import train_test_split

    m = y.shape[0]
    index = np.arange(m)
    if test_split == 0:
        return index, index[:0]
    n_test = int(np.ceil(test_split * m))
    if n_test >= m:
        raise DataError(f"a test split of {test_split:g} leaves no training examples out of {m}; "
                        "use a smaller --test-split or --test-split 0")
    stratify = None
    if task == "classification":
        counts = np.bincount(y)
        n_classes = np.count_nonzero(counts)
        if counts[counts > 0].min() >= 2 and n_test >= n_classes and m - n_test >= n_classes:
            stratify = y
    train, test = train_test_split(index, test_size=test_split, random_state=seed, stratify=stratify)
    return np.sort(train), np.sort(test)


@dataclass
class TrainingData:
    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    classes: list | None
    task: str
    info: dict
    table: bool = False
    feature_names: list[str] | None = None


def load_training_data(opts: cfg.TrainOptions) -> TrainingData:
    """The data set of a run, split into training and test parts."""
    from ..data.datasets import IDX_SETS, load_dataset, load_split

    if opts.data in IDX_SETS:
        if opts.target is not None or opts.task == "regression":
            raise ConfigError(f"{opts.data} is a classification data set with a fixed target; drop --target "
                              "and --task regression")
        train, test = load_split(opts.data, timeout=opts.timeout)
        info = {"source": opts.data, "split": "official", "task": "classification"}
        return TrainingData(train.X, train.y, test.X, test.y, train.classes, "classification", info)
    data = load_dataset(opts.data, target=opts.target, task=opts.task)
    if data.task == "classification" and len(data.classes) < 2:
        raise DataError(f"{opts.data} has a single class ({data.classes[0]!r}); classification needs at least two")
    train, test = split_indices(data.y, data.task, opts.test_split, opts.seed)
    info = {"source": opts.data, "target": opts.target, "task": data.task, "split": "random",
            "test_split": opts.test_split, "seed": opts.seed, "n_samples": data.n_samples,
            "sha256": data_digest(data.X, data.y), "feature_names": data.feature_names,
            "target_name": data.target_name}
    return TrainingData(data.X[train], data.y[train], data.X[test], data.y[test], data.classes, data.task, info,
                        data.table, data.feature_names)


def _class_indices(model: Model, data_classes: list, y: np.ndarray, source: str) -> np.ndarray:
    """Re-express a data set's class indices as the model's class indices, matching labels by value."""
    known = {str(label): index for index, label in enumerate(model.labels)}
    mapping = []
    for label in data_classes:
        if str(label) not in known:
            raise DataError(f"{source} has class {label!r}, which the model was not trained on; its classes are "
                            f"{', '.join(map(str, model.labels))}")
        mapping.append(known[str(label)])
    return np.asarray(mapping, dtype=np.int64)[y]


def evaluation_data(model: Model, source: str | None, target: str | None, split: str,
                    timeout: float | None = None) -> tuple[np.ndarray, np.ndarray, str]:
    """Features as the model takes them (see :meth:`Model.rows`), targets (model class indices for
    classifiers) and a description of what was loaded."""
    from ..data.datasets import EMBEDDED, IDX_SETS, load_dataset, load_split

    trained = model.info.get("data", {})
    if source is None:
        source = trained.get("source")
        if source is None:
            raise ConfigError(f"{model.path} does not record its training data; give --data")
        if source not in EMBEDDED + IDX_SETS:  # a model file may come from anyone: read only what the user names
            target = trained.get("target")
            raise ConfigError(f"{model.path} was trained on {source!r}, which is not a built-in data set; "
                              f"without --data this would read the file {Path(source).absolute()}; to evaluate "
                              f"on it, give --data {shlex.quote(source)}"
                              f"{'' if target is None else f' --target {shlex.quote(str(target))}'}")
    if source in IDX_SETS:
        train, test = load_split(source, timeout=60.0 if timeout is None else timeout)
        parts = {"train": [train], "test": [test], "all": [train, test]}[split]
        X = model.rows(np.concatenate([part.X for part in parts]), None, source)
        y = np.concatenate([part.y for part in parts])
        return X, _class_indices(model, train.classes, y, source), f"{source} ({split})"
    if target is None and source == trained.get("source"):
        target = trained.get("target")
    data = None
    if target is None and trained.get("target_name") and model.columns:  # another table: its target by name
        try:
            data = load_dataset(source, target=trained["target_name"], task=model.task)
        except DataError as exc:
            if "not found in" not in str(exc) and "has no header row" not in str(exc):
                raise
    if data is None:
        data = load_dataset(source, target=target, task=model.task)
    X, y = data.X, data.y
    if split != "all":
        X, y = _split_part(model, trained, source, data, split)
    X = model.rows(X, data.feature_names, source, target=data.target_name)
    if model.task == "classification":
        y = _class_indices(model, data.classes, y, source)
    return X, y, f"{source}" + ("" if split == "all" else f" ({split} split)")


def _split_part(model: Model, trained: dict, source: str, data, split: str):
    if trained.get("split") != "random":
        raise ConfigError(f"{model.path} does not record a training split; use --split all")
    if trained.get("sha256") != data_digest(data.X, data.y):
        raise DataError(f"{source} is not the data {model.path} was trained on ({trained.get('source')}); "
                        "--split train/test reproduces the split only on the same data")
    if split == "test" and trained["test_split"] == 0:
        raise ConfigError(f"{model.path} was trained on all of its data (test split 0); there is no test part")
    train, test = split_indices(data.y, data.task, trained["test_split"], trained["seed"])
    rows = train if split == "train" else test
    return data.X[rows], data.y[rows]
