"""The command line's model: a network, with its preprocessing, and the training information saved beside it."""

from __future__ import annotations

import math
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import ConfigError, DataError, ModelFileError, ShapeError
from ..io.summary import column_names, encoding_note, input_standardization
from .console import PROG

if TYPE_CHECKING:
    import numpy as np

META_KEY = "cli"


@dataclass
class Model:
    """A network (with its saved preprocessing) and what the command line saved beside it."""

    net: object
    info: dict
    path: Path
    format_version: int
    library_version: str

    @property
    def task(self) -> str:
        return "classification" if self.net.is_classifier else "regression"

    @property
    def features(self):
        """The input standardisation, or None."""
        return input_standardization(self.net.preprocessing)

    @property
    def columns(self) -> list[str] | None:
        """The training columns' names when the model selects its inputs by name, else None."""
        return column_names(self.net.preprocessing)

    @property
    def targets(self):
        """The target standardisation, or None."""
        steps = self.net.preprocessing
        return steps.targets[0] if steps is not None and steps.targets else None

    @property
    def labels(self) -> list:
        """The class labels (class indices when the network has none)."""
        if self.net.classes is not None:
            return list(self.net.classes)
        return list(range(self.net.loss_fn.n_classes(self.net.n_outputs)))

    def encoding_note(self) -> str | None:
        """How the preprocessing encodes the columns (:func:`layerwise.io.summary.encoding_note`), or None."""
        return encoding_note(self.net.preprocessing)

    def check_features(self, X: np.ndarray, source: str) -> np.ndarray:
        """Return ``X``; raise ShapeError unless it has as many columns as the model takes."""
        steps = self.net.preprocessing
        n = steps.n_features if steps is not None and steps.inputs else self.net.input_dim
        if X.shape[1] != n:
            hint = " (leave out the target column)" if X.shape[1] == n + 1 else ""
            raise ShapeError(f"the model expects {n} feature(s), but {source} has {X.shape[1]} column(s){hint}")
        return X

    def rows(self, X: np.ndarray, names: list[str] | None, source: str, target: str | None = None):
        """``X`` as the model's ``predict`` takes it: columns matched by name when the model and the data name them.

        Named columns the model does not take are left out, with a warning on standard error unless the
        column is the target (``target`` or the training target's name); a missing column is a DataError
        naming it. Unnamed data must have the model's columns in the training order (:meth:`check_features`).
        """
        wanted = self.columns
        if wanted is None or not names:
            return self.check_features(X, source)
        twice = [name for name in wanted if names.count(name) > 1]
        if twice:
            raise DataError(f"{source} has {names.count(twice[0])} columns named {twice[0]!r}; the model needs one")
        missing = [name for name in wanted if name not in names]
        if missing:
            raise DataError(f"{source} has no column {missing[0]!r}, which the model was trained on; the model "
                            f"takes the columns {', '.join(wanted)}")
        known = {target, self.info.get("data", {}).get("target_name")}
        ignored = [name for name in names if name not in wanted and name not in known]
        if ignored:
            print(f"{PROG}: warning: ignoring the column(s) {', '.join(ignored)} of {source}, which the model was not "
                  "trained on", file=sys.stderr)
        from ..data.columns import is_number  # here: info, which reads models, reads no data

        rows = {name: X[:, names.index(name)] for name in wanted}
        one_hot = next((step for step in self.net.preprocessing.encoding if step.name == "one_hot"), None)
        text = set(one_hot.columns) if one_hot is not None else set()
        for k, name in enumerate(wanted):
            found = None if k in text else next((value for value in rows[name]
                                                 if isinstance(value, str) and not is_number(value)), None)
            if found is not None:
                raise DataError(f"{source}: column {name!r} holds text such as {found!r}, but the model was trained "
                                "on numbers there")
        return rows

    def inputs(self, X: np.ndarray, source: str) -> np.ndarray:
        """The network's inputs for raw rows ``X`` (the saved preprocessing applied), for training and explain."""
        self.check_features(X, source)
        from ..engine.checks import cast_finite

        if self.net.preprocessing is not None:
            X = self.net.preprocessing.transform_inputs(X)
        return cast_finite(X, self.net.dtype, source)

    def training_targets(self, y: np.ndarray) -> np.ndarray:
        """Raw targets as the network is trained on them (standardised when the model standardises them)."""
        if self.targets is None:
            return y
        return self.net.preprocessing.transform_targets(y).reshape(y.shape)


def load_model(path) -> Model:
    """Read a model file with its preprocessing and training information."""
    from ..io import model_file as io

    saved = io.read(path)
    info = saved.metadata.get(META_KEY, {})
    check_info(path, info)
    return Model(saved.network, info, Path(path), saved.format_version, saved.library_version)


