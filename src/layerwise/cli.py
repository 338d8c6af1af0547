"""The ``layerwise`` command: train, evaluate, predict, info, gradcheck, explain, export, diagnose.

Each sub-command is one ``cmd_*`` function. Bad input of any kind (arguments,
files, data) ends with one line on stderr, ``layerwise: error: ...``, and exit
status 2; ``--debug`` shows the traceback as well.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import hashlib
import json
import os
import sys
import time
import traceback
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import __version__
from . import config as cfg
from .errors import ConfigError, DataError, LayerwiseError, ModelFileError, ShapeError

PROG = "layerwise"
META_KEY = "cli"
FEATURE_SCALER = ("scaler.mean", "scaler.scale")
TARGET_SCALER = ("target_scaler.mean", "target_scaler.scale")
REGRESSION_LOSSES = ("mse", "mae", "huber")


# ====================================================================== parsing
class Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line starting ``layerwise: error:``."""

    def error(self, message: str):
        self.exit(2, f"{PROG}: error: {message} (see '{self.prog} --help')\n")


def _command(commands, name: str, summary: str, examples: str, common: Parser) -> Parser:
    return commands.add_parser(name, help=summary, description=summary, parents=[common],
                               epilog="examples:\n" + examples, formatter_class=argparse.RawDescriptionHelpFormatter)


def _default(key: str) -> str:
    value = getattr(cfg.TrainOptions(), key)
    if isinstance(value, tuple):
        value = ",".join(map(str, value))
    return f" (default: {value})"


def _add_architecture_options(parser: Parser, defaults: bool = True) -> None:
    """--hidden, --activation, --output-activation, --loss."""
    show = _default if defaults else (lambda key: "")
    group = parser.add_argument_group("network")
    group.add_argument("--hidden", type=cfg.hidden_sizes, metavar="N,N,...",
                       help="hidden layer widths, e.g. 128,64; '' for none" + show("hidden"))
    group.add_argument("--activation", type=cfg.activation_name, metavar="NAME",
                       help=f"hidden activation: {', '.join(cfg.activation_name.names)}" + show("activation"))
    group.add_argument("--output-activation", type=cfg.activation_name, metavar="NAME",
                       help="output activation (default: softmax for cross_entropy, sigmoid for "
                            "binary_cross_entropy, identity otherwise)")
    group.add_argument("--loss", type=cfg.loss_name, metavar="NAME",
                       help=f"{', '.join(cfg.loss_name.names)} (default: cross_entropy for classification, "
                            "mse for regression)")


def _add_data_options(parser: Parser, show_default: bool = True):
    group = parser.add_argument_group("data")
    group.add_argument("--data", type=cfg.text, metavar="SOURCE",
                       help="digits, iris, wine, breast_cancer, diabetes, mnist, fashion-mnist, or a .csv/.npz/.npy "
                            "file" + (_default("data") if show_default else ""))
    group.add_argument("--target", type=cfg.text, metavar="COLUMN",
                       help="target column of a CSV/NPY file, by name or index (default: the last)")
    return group


def _add_training_options(parser: Parser) -> None:
    """Every option of ``train`` (also used by ``diagnose``); all default to None (= not given)."""
    parser.add_argument("--config", metavar="FILE", help="TOML file of options; the command line overrides it")
    data = _add_data_options(parser)
    data.add_argument("--task", type=cfg.task_name, metavar="TASK",
                      help="auto, classification or regression" + _default("task"))
    data.add_argument("--test-split", type=cfg.fraction, metavar="F",
                      help="fraction held out as the test set, stratified for classification; 0 for none; "
                           "mnist and fashion-mnist use their official test set" + _default("test_split"))
    data.add_argument("--standardize", action=argparse.BooleanOptionalAction, default=None,
                      help="scale features (and regression targets) to mean 0, variance 1 on the training set; "
                           "the scaler is saved with the model (default: on)")
    _add_architecture_options(parser)
    group = parser.add_argument_group("training")
    group.add_argument("--epochs", type=cfg.positive_int, metavar="N", help="epochs" + _default("epochs"))
    group.add_argument("--batch-size", type=cfg.positive_int, metavar="N", help="batch size" + _default("batch_size"))
    group.add_argument("--optimizer", type=cfg.optimizer_name, metavar="NAME",
                       help=f"{', '.join(cfg.optimizer_name.names)}" + _default("optimizer"))
    group.add_argument("--lr", type=cfg.positive_float, metavar="RATE",
                       help="learning rate (default: the optimizer's, 0.001 for adam)")
    group.add_argument("--schedule", type=cfg.schedule_name, metavar="NAME",
                       help=f"learning-rate schedule: {', '.join(cfg.schedule_name.names)}" + _default("schedule"))
    group.add_argument("--l2", type=cfg.non_negative_float, metavar="LAMBDA", help="L2 penalty" + _default("l2"))
    group.add_argument("--dropout", type=cfg.fraction, metavar="RATE",
                       help="dropout rate after each hidden layer" + _default("dropout"))
    group.add_argument("--clip-norm", type=cfg.positive_float, metavar="NORM", help="clip the gradient norm")
    group.add_argument("--early-stopping", action=argparse.BooleanOptionalAction, default=None,
                       help="stop when the validation loss stops improving and keep the best weights")
    group.add_argument("--patience", type=cfg.non_negative_int, metavar="N",
                       help="epochs without improvement before early stopping" + _default("patience"))
    group.add_argument("--val-split", type=cfg.fraction, metavar="F",
                       help="fraction of the training set held out for validation (default: 0.1 with "
                            "--early-stopping, else 0)")
    group.add_argument("--seed", type=cfg.non_negative_int, metavar="N",
                       help="seed of the split, the initialisation and the shuffling" + _default("seed"))
    group.add_argument("--dtype", type=cfg.dtype_name, metavar="TYPE", help="float32 or float64" + _default("dtype"))
    group.add_argument("--threads", type=cfg.positive_int, metavar="N",
                       help="limit the BLAS threads (needs threadpoolctl)")
    group.add_argument("--resume", type=cfg.text, metavar="CHECKPOINT",
                       help="continue from a checkpoint.safetensors written by an earlier run")
    output = parser.add_argument_group("output")
    output.add_argument("--out", type=cfg.text, metavar="DIR", help="run directory (default: runs/<timestamp>)")
    output.add_argument("--quiet", action="store_true", default=None, help="print only the final result")
    output.add_argument("--diagnose", action=argparse.BooleanOptionalAction, default=None,
                        help="watch per-layer gradient health; writes diagnostics.json and diagnostics.png")
    output.add_argument("--tensorboard", type=cfg.text, metavar="DIR",
                        help="also log the gradient diagnostics to TensorBoard in DIR (implies --diagnose)")


