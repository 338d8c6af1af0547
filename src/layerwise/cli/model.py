"""The command line's model: a network, with its preprocessing, and the training information saved beside it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import ShapeError

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
        steps = self.net.preprocessing
        return steps.inputs[0] if steps is not None and steps.inputs else None

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

    def check_features(self, X: np.ndarray, source: str) -> np.ndarray:
        """Return ``X``; raise ShapeError unless it has as many columns as the model takes."""
        steps = self.net.preprocessing
        n = steps.n_features if steps is not None and steps.inputs else self.net.input_dim
        if X.shape[1] != n:
            hint = " (leave out the target column)" if X.shape[1] == n + 1 else ""
            raise ShapeError(f"the model expects {n} feature(s), but {source} has {X.shape[1]} column(s){hint}")
        return X

    def inputs(self, X: np.ndarray, source: str) -> np.ndarray:
        """The network's inputs for raw rows ``X`` (the saved preprocessing applied), for training and explain."""
        self.check_features(X, source)
        if self.net.preprocessing is not None:
            X = self.net.preprocessing.transform_inputs(X)
        return X.astype(self.net.dtype, copy=False)

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
    return Model(saved.network, info if isinstance(info, dict) else {}, Path(path), saved.format_version,
                 saved.library_version)


def save_model(path, model: Model) -> None:
    """Write the network (with its preprocessing) and the training information."""
    from ..io import model_file as io

    io.save(model.net, path, metadata={META_KEY: model.info})


def default_output_activation(loss: str) -> str:
    """softmax for cross_entropy, sigmoid for binary_cross_entropy, identity otherwise."""
    return {"cross_entropy": "softmax", "binary_cross_entropy": "sigmoid"}.get(loss, "identity")


def build_network(hidden, activation: str, output_activation: str, units: int, loss: str, n_inputs: int,
                  seed: int, dtype: str = "float64", dropout: float = 0.0, l2: float = 0.0):
    """A Network of Dense layers (with Dropout after each hidden one when ``dropout`` > 0)."""
    from ..engine.network import Network
    from ..layers import Dense, Dropout

    layers = []
    for width in hidden:
        layers.append(Dense(width, activation))
        if dropout:
            layers.append(Dropout(dropout))
    layers.append(Dense(units, output_activation))
    return Network(layers, loss=loss, input_dim=n_inputs, seed=seed, dtype=dtype, l2=l2)


def describe(net) -> str:
    """``4 -> 16 (relu) -> 3 (softmax)``."""
    return " -> ".join([str(net.input_dim)] + [layer.describe() for layer in net.layers])
