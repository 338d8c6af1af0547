"""The values of ``layerwise train``'s options, checked as argparse types (and for config files): numbers in
range through the one range check, names from fixed lists, hidden sizes and layer lists."""

from __future__ import annotations

import argparse
import math

from .._checks import check_range, describe_range
from ..errors import ConfigError
from .layer_specs import layers_from_tables, parse_layers

TASKS = ("auto", "classification", "regression")

DTYPES = ("float32", "float64")


# ------------------------------------------------------------------ value checks
def _number(text, kind, name: str):
    try:
        value = kind(str(text).strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected {name}, received {str(text)!r}") from None
    if isinstance(value, float) and not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"expected a finite number, received {str(text)!r}")
    return value


def _ranged(text, kind, low=None, high=None, *, low_open: bool = False, high_open: bool = False,
            expected: str | None = None):
    """``text`` as a number of ``kind`` that the one range check (:func:`layerwise._checks.check_range`)
    accepts, or argparse's error saying what was ``expected`` (by default, the check's own words)."""
    integer = kind is int
    expected = expected or describe_range(low, high, low_open, high_open, integer)
    value = _number(text, kind, expected)
    try:
        return check_range("value", value, low, high, low_open=low_open, high_open=high_open, integer=integer)
    except ConfigError:
        shown = value if integer else f"{value:g}"
        raise argparse.ArgumentTypeError(f"expected {expected}, received {shown}") from None


def positive_int(text) -> int:
    """An integer >= 1."""
    return _ranged(text, int, 1)


def non_negative_int(text) -> int:
    """An integer >= 0."""
    return _ranged(text, int, 0, expected="a non-negative integer")


def seed_value(text) -> int:
    """An integer in [0, 2**32 - 1], the seeds that every random generator used accepts."""
    return _ranged(text, int, 0, 2**32 - 1, expected="a seed, an integer in [0, 4294967295]")


def positive_float(text) -> float:
    """A finite number > 0."""
    return _ranged(text, float, 0, low_open=True, expected="a positive number")


def non_negative_float(text) -> float:
    """A finite number >= 0."""
    return _ranged(text, float, 0, expected="a non-negative number")


def fraction(text) -> float:
    """A number in [0, 1); 0 turns the feature off."""
    return _ranged(text, float, 0, 1, high_open=True, expected="a fraction in [0, 1)")


def hidden_sizes(text) -> tuple[int, ...]:
    """Comma-separated hidden layer widths such as ``"128,64"``; ``""`` means no hidden layer."""
    if isinstance(text, (list, tuple)):
        text = ",".join(str(part) for part in text)
    parts = [part.strip() for part in str(text).split(",")]
    if parts == [""]:
        return ()
    sizes = []
    for part in parts:
        if not (part.isascii() and part.isdigit()) or int(part) < 1:
            raise argparse.ArgumentTypeError(
                f"expected comma-separated positive layer widths such as 128,64, received {str(text)!r}")
        sizes.append(int(part))
    return tuple(sizes)


def layer_list(value) -> tuple[dict, ...]:
    """The ``--layers`` grammar (a string) or the ``[[layers]]`` tables of a config file (a list)."""
    return layers_from_tables(value) if isinstance(value, list) else parse_layers(value)


def choice(*names: str):
    """A check that accepts exactly one of ``names``."""

    def check(text) -> str:
        value = str(text).strip()
        if value not in names:
            raise argparse.ArgumentTypeError(f"expected one of {', '.join(names)}, received {str(text)!r}")
        return value

    check.__name__ = "choice"
    check.names = names
    return check


# The names are written out, not read from the registries (ops.activations.ACTIVATIONS, ops.losses.LOSSES,
# optim.optimizers.OPTIMIZERS and ALIASES, optim.schedules.SCHEDULES), so that the parser, and with it
# every --help, is built without importing NumPy; tests/test_startup.py checks that they agree.
activation_name = choice("elu", "exp", "gelu", "identity", "leaky_relu", "relu", "selu", "sigmoid", "silu", "softmax",
                         "softplus", "tanh")


loss_name = choice("binary_cross_entropy", "cross_entropy", "huber", "mae", "mse")  # not poisson: the CLI


# standardises regression targets, and the Poisson loss needs raw counts
optimizer_name = choice("adam", "adamw", "momentum", "nesterov", "rmsprop", "sgd")


schedule_name = choice("constant", "cosine", "exponential", "plateau", "step")


task_name = choice(*TASKS)


dtype_name = choice(*DTYPES)


def text(value) -> str:
    """Any non-empty string."""
    value = str(value)
    if not value.strip():
        raise argparse.ArgumentTypeError("expected a non-empty value")
    if "\0" in value:
        raise argparse.ArgumentTypeError(f"expected a value without NUL bytes, received {value!r}")
    return value
