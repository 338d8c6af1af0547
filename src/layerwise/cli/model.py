"""The command line's model: a network with the scalers and training information saved beside it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import ModelFileError, ShapeError

META_KEY = "cli"
FEATURE_SCALER = ("scaler.mean", "scaler.scale")
TARGET_SCALER = ("target_scaler.mean", "target_scaler.scale")


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
        return list(range(self.net.loss_fn.n_classes(self.net.n_outputs)))

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
    from ..io import model_file as io

    saved = io.read(path)
    net = saved.network
    features = _scaler(saved.tensors, FEATURE_SCALER, net.input_dim, path)
    targets = _scaler(saved.tensors, TARGET_SCALER, net.n_outputs, path)
    info = saved.metadata.get(META_KEY, {})
    return Model(net, features, targets, info if isinstance(info, dict) else {}, Path(path), saved.format_version,
                 saved.library_version)


def save_model(path, model: Model) -> None:
    """Write the network with its scalers and training information."""
    from ..io import model_file as io

    tensors = {}
    for names, scaler in ((FEATURE_SCALER, model.features), (TARGET_SCALER, model.targets)):
        if scaler is not None:
            tensors[names[0]], tensors[names[1]] = scaler.mean, scaler.scale
    io.save(model.net, path, tensors=tensors, metadata={META_KEY: model.info})


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