def _add_random_network_options(parser: Parser, hidden: str) -> None:
    _add_architecture_options(parser, defaults=False)
    group = parser.add_argument_group("random network")
    group.add_argument("--inputs", type=cfg.positive_int, default=4, metavar="N",
                       help="input features n_0 (default: 4)")
    group.add_argument("--outputs", type=cfg.positive_int, default=3, metavar="N",
                       help="output units n_L (default: 3)")
    group.add_argument("--seed", type=cfg.non_negative_int, default=0, metavar="N", help="random seed (default: 0)")
    parser.set_defaults(default_hidden=hidden)


def build_parser() -> Parser:
    """The argument parser of the ``layerwise`` command."""
    parser = Parser(prog=PROG, formatter_class=argparse.RawDescriptionHelpFormatter,
                    description="Train, inspect and use feedforward neural networks trained by backpropagation.",
                    epilog="start with:\n  layerwise train          train on the bundled digits and save a run\n"
                           "  layerwise COMMAND --help for the options of a command")
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    parser.add_argument("--debug", action="store_true", help="show the traceback of an error")
    common = Parser(add_help=False)
    common.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                        help="show the traceback of an error")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)

    train = _command(commands, "train", "Train a network and save it with its history and curves.",
                     "  layerwise train\n  layerwise train --data iris --hidden 16 --epochs 50 --out runs/iris\n"
                     "  layerwise train --data houses.csv --target price --task regression --early-stopping\n"
                     "  layerwise train --config experiment.toml --lr 0.01", common)
    _add_training_options(train)
    train.set_defaults(handler=cmd_train)

    evaluate = _command(commands, "evaluate", "Measure a saved model on labelled data.",
                        "  layerwise evaluate runs/iris/model.safetensors --split test\n"
                        "  layerwise evaluate model.safetensors --data test.csv --target label --json", common)
    evaluate.add_argument("model", metavar="MODEL", help="a model.safetensors file")
    _add_data_options(evaluate, show_default=False)
    evaluate.add_argument("--split", choices=("all", "train", "test"), default="all",
                          help="evaluate on all of the data, or on the training or test part of the model's own "
                               "split (same data, same seed) (default: all)")
    evaluate.add_argument("--json", action="store_true", help="print the metrics as JSON")
    evaluate.add_argument("--plot", metavar="PNG",
                          help="confusion-matrix figure (default: confusion.png beside the model)")
    evaluate.add_argument("--no-plot", action="store_true", help="do not draw the confusion matrix")
    evaluate.set_defaults(handler=cmd_evaluate)

    predict = _command(commands, "predict", "Predict with a saved model; CSV out.",
                       "  layerwise predict model.safetensors new.csv\n"
                       "  layerwise predict model.safetensors inputs.npy --proba --output predictions.csv\n"
                       "  cat new.csv | layerwise predict model.safetensors -", common)
    predict.add_argument("model", metavar="MODEL", help="a model.safetensors file")
    predict.add_argument("input", metavar="INPUT", help="features: a .csv, .npz or .npy file, or - for CSV on stdin")
    predict.add_argument("--output", "-o", metavar="FILE", help="write the CSV here (default: standard output)")
    predict.add_argument("--proba", action="store_true", help="add the class probabilities (classifiers)")
    predict.set_defaults(handler=cmd_predict)

    info = _command(commands, "info", "Show a model's layers, shapes and parameter counts.",
                    "  layerwise info runs/iris/model.safetensors", common)
    info.add_argument("model", metavar="MODEL", help="a model.safetensors file")
    info.add_argument("--json", action="store_true", help="print the description as JSON")
    info.set_defaults(handler=cmd_info)

    gradcheck = _command(commands, "gradcheck", "Check backpropagation against finite differences (float64).",
                         "  layerwise gradcheck\n  layerwise gradcheck --hidden 8,8 --activation tanh --loss mse",
                         common)
    _add_random_network_options(gradcheck, hidden="5,4")
    gradcheck.add_argument("--batch", type=cfg.positive_int, default=8, metavar="M",
                           help="examples in the batch (default: 8)")
    gradcheck.add_argument("--tolerance", type=cfg.positive_float, default=1e-6, metavar="TOL",
                           help="largest relative error accepted (default: 1e-6)")
    gradcheck.set_defaults(handler=cmd_gradcheck)

    explain = _command(commands, "explain", "Print the backpropagation equations with the shape of every term.",
                       "  layerwise explain --hidden 64,32 --inputs 64 --outputs 10\n"
                       "  layerwise explain runs/iris/model.safetensors --batch 16 --run", common)
    explain.add_argument("model", metavar="MODEL", nargs="?", help="a model.safetensors file (or use --hidden)")
    _add_random_network_options(explain, hidden="64,32")
    explain.add_argument("--batch", type=cfg.positive_int, default=32, metavar="M",
                         help="examples in the batch, m (default: 32)")
    explain.add_argument("--run", action="store_true",
                         help="run one forward and backward pass and print the norm of each gradient")
    explain.add_argument("--data", type=cfg.text, metavar="SOURCE",
                         help="with --run and a MODEL: take the batch from this data (default: random)")
    explain.set_defaults(handler=cmd_explain)

    export = _command(commands, "export", "Export a saved model to ONNX.",
                      "  layerwise export runs/iris/model.safetensors --onnx iris.onnx", common)
    export.add_argument("model", metavar="MODEL", help="a model.safetensors file")
    export.add_argument("--onnx", metavar="FILE", required=True, help="the ONNX file to write")
    export.set_defaults(handler=cmd_export)

    diagnose = _command(commands, "diagnose", "Report per-layer gradient health, of a run or of a short training.",
                        "  layerwise diagnose runs/20260101-120000\n"
                        "  layerwise diagnose --data iris --hidden 32,32,32 --activation sigmoid --epochs 5", common)
    diagnose.add_argument("run_dir", metavar="RUN_DIR", nargs="?",
                          help="a run directory written by 'train --diagnose' (or train afresh with the options)")
    _add_training_options(diagnose)
    diagnose.set_defaults(handler=cmd_diagnose)
    return parser


