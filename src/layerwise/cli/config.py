"""Options of ``layerwise train``: their checks, their defaults and TOML config files.

An option's value comes from, in this order: the command line, the config
file given with ``--config``, the default in :class:`TrainOptions`. A config
file is a flat TOML table whose keys are the long option names, with dashes
or underscores::

    data = "iris"
    hidden = [32, 16]          # or "32,16"
    epochs = 40
    batch-size = 16
    early-stopping = true
    mlflow = true              # log the run to MLflow (see mlflow-uri, mlflow-experiment)

A convolutional network is given as ``layers = "conv:16x3x3,relu,same; maxpool:2"`` (the
``--layers`` grammar, see :mod:`.layer_specs`) or as one ``[[layers]]`` table per layer::

    [[layers]]
    type = "conv"
    filters = 16
    kernel = 3
    padding = "same"

    [[layers]]
    type = "maxpool"
    size = 2

Paths in a config file are taken relative to the current directory, as on
the command line. The value checks below serve both sources, so a bad value
gets the same message wherever it was written.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass, fields
from pathlib import Path

from ..errors import ConfigError
from .layer_specs import arch_name, input_shape
from .values import (
    DTYPES,
    TASKS,
    activation_name,
    choice,
    dtype_name,
    fraction,
    hidden_sizes,
    layer_list,
    loss_name,
    non_negative_float,
    non_negative_int,
    optimizer_name,
    positive_float,
    positive_int,
    schedule_name,
    seed_value,
    task_name,
    text,
)

__all__ = ["CHECKS", "DTYPES", "FLAGS", "OPTIMIZER_OPTIONS", "SCHEDULE_OPTIONS", "TASKS", "TrainOptions",
           "activation_name", "choice", "dtype_name", "fraction", "hidden_sizes", "layer_list", "loss_name",
           "non_negative_float", "non_negative_int", "optimizer_arguments", "optimizer_name", "positive_float",
           "positive_int", "read_config_file", "resolve_train_options", "schedule_arguments", "schedule_name",
           "seed_value", "task_name", "text"]

def _toml_module():
    """The TOML reader (``tomllib``, or ``tomli`` on Python 3.10), imported only when a config file is read."""
    if sys.version_info >= (3, 11):
        import tomllib

        return tomllib
    try:  # pragma: no cover - exercised on Python 3.10 only
        import tomli

        return tomli
    except ImportError:  # pragma: no cover
        return None


# ------------------------------------------------------------------ options
@dataclass
class TrainOptions:
    """Every setting of a training run, with its default."""

    data: str = "digits"
    target: str | None = None
    task: str = "auto"
    test_split: float = 0.25
    hidden: tuple[int, ...] = (128,)
    layers: tuple[dict, ...] | None = None
    arch: str | None = None
    input_shape: tuple[int, ...] | None = None
    activation: str = "relu"
    output_activation: str | None = None
    loss: str | None = None
    epochs: int = 500
    batch_size: int = 32
    optimizer: str = "adam"
    lr: float | None = None
    momentum: float | None = None
    nesterov: bool = False
    beta1: float | None = None
    beta2: float | None = None
    weight_decay: float | None = None
    schedule: str = "constant"
    step_size: int | None = None
    gamma: float | None = None
    warmup: int | None = None
    min_lr: float | None = None
    l2: float = 0.0
    dropout: float = 0.0
    clip_norm: float | None = None
    early_stopping: bool = True
    patience: int = 10
    min_delta: float = 1e-4
    val_split: float | None = None
    standardize: bool = True
    seed: int = 0
    timeout: float = 60.0
    dtype: str = "float32"
    threads: int | None = None
    out: str | None = None
    resume: str | None = None
    quiet: bool = False
    diagnose: bool = False
    tensorboard: str | None = None
    mlflow: bool = False
    mlflow_uri: str | None = None
    mlflow_experiment: str = "layerwise"

    def to_dict(self) -> dict:
        """The options as a JSON-compatible dict."""
        values = {field.name: getattr(self, field.name) for field in fields(self)}
        values["hidden"] = list(self.hidden)
        values["layers"] = None if self.layers is None else [dict(spec) for spec in self.layers]
        values["input_shape"] = None if self.input_shape is None else list(self.input_shape)
        return values


CHECKS = {
    "data": text, "target": text, "task": task_name, "test_split": fraction, "hidden": hidden_sizes,
    "layers": layer_list, "arch": arch_name, "input_shape": input_shape,
    "activation": activation_name, "output_activation": activation_name, "loss": loss_name,
    "epochs": positive_int, "batch_size": positive_int, "optimizer": optimizer_name, "lr": positive_float,
    "momentum": fraction, "beta1": fraction, "beta2": fraction, "weight_decay": non_negative_float,
    "schedule": schedule_name, "step_size": positive_int, "gamma": positive_float, "warmup": non_negative_int,
    "min_lr": non_negative_float, "min_delta": non_negative_float, "l2": non_negative_float, "dropout": fraction,
    "clip_norm": positive_float,
    "patience": non_negative_int, "val_split": fraction, "seed": seed_value, "dtype": dtype_name,
    "timeout": positive_float, "threads": positive_int, "out": text, "resume": text, "tensorboard": text,
    "mlflow_uri": text, "mlflow_experiment": text,
}
"""The value check of every non-boolean option (also the ``type=`` of its command-line argument)."""

FLAGS = ("early_stopping", "standardize", "quiet", "diagnose", "nesterov", "mlflow")
"""Options that are switches: ``true`` / ``false`` in a config file."""


def read_config_file(path) -> dict:
    """Read a TOML config file and return its checked values keyed like :class:`TrainOptions`.

    Raises
    ------
    ConfigError
        If the file cannot be read or parsed, names an unknown option, or
        holds a value that fails the option's check.
    """
    path = Path(path)
    tomllib = _toml_module()
    if tomllib is None:
        raise ConfigError("reading a TOML config file on Python 3.10 needs the 'tomli' package; "
                          "install it with: pip install tomli")
    try:
        with open(path, "rb") as stream:
            raw = stream.read()
        document = tomllib.loads(raw.removeprefix(b"\xef\xbb\xbf").decode("utf-8"))  # a byte-order mark is allowed
    except FileNotFoundError:
        raise ConfigError(f"config file {path} does not exist") from None
    except IsADirectoryError:
        raise ConfigError(f"config file {path} is a directory, expected a TOML file") from None
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc.strerror or exc}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"config file {path} is not valid TOML: {exc}") from None
    known = [field.name for field in fields(TrainOptions)]
    values = {}
    for raw_key, value in document.items():
        key = raw_key.replace("-", "_")
        if key not in known:
            raise ConfigError(f"config file {path}: unknown option {raw_key!r}; known options: "
                              f"{', '.join(name.replace('_', '-') for name in known)}")
        values[key] = _checked(path, raw_key, key, value)
    return values


def _checked(path: Path, raw_key: str, key: str, value):
    if key in FLAGS:
        if not isinstance(value, bool):
            raise ConfigError(f"config file {path}: {raw_key} must be true or false, received {value!r}")
        return value
    if isinstance(value, dict) or (isinstance(value, list) and key not in ("hidden", "layers", "input_shape")):
        raise ConfigError(f"config file {path}: {raw_key} must be a single value, received {value!r}")
    if isinstance(value, bool):
        raise ConfigError(f"config file {path}: {raw_key} must not be a boolean, received {value!r}")
    try:
        return CHECKS[key](value)
    except argparse.ArgumentTypeError as exc:
        raise ConfigError(f"config file {path}: {raw_key}: {exc}") from None


def resolve_train_options(cli_values: dict, config_path=None, defaults: dict | None = None) -> TrainOptions:
    """Combine command-line values, the config file and the defaults.

    Parameters
    ----------
    cli_values : dict
        Values from the command line; ``None`` means "not given".
    config_path : path-like, optional
        A TOML config file (see the module notes).
    defaults : dict, optional
        Defaults that replace those of :class:`TrainOptions`.

    Returns
    -------
    TrainOptions
    """
    values = dict(defaults or {})
    if config_path is not None:
        values.update(read_config_file(config_path))
    for field in fields(TrainOptions):
        given = cli_values.get(field.name)
        if given is not None:
            values[field.name] = given
    return TrainOptions(**values)


OPTIMIZER_OPTIONS = {"momentum": ("sgd", "momentum", "nesterov", "rmsprop"),
                     "nesterov": ("sgd", "momentum", "nesterov"),
                     "beta1": ("adam", "adamw"), "beta2": ("adam", "adamw"),
                     "weight_decay": ("sgd", "momentum", "nesterov", "rmsprop", "adam", "adamw")}
"""The optimizers each optimizer option applies to."""

SCHEDULE_OPTIONS = {"step_size": ("step",), "gamma": ("step", "exponential", "plateau"), "warmup": ("cosine",),
                    "min_lr": ("cosine", "plateau")}
"""The schedules each schedule option applies to (``gamma`` is the plateau schedule's factor)."""


def _refuse_unused(opts: TrainOptions, table: dict, chosen: str, what: str) -> None:
    for key, names in table.items():
        if getattr(opts, key) not in (None, False) and chosen not in names:
            raise ConfigError(f"--{key.replace('_', '-')} applies to the {what} {', '.join(names)}; "
                              f"this run uses --{what} {chosen}")


def optimizer_arguments(opts: TrainOptions) -> dict:
    """Keyword arguments of :func:`layerwise.get_optimizer` from the optimizer options given.

    Raises
    ------
    ConfigError
        If an option does not apply to the chosen optimizer.
    """
    _refuse_unused(opts, OPTIMIZER_OPTIONS, opts.optimizer, "optimizer")
    kwargs = {key: getattr(opts, key) for key in ("lr", "momentum", "weight_decay") if getattr(opts, key) is not None}
    if opts.nesterov:
        kwargs["nesterov"] = True
        kwargs.setdefault("momentum", 0.9)
    if opts.beta1 is not None or opts.beta2 is not None:
        kwargs["betas"] = (0.9 if opts.beta1 is None else opts.beta1, 0.999 if opts.beta2 is None else opts.beta2)
    return kwargs


def schedule_arguments(opts: TrainOptions) -> dict:
    """Keyword arguments of :func:`layerwise.get_schedule` from the schedule options given.

    Raises
    ------
    ConfigError
        If an option does not apply to the chosen schedule.
    """
    _refuse_unused(opts, SCHEDULE_OPTIONS, opts.schedule, "schedule")
    kwargs = {key: getattr(opts, key) for key in ("step_size", "gamma", "warmup", "min_lr")
              if getattr(opts, key) is not None}
    if opts.schedule == "plateau" and "gamma" in kwargs:
        kwargs["factor"] = kwargs.pop("gamma")
    return kwargs