_NUMBER = (int, float)
_INFO_FIELDS = {
    "data": {"source": (str,), "target": (str, int, type(None)), "task": (str,), "split": (str,),
             "test_split": _NUMBER, "seed": (int,), "n_samples": (int,), "sha256": (str,),
             "feature_names": (list, type(None)), "target_name": (str, type(None))},
    "test_metrics": None,  # names -> numbers
    "options": (dict,),
    "tested_on": (str,),
}
_TYPE_NAMES = {str: "a string", int: "an integer", float: "a number", list: "a list", dict: "an object",
               type(None): "null"}


def check_info(path, info) -> None:
    """The training information a model file records must have the types the commands rely on."""

    def fail(field, expected, value):
        raise ModelFileError(f"{path}: the metadata field {'.'.join((META_KEY, field)).rstrip('.')} must be "
                             f"{expected}, received "
                             f"{value!r:.80} ({type(value).__name__})")

    def kinds(types):
        return " or ".join(dict.fromkeys(_TYPE_NAMES[t] for t in types))

    if not isinstance(info, dict):
        fail("", "an object", info)
    for key, spec in _INFO_FIELDS.items():
        if key not in info:
            continue
        value = info[key]
        if spec is None:
            if not isinstance(value, dict):
                fail(key, "an object of numbers", value)
            for name, number in value.items():
                if isinstance(number, bool) or not isinstance(number, _NUMBER):
                    fail(f"{key}.{name}", "a number", number)
        elif isinstance(spec, dict):
            if not isinstance(value, dict):
                fail(key, "an object", value)
            for name, types in spec.items():
                if name in value and (isinstance(value[name], bool) or not isinstance(value[name], types)):
                    fail(f"{key}.{name}", kinds(types), value[name])
            if not 0 <= value.get("test_split", 0) < 1:
                fail(f"{key}.test_split", "a fraction in [0, 1)", value["test_split"])
            if not 0 <= value.get("seed", 0) < 2**32:
                fail(f"{key}.seed", "an integer in [0, 2**32)", value["seed"])
        elif not isinstance(value, spec):
            fail(key, kinds(spec), value)


def save_model(path, model: Model) -> None:
    """Write the network (with its preprocessing) and the training information."""
    from ..io import model_file as io

    io.save(model.net, path, metadata={META_KEY: model.info})


def default_output_activation(loss: str) -> str:
    """The activation the loss pairs with by the output shortcut (softmax for cross_entropy, sigmoid for
    binary_cross_entropy, identity for mse), identity for a loss without one."""
    from ..ops.losses import get_loss

    return get_loss(loss).shortcut or "identity"


def build_network(hidden, activation: str, output_activation: str, units: int, loss: str, n_inputs: int,
                  seed: int, dtype: str = "float64", dropout: float = 0.0, l2: float = 0.0, layers=None,
                  input_shape=None):
    """A Network of Dense layers (with Dropout after each hidden one when ``dropout`` > 0), or of the
    described ``layers`` (see :mod:`.layer_specs`) on examples of ``input_shape``; then the output layer."""
    from ..engine.network import Network
    from ..layers import Dense, Dropout
    from .layer_specs import build_layers, needs_images

    if layers is not None:
        if needs_images(layers) and input_shape is None:
            raise ConfigError("convolution and pooling layers need the shape of one example: pass --input-shape "
                              "CxHxW (e.g. 1x28x28)")
        if input_shape is not None and math.prod(input_shape) != n_inputs:
            raise ConfigError(f"--input-shape {'x'.join(map(str, input_shape))} holds "
                              f"{math.prod(input_shape)} values, but the data has {n_inputs} features")
        shape = input_shape if needs_images(layers) else None
        return Network(build_layers(layers) + [Dense(units, output_activation)], loss=loss,
                       input_dim=None if shape else n_inputs, input_shape=shape, seed=seed, dtype=dtype, l2=l2)
    hidden_layers = []
    for width in hidden:
        hidden_layers.append(Dense(width, activation))
        if dropout:
            hidden_layers.append(Dropout(dropout))
    hidden_layers.append(Dense(units, output_activation))
    return Network(hidden_layers, loss=loss, input_dim=n_inputs, seed=seed, dtype=dtype, l2=l2)


def describe(net) -> str:
    """``4 -> Dense(4 -> 16, relu) -> ...``; images as ``1x8x8``."""
    return " -> ".join(["x".join(map(str, net.input_shape))] + [layer.describe() for layer in net.layers])