# ====================================================================== errors
def _message(exc: BaseException) -> str:
    if isinstance(exc, OSError) and not isinstance(exc, LayerwiseError) and exc.strerror:
        text = f"{exc.strerror}: {exc.filename}" if exc.filename else exc.strerror
    else:
        text = str(exc) or type(exc).__name__
    return " ".join(text.split())


def main(argv: list[str] | None = None) -> int:
    """Run the ``layerwise`` command; return its exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    try:
        return args.handler(args) or 0
    except BrokenPipeError:  # the reader of our output went away (``layerwise predict ... | head``)
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except (LayerwiseError, OSError) as exc:
        if getattr(args, "debug", False):
            traceback.print_exc()
        print(f"{PROG}: error: {_message(exc)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130


def _say(message: str, quiet: bool = False) -> None:
    if not quiet:
        print(message, file=sys.stderr, flush=True)


# ====================================================================== data and models
@dataclass
class Scaler:
    """Standardisation ``(x - mean) / scale``; constant columns keep scale 1."""

    mean: np.ndarray
    scale: np.ndarray

    @classmethod
    def fit(cls, values: np.ndarray) -> Scaler:
        values = np.asarray(values, dtype=np.float64).reshape(values.shape[0], -1)
        scale = values.std(axis=0)
        return cls(values.mean(axis=0), np.where(scale > 1e-12 * (1 + np.abs(values.mean(axis=0))), scale, 1.0))

    def transform(self, values: np.ndarray) -> np.ndarray:
        """Standardise, in the precision of ``values`` when it is floating point."""
        dtype = values.dtype if values.dtype.kind == "f" else np.float64
        return (values - self.mean.astype(dtype).reshape(1, -1)) / self.scale.astype(dtype).reshape(1, -1)

    def inverse(self, values: np.ndarray) -> np.ndarray:
        return values * self.scale.reshape(1, -1) + self.mean.reshape(1, -1)


@dataclass
class Model:
    """A network with what the command line saved beside it."""

    net: object
    features: Scaler | None
    targets: Scaler | None
    info: dict
    path: Path
    format_version: int
    library_version: str

    @property
    def task(self) -> str:
        return "classification" if self.net.is_classifier else "regression"

    @property
    def labels(self) -> list:
        """The class labels (class indices when the network has none)."""
        if self.net.classes is not None:
            return list(self.net.classes)
        return list(range(self.net.dense[-1].units if self.net.loss_fn.name == "cross_entropy" else 2))

    def check_features(self, X: np.ndarray, source: str) -> None:
        """Raise ShapeError unless ``X`` has as many columns as the network has inputs."""
        n = self.net.input_dim
        if X.shape[1] != n:
            hint = " (leave out the target column)" if X.shape[1] == n + 1 else ""
            raise ShapeError(f"the model expects {n} feature(s), but {source} has {X.shape[1]} column(s){hint}")

    def inputs(self, X: np.ndarray, source: str) -> np.ndarray:
        """Check the number of features and apply the saved scaler."""
        self.check_features(X, source)
        X = self.features.transform(X) if self.features is not None else X
        return X.astype(self.net.dtype, copy=False)

    def outputs(self, AL: np.ndarray) -> np.ndarray:
        """Regression outputs on the scale of the targets."""
        return self.targets.inverse(AL) if self.targets is not None else AL


def _scaler(tensors: dict, names: tuple[str, str], size: int, path) -> Scaler | None:
    if names[0] not in tensors:
        return None
    mean, scale = (np.asarray(tensors.get(name), dtype=np.float64) for name in names)
    if mean.shape != (size,) or scale.shape != (size,) or not (np.isfinite(mean).all() and (scale > 0).all()):
        raise ModelFileError(f"{path}: the saved scaler {names[0]} does not fit the network ({size} values expected)")
    return Scaler(mean, scale)


def load_model(path) -> Model:
    """Read a model file with its scalers and training information."""
    from . import io

    saved = io.read(path)
    net = saved.network
    features = _scaler(saved.tensors, FEATURE_SCALER, net.input_dim, path)
    targets = _scaler(saved.tensors, TARGET_SCALER, net.dense[-1].units, path)
    info = saved.metadata.get(META_KEY, {})
    return Model(net, features, targets, info if isinstance(info, dict) else {}, Path(path), saved.format_version,
                 saved.library_version)


def save_model(path, model: Model) -> None:
    from . import io

    tensors = {}
    for names, scaler in ((FEATURE_SCALER, model.features), (TARGET_SCALER, model.targets)):
        if scaler is not None:
            tensors[names[0]], tensors[names[1]] = scaler.mean, scaler.scale
    io.save(model.net, path, tensors=tensors, metadata={META_KEY: model.info})


def data_digest(X: np.ndarray, y: np.ndarray) -> str:
    """SHA-256 of the features and targets, to recognise the training data later."""
    digest = hashlib.sha256()
    for array in (np.ascontiguousarray(X, dtype=np.float64), np.ascontiguousarray(y)):
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


def load_training_data(opts: cfg.TrainOptions) -> TrainingData:
    """The data set of a run, split into training and test parts."""
    from .datasets import IDX_SETS, load_dataset, load_split

    if opts.data in IDX_SETS:
        if opts.target is not None or opts.task == "regression":
            raise ConfigError(f"{opts.data} is a classification data set with a fixed target; drop --target "
                              "and --task regression")
        train, test = load_split(opts.data)
        info = {"source": opts.data, "split": "official", "task": "classification"}
        return TrainingData(train.X, train.y, test.X, test.y, train.classes, "classification", info)
    data = load_dataset(opts.data, target=opts.target, task=opts.task)
    if data.task == "classification" and len(data.classes) < 2:
        raise DataError(f"{opts.data} has a single class ({data.classes[0]!r}); classification needs at least two")
    train, test = split_indices(data.y, data.task, opts.test_split, opts.seed)
    info = {"source": opts.data, "target": opts.target, "task": data.task, "split": "random",
            "test_split": opts.test_split, "seed": opts.seed, "n_samples": data.n_samples,
            "sha256": data_digest(data.X, data.y), "feature_names": data.feature_names}
    return TrainingData(data.X[train], data.y[train], data.X[test], data.y[test], data.classes, data.task, info)


def _output_layer(opts: cfg.TrainOptions, data: TrainingData) -> tuple[str, str, int]:
    """The loss, output activation and output units that suit the task."""
    loss = opts.loss or ("cross_entropy" if data.task == "classification" else "mse")
    if data.task == "classification":
        if loss in REGRESSION_LOSSES:
            raise ConfigError(f"loss {loss} is for regression, but {opts.data} is a classification task; use "
                              "cross_entropy or binary_cross_entropy, or --task regression")
        if loss == "binary_cross_entropy" and len(data.classes) != 2:
            raise ConfigError(f"binary_cross_entropy needs exactly 2 classes, {opts.data} has {len(data.classes)}; "
                              "use cross_entropy")
        units = len(data.classes) if loss == "cross_entropy" else 1
    else:
        if loss not in REGRESSION_LOSSES:
            raise ConfigError(f"loss {loss} is for classification, but {opts.data} is a regression task; use "
                              f"{', '.join(REGRESSION_LOSSES)}, or --task classification")
        units = 1 if data.y_train.ndim == 1 else data.y_train.shape[1]
    default = {"cross_entropy": "softmax", "binary_cross_entropy": "sigmoid"}.get(loss, "identity")
    return loss, opts.output_activation or default, units


def build_network(hidden, activation: str, output_activation: str, units: int, loss: str, n_inputs: int,
                  seed: int, dtype: str = "float64", dropout: float = 0.0, l2: float = 0.0):
    """A Network of Dense layers (with Dropout after each hidden one when ``dropout`` > 0)."""
    from .layers import Dense, Dropout
    from .network import Network

    layers = []
    for width in hidden:
        layers.append(Dense(width, activation))
        if dropout:
            layers.append(Dropout(dropout))
    layers.append(Dense(units, output_activation))
    return Network(layers, loss=loss, input_dim=n_inputs, seed=seed, dtype=dtype, l2=l2)


def describe(net) -> str:
    """``4 -> 16 (relu) -> 3 (softmax)``."""
    parts = [str(net.input_dim)]
    for layer in net.layers:
        parts.append(f"{layer.units} ({layer.activation.name})" if hasattr(layer, "units") else f"dropout {layer.rate}")
    return " -> ".join(parts)


# ====================================================================== metrics
def predicted_index(net, AL: np.ndarray) -> np.ndarray:
    """Class index per row: argmax of a softmax, threshold 0.5 of a single sigmoid."""
    if net.loss_fn.name == "binary_cross_entropy":
        if AL.shape[1] != 1:
            raise ConfigError("multi-label networks (several sigmoid outputs) are not supported by this command")
        return (AL[:, 0] > 0.5).astype(np.int64)
    return AL.argmax(axis=1)


def probabilities(net, AL: np.ndarray) -> np.ndarray:
    """Class probabilities, one column per class (two for a single sigmoid output)."""
    if net.loss_fn.name == "binary_cross_entropy":
        return np.column_stack([1 - AL[:, 0], AL[:, 0]])
    return AL


def classification_metrics(model: Model, X: np.ndarray, y: np.ndarray) -> dict:
    """Accuracy, per-class precision / recall / F1 and the confusion matrix (scikit-learn's metrics)."""
    from sklearn import metrics

    predicted = predicted_index(model.net, model.net.predict_proba(X))
    labels = model.labels
    ids = list(range(len(labels)))
    precision, recall, f1, support = metrics.precision_recall_fscore_support(y, predicted, labels=ids,
                                                                             zero_division=0)
    per_class = [{"class": label, "precision": float(p), "recall": float(r), "f1": float(f), "support": int(s)}
                 for label, p, r, f, s in zip(labels, precision, recall, f1, support)]
    averages = {}
    for average in ("macro", "weighted"):
        p, r, f, _ = metrics.precision_recall_fscore_support(y, predicted, labels=ids, average=average,
                                                             zero_division=0)
        averages[average] = {"precision": float(p), "recall": float(r), "f1": float(f)}
    return {"task": "classification", "examples": int(y.shape[0]),
            "accuracy": float(metrics.accuracy_score(y, predicted)), "per_class": per_class,
            "macro_avg": averages["macro"], "weighted_avg": averages["weighted"],
            "confusion_matrix": metrics.confusion_matrix(y, predicted, labels=ids).tolist()}


def regression_metrics(model: Model, X: np.ndarray, y: np.ndarray) -> dict:
    """MSE, MAE and R^2 on the scale of the targets (scikit-learn's metrics)."""
    from sklearn import metrics

    predicted = model.outputs(model.net.predict_proba(X).astype(np.float64))
    y = y.reshape(predicted.shape)
    r2 = float(metrics.r2_score(y, predicted)) if y.shape[0] > 1 else float("nan")
    return {"task": "regression", "examples": int(y.shape[0]), "mse": float(metrics.mean_squared_error(y, predicted)),
            "mae": float(metrics.mean_absolute_error(y, predicted)), "r2": r2}


def measure(model: Model, X: np.ndarray, y: np.ndarray) -> dict:
    if model.task == "classification":
        return classification_metrics(model, X, y)
    return regression_metrics(model, X, y)


def summary_line(metrics: dict) -> str:
    if metrics["task"] == "classification":
        return f"accuracy {metrics['accuracy']:.4f} on {metrics['examples']} examples"
    return (f"R^2 {metrics['r2']:.4f}  MSE {metrics['mse']:.6g}  MAE {metrics['mae']:.6g} "
            f"on {metrics['examples']} examples")


# ====================================================================== train
@contextlib.contextmanager
def thread_limit(threads: int | None):
    """Limit the BLAS thread pools with threadpoolctl when it is installed."""
    if threads is None:
        yield
        return
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        _say(f"{PROG}: warning: --threads needs the threadpoolctl package; running with the default threads")
        yield
        return
    with threadpool_limits(limits=threads):
        yield


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


@contextlib.contextmanager
def run_directory(out: str | None):
    """Create the run directory (``runs/<timestamp>`` by default); remove it again if the run fails before writing."""
    if out is None:
        base = Path("runs") / time.strftime("%Y%m%d-%H%M%S")
        path, count = base, 1
        while path.exists():
            count += 1
            path = base.with_name(f"{base.name}-{count}")
    else:
        path = Path(out)
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
                path.rmdir()  # only when still empty
        raise


def write_history(run_dir: Path, history: dict) -> None:
    """history.json (the History dict) and history.csv (one row per epoch, epochs counted from 1)."""
    with open(run_dir / "history.json", "w", encoding="utf-8") as stream:
        json.dump(history, stream, indent=1)
    keys = [key for key in history if key != "epoch"]
    with open(run_dir / "history.csv", "w", newline="", encoding="utf-8") as stream:
        writer = csv.writer(stream)
        writer.writerow(["epoch", *keys])
        for row, epoch in enumerate(history["epoch"]):
            writer.writerow([epoch + 1, *(f"{history[key][row]:.8g}" for key in keys)])


def _monitor(opts: cfg.TrainOptions, n_train: int):
    """A GradientMonitor sampling every 10th batch, or more often so that a short run gets about 50 samples."""
    if not (opts.diagnose or opts.tensorboard):
        return None
    from .diagnostics import GradientMonitor

    steps = -(-n_train // opts.batch_size) * opts.epochs
    return GradientMonitor(every=max(1, min(10, steps // 50)), tensorboard_dir=opts.tensorboard, stream=sys.stderr)


class Announce:
    """A callback that prints a line when training begins (after a checkpoint has been restored)."""

    def __init__(self, message: str, quiet: bool):
        self.message, self.quiet = message, quiet

    def on_train_begin(self, net, logs) -> None:
        _say(self.message, self.quiet)


def new_model(opts: cfg.TrainOptions, data: TrainingData) -> Model:
    """An initialised network shaped for the data, with scalers fitted on the training part."""
    loss, output_activation, units = _output_layer(opts, data)
    features = Scaler.fit(data.X_train) if opts.standardize else None
    scale_targets = opts.standardize and data.task == "regression" and output_activation == "identity"
    targets = Scaler.fit(data.y_train) if scale_targets else None
    net = build_network(opts.hidden, opts.activation, output_activation, units, loss, data.X_train.shape[1],
                        opts.seed, opts.dtype, opts.dropout, opts.l2)
    net.classes = data.classes
    return Model(net, features, targets, {}, Path("model.safetensors"), 0, __version__)


def fit_model(model: Model, opts: cfg.TrainOptions, data: TrainingData, run_dir: Path):
    """Train with the options, checkpointing into the run directory; return the History and the monitor."""
    from .callbacks import EarlyStopping

    X_train = model.inputs(data.X_train, opts.data)
    y_train = data.y_train
    if model.targets is not None:
        y_train = model.targets.transform(y_train).reshape(y_train.shape)
    val_split = opts.val_split if opts.val_split is not None else (0.1 if opts.early_stopping else 0.0)
    header = Announce(f"training {describe(model.net)} on {opts.data}: {len(X_train)} training and "
                      f"{len(data.X_test)} test examples; {opts.optimizer}, {opts.epochs} epochs; writing {run_dir}",
                      opts.quiet)
    monitor = _monitor(opts, len(X_train))
    history = model.net.fit(
        X_train, y_train, epochs=opts.epochs, batch_size=opts.batch_size, optimizer=opts.optimizer, lr=opts.lr,
        schedule=opts.schedule, validation_split=val_split,
        early_stopping=EarlyStopping(patience=opts.patience) if opts.early_stopping else None,
        clip_norm=opts.clip_norm, checkpoint=run_dir / "checkpoint.safetensors", resume_from=opts.resume,
        diagnostics=monitor if monitor is not None else False, callbacks=[header], verbose=0 if opts.quiet else 1)
    return history, monitor


def train_run(opts: cfg.TrainOptions) -> tuple[Model, dict, Path, object]:
    """Train, measure on the test part and write the run directory; return the model, metrics, directory, monitor."""
    from . import plots

    if opts.resume is not None and not Path(opts.resume).is_file():
        raise ConfigError(f"the checkpoint {opts.resume} to resume from does not exist")
    check_run_dir(opts.out)
    data = load_training_data(opts)
    model = new_model(opts, data)
    with run_directory(opts.out) as run_dir:
        model.path = run_dir / "model.safetensors"
        history, monitor = fit_model(model, opts, data, run_dir)
        tested_on = "test" if len(data.X_test) else "train"
        X, y = (data.X_test, data.y_test) if len(data.X_test) else (data.X_train, data.y_train)
        metrics = measure(model, model.inputs(X, opts.data), y)
        model.info = {"data": data.info, "options": opts.to_dict(), "test_metrics": _headline(metrics),
                      "tested_on": tested_on}
        save_model(model.path, model)
        write_history(run_dir, history.to_dict())
        plots.training_curves(history.to_dict(), run_dir / "curves.png", title=f"{opts.data}: {describe(model.net)}")
    return model, metrics, run_dir, monitor


def _headline(metrics: dict) -> dict:
    return {key: value for key, value in metrics.items() if key in ("examples", "accuracy", "mse", "mae", "r2")}


def write_diagnostics(monitor, run_dir: Path) -> list[str]:
    """diagnostics.json and diagnostics.png in the run directory; return the files written."""
    with open(run_dir / "diagnostics.json", "w", encoding="utf-8") as stream:
        json.dump(monitor.to_dict(), stream, indent=1)
    monitor.plot(run_dir / "diagnostics.png")
    return ["diagnostics.json", "diagnostics.png"]


def _train_options(args, **defaults) -> cfg.TrainOptions:
    values = {key: value for key, value in vars(args).items() if key not in ("config", "handler", "command")}
    return cfg.resolve_train_options(values, args.config, defaults)


def cmd_train(args) -> int:
    """``layerwise train``: train, report the test result, write the run directory."""
    opts = _train_options(args)
    with thread_limit(opts.threads):
        model, metrics, run_dir, monitor = train_run(opts)
    files = ["model.safetensors", "checkpoint.safetensors", "history.csv", "history.json", "curves.png"]
    if monitor is not None:
        files += write_diagnostics(monitor, run_dir)
        count = len(monitor.warnings)
        print(f"gradient diagnostics: {count or 'no'} warning{'' if count == 1 else 's'}"
              f"{' (printed above)' if count else ''}; for the per-layer table run: {PROG} diagnose {run_dir}")
    part = "test" if model.info["tested_on"] == "test" else "training (no test split)"
    print(f"{part} {summary_line(metrics)}")
    _say(f"wrote {run_dir}: {', '.join(files)}", opts.quiet)
    return 0


# ====================================================================== evaluate
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


def evaluation_data(model: Model, source: str | None, target: str | None, split: str) -> tuple[np.ndarray, np.ndarray,
                                                                                                  str]:
    """Features, targets (model class indices for classifiers) and a description of what was loaded."""
    from .datasets import IDX_SETS, load_dataset, load_split

    trained = model.info.get("data", {})
    if source is None:
        source = trained.get("source")
        if source is None:
            raise ConfigError(f"{model.path} does not record its training data; give --data")
    if source in IDX_SETS:
        train, test = load_split(source)
        parts = {"train": [train], "test": [test], "all": [train, test]}[split]
        X = np.concatenate([part.X for part in parts])
        model.check_features(X, source)
        y = np.concatenate([part.y for part in parts])
        return X, _class_indices(model, train.classes, y, source), f"{source} ({split})"
    if target is None and source == trained.get("source"):
        target = trained.get("target")
    data = load_dataset(source, target=target, task=model.task)
    model.check_features(data.X, source)
    X, y = data.X, data.y
    if split != "all":
        X, y = _split_part(model, trained, source, data, split)
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


def cmd_evaluate(args) -> int:
    """``layerwise evaluate``: metrics of a saved model on labelled data."""
    model = load_model(args.model)
    X, y, description = evaluation_data(model, args.data, args.target, args.split)
    metrics = measure(model, model.inputs(X, description), y)
    metrics["data"] = description
    if metrics["task"] == "classification" and not args.no_plot:
        from . import plots

        path = Path(args.plot) if args.plot else model.path.parent / "confusion.png"
        plots.confusion_matrix(metrics["confusion_matrix"], model.labels, path, title=f"{description}")
        metrics["confusion_png"] = str(path)
    if args.json:
        print(json.dumps(metrics, indent=1))
    else:
        print(format_metrics(metrics))
    return 0


def format_metrics(metrics: dict) -> str:
    """The metrics as a human-readable report."""
    lines = [f"{metrics['data']}: {summary_line(metrics)}"]
    if metrics["task"] == "classification":
        width = max([len("weighted avg")] + [len(str(row["class"])) for row in metrics["per_class"]])
        lines.append(f"{'class':<{width}} {'precision':>9} {'recall':>9} {'f1':>9} {'support':>8}")
        for row in metrics["per_class"]:
            lines.append(f"{str(row['class']):<{width}} {row['precision']:>9.4f} {row['recall']:>9.4f} "
                         f"{row['f1']:>9.4f} {row['support']:>8}")
        for name in ("macro", "weighted"):
            row = metrics[f"{name}_avg"]
            lines.append(f"{name + ' avg':<{width}} {row['precision']:>9.4f} {row['recall']:>9.4f} {row['f1']:>9.4f}")
        if "confusion_png" in metrics:
            lines.append(f"confusion matrix: {metrics['confusion_png']}")
    return "\n".join(lines)


# ====================================================================== predict
def cmd_predict(args) -> int:
    """``layerwise predict``: predictions as CSV, labels as they were in training."""
    from .datasets import read_features

    model = load_model(args.model)
    if args.proba and model.task != "classification":
        raise ConfigError("--proba applies to classifiers; this model does regression")
    source = "standard input" if args.input == "-" else args.input
    X, _ = read_features(args.input)
    AL = model.net.predict_proba(model.inputs(X, source))
    if model.task == "classification":
        header, rows = _classification_rows(model, AL, args.proba)
    else:
        values = model.outputs(AL.astype(np.float64))
        header = ["prediction"] if values.shape[1] == 1 else [f"prediction_{k}" for k in range(values.shape[1])]
        rows = ([f"{value:.8g}" for value in row] for row in values)
    if args.output:
        try:
            with open(args.output, "w", newline="", encoding="utf-8") as stream:
                _write_csv(stream, header, rows)
        except OSError as exc:
            raise DataError(f"cannot write {args.output}: {exc.strerror or exc}") from None
    else:
        _write_csv(sys.stdout, header, rows)
    return 0


def _classification_rows(model: Model, AL: np.ndarray, proba: bool):
    labels = model.labels
    predicted = predicted_index(model.net, AL)
    header = ["prediction"]
    if not proba:
        return header, ([labels[index]] for index in predicted)
    header += [f"proba_{label}" for label in labels]
    P = probabilities(model.net, AL)
    return header, ([labels[index], *(f"{p:.6g}" for p in row)] for index, row in zip(predicted, P))


def _write_csv(stream, header: list, rows) -> None:
    writer = csv.writer(stream, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)


# ====================================================================== info
def model_description(model: Model) -> dict:
    """Layers, shapes and counts of a saved model, JSON-compatible."""
    net, layers, l = model.net, [], 0
    for layer in net.layers:
        if hasattr(layer, "units"):
            l += 1
            layers.append({"layer": l, "type": "Dense", "W": list(layer.W.shape), "b": list(layer.b.shape),
                           "activation": layer.activation.name, "parameters": int(layer.W.size + layer.b.size)})
        else:
            layers.append({"layer": None, "type": f"Dropout({layer.rate:g})", "W": None, "b": None,
                           "activation": None, "parameters": 0})
    return {"file": str(model.path), "format_version": model.format_version,
            "library_version": model.library_version, "loss": net.loss_fn.name, "dtype": net.dtype.name,
            "inputs": net.input_dim, "outputs": net.dense[-1].units, "layers": layers,
            "parameters": int(net.n_params), "bytes": int(net.n_params * net.dtype.itemsize),
            "classes": None if net.classes is None else list(net.classes),
            "standardized_inputs": model.features is not None, "standardized_targets": model.targets is not None,
            "trained_on": model.info.get("data", {}).get("source"), "test_metrics": model.info.get("test_metrics")}


def _shape(value) -> str:
    return "-" if value is None else str(tuple(value))


def cmd_info(args) -> int:
    """``layerwise info``: a table of the layers and the totals."""
    description = model_description(load_model(args.model))
    if args.json:
        print(json.dumps(description, indent=1))
        return 0
    lines = [f"{'layer':<6} {'type':<13} {'W':<13} {'b':<9} {'activation':<11} {'parameters':>10}"]
    for row in description["layers"]:
        lines.append(f"{row['layer'] or '':<6} {row['type']:<13} {_shape(row['W']):<13} {_shape(row['b']):<9} "
                     f"{row['activation'] or '-':<11} {row['parameters']:>10,}")
    classes = description["classes"]
    lines += [f"total parameters: {description['parameters']:,} ({description['bytes']:,} bytes, "
              f"{description['dtype']})",
              f"inputs: {description['inputs']}  outputs: {description['outputs']}  loss: {description['loss']}",
              f"classes: {'none (regression)' if classes is None else ', '.join(map(str, classes))}",
              f"standardized inputs: {'yes' if description['standardized_inputs'] else 'no'}"
              f"  standardized targets: {'yes' if description['standardized_targets'] else 'no'}",
              f"file format version: {description['format_version']} (written by layerwise "
              f"{description['library_version']})"]
    if description["trained_on"]:
        metrics = description["test_metrics"] or {}
        result = "  ".join(f"{key} {value:.4g}" for key, value in metrics.items() if key != "examples")
        lines.append(f"trained on: {description['trained_on']}  {result}".rstrip())
    print("\n".join(lines))
    return 0


# ====================================================================== gradcheck, explain
def random_network(args, dtype: str = "float64"):
    """A network from --hidden/--activation/--output-activation/--loss/--inputs/--outputs/--seed."""
    hidden = args.hidden if args.hidden is not None else cfg.hidden_sizes(args.default_hidden)
    loss = args.loss or "cross_entropy"
    output = args.output_activation or {"cross_entropy": "softmax", "binary_cross_entropy": "sigmoid"}.get(
        loss, "identity")
    return build_network(hidden, args.activation or "relu", output, args.outputs, loss, args.inputs, args.seed, dtype)


def random_batch(net, m: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Standard-normal inputs and targets that suit the network's loss."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((m, net.input_dim))
    K = net.dense[-1].units
    if net.loss_fn.name == "cross_entropy":
        return X, rng.integers(0, K, size=m)
    if net.loss_fn.name == "binary_cross_entropy":
        return X, rng.integers(0, 2, size=(m, K)).astype(np.float64)
    return X, rng.standard_normal((m, K))


def cmd_gradcheck(args) -> int:
    """``layerwise gradcheck``: exit status 0 when backpropagation matches finite differences, 1 otherwise."""
    from .gradcheck import gradcheck

    net = random_network(args)
    X, Y = random_batch(net, args.batch, args.seed)
    for l in range(1, net.L + 1):  # nonzero biases: no pre-activation sits exactly on a kink such as ReLU's 0
        net.params[f"b{l}"][...] = np.random.default_rng(args.seed + l).uniform(-0.5, 0.5, net.dense[l - 1].units)
    report = gradcheck(net, X, Y, tolerance=args.tolerance)
    print(f"gradient check of {describe(net)}, loss {net.loss_fn.name}, m = {args.batch}, float64")
    print(report)
    return 0 if report.ok else 1


def _explain_batch(model: Model, source: str, m: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``m`` random rows of labelled data, prepared as the model expects them."""
    X, y, description = evaluation_data(model, source, None, "all")
    rows = np.random.default_rng(seed).choice(X.shape[0], size=min(m, X.shape[0]), replace=False)
    X, y = model.inputs(X[rows], description), y[rows]
    if model.task == "classification" and model.net.loss_fn.name == "binary_cross_entropy":
        return X, y.astype(np.float64)
    if model.targets is not None:
        y = model.targets.transform(y.reshape(len(rows), -1))
    return X, y


def cmd_explain(args) -> int:
    """``layerwise explain``: the forward and backward equations with live shapes; --run adds gradient norms."""
    from .explain import explain, format_gradient_norms, gradient_norms

    given = [name for name in ("hidden", "activation", "output_activation", "loss") if getattr(args, name)]
    if args.model and given:
        raise ConfigError(f"give a MODEL or a network (--{given[0].replace('_', '-')}), not both")
    if args.data and not args.model:
        raise ConfigError("--data needs a MODEL whose inputs it matches")
    model = load_model(args.model) if args.model else None
    net = model.net if model else random_network(args)
    print(explain(net, args.batch))
    if args.run:
        if args.data:
            X, Y = _explain_batch(model, args.data, args.batch, args.seed)
        else:
            X, Y = random_batch(net, args.batch, args.seed)
        print()
        print(format_gradient_norms(*gradient_norms(net, X, Y)))
    return 0


# ====================================================================== export
def folded_network(model: Model):
    """A copy of the network with the saved scalers folded into the first and last layers.

    ``((x - mean) / scale) W^T + b = x (W / scale)^T + (b - W (mean / scale))``, and an
    identity output ``a`` on the standardised target scale becomes ``a * scale + mean``.
    """
    net = model.net.copy()
    if model.features is not None:
        W, b = net.params["W1"], net.params["b1"]
        shift = model.features.mean / model.features.scale
        b -= (W.astype(np.float64) @ shift).astype(net.dtype)
        W /= model.features.scale.astype(net.dtype)
    if model.targets is not None:
        W, b = net.params[f"W{net.L}"], net.params[f"b{net.L}"]
        W *= model.targets.scale.astype(net.dtype)[:, None]
        b *= model.targets.scale.astype(net.dtype)
        b += model.targets.mean.astype(net.dtype)
    return net


def cmd_export(args) -> int:
    """``layerwise export``: an ONNX file that takes raw features (the scalers are folded in)."""
    from .export import to_onnx

    model = load_model(args.model)
    to_onnx(folded_network(model), args.onnx)
    folded = [what for what, scaler in (("the input scaler into layer 1", model.features),
                                        (f"the target scaler into layer {model.net.L}", model.targets)) if scaler]
    folded = f", with {' and '.join(folded)} folded in" if folded else ""
    print(f"wrote {args.onnx}: input X (batch, {model.net.input_dim}) -> output Y (batch, "
          f"{model.net.dense[-1].units}){folded}")
    return 0


# ====================================================================== diagnose
def cmd_diagnose(args) -> int:
    """``layerwise diagnose``: the gradient-health table of a run directory, or of a fresh short training."""
    if args.run_dir is None:
        return _diagnose_fresh(args)
    from .diagnostics import GradientMonitor

    run_dir = Path(args.run_dir)
    path = run_dir / "diagnostics.json" if run_dir.is_dir() else run_dir
    try:
        with open(path, encoding="utf-8") as stream:
            document = json.load(stream)
    except FileNotFoundError:
        raise DataError(f"{path} does not exist; train with 'layerwise train --diagnose' to record diagnostics"
                        ) from None
    except (OSError, ValueError) as exc:
        raise DataError(f"cannot read {path}: {exc}") from None
    try:
        monitor = GradientMonitor.from_dict(document)
    except (KeyError, TypeError, ValueError) as exc:
        raise DataError(f"{path} is not a diagnostics file: {type(exc).__name__}: {exc}") from None
    print(monitor.table())
    for warning in monitor.warnings:
        print(f"warning: {warning}")
    monitor.plot(path.parent / "diagnostics.png")
    print(f"wrote {path.parent / 'diagnostics.png'}")
    return 0


def _diagnose_fresh(args) -> int:
    opts = _train_options(args, epochs=5)
    opts.diagnose = True
    with thread_limit(opts.threads):
        _, metrics, run_dir, monitor = train_run(opts)
    write_diagnostics(monitor, run_dir)
    print(monitor.table())
    print(f"{summary_line(metrics)}; wrote {run_dir}")
    return 0
