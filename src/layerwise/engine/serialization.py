"""A network as data: its configuration round trip, pickling, copies in this or another dtype, and its file."""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING

from ..layers import layer_from_config
from ..ops.losses import get_loss

if TYPE_CHECKING:
    from .network import Network


class Serialization:
    """The configuration and copying part of :class:`~layerwise.engine.network.Network` (a base class of it)."""

    # ---------------------------------------------------------------- config
    def get_config(self) -> dict:
        """A JSON-compatible description from which :meth:`from_config` rebuilds the network."""
        config = {
            "layers": [layer.get_config() for layer in self.layers],
            "loss": self.loss_fn.name,
            "input_dim": self.input_dim,
            "input_shape": None if self.input_shape is None or len(self.input_shape) == 1 else list(self.input_shape),
            "seed": self.seed,
            "dtype": self.dtype.name,
            "l2": self.l2,
            "classes": None if self.classes is None else list(self.classes),
        }
        if self.loss_fn.get_config():
            config["loss_args"] = self.loss_fn.get_config()
        return config

    @classmethod
    def from_config(cls, config: dict) -> Network:
        """Build an (initialised) network from :meth:`get_config` output."""
        layers = [layer_from_config(layer) for layer in config["layers"]]
        net = cls(layers, loss=get_loss(config["loss"], **config.get("loss_args", {})),
                  input_dim=config.get("input_dim") if config.get("input_shape") is None else None,
                  input_shape=config.get("input_shape"), seed=config.get("seed"),
                  dtype=config.get("dtype", "float32"), l2=config.get("l2", 0.0))
        net.classes = config.get("classes")
        return net

    def __getstate__(self) -> dict:
        """The network's attributes, less the compiled forward pass, which each copy makes again on first use."""
        return {key: value for key, value in self.__dict__.items() if key != "_compiled"}

    def __setstate__(self, state: dict) -> None:
        """The network's ``theta``, ``dtheta`` and ``state`` are its table's buffers again: joblib's pickler
        stores every array reference on its own, so without this a joblib-loaded network would train a
        buffer that its layers no longer read."""
        self.__dict__.update(state)
        if self.table is not None:
            self.theta, self.dtheta, self.state = self.table.theta, self.table.dtheta, self.table.state

    def copy(self) -> Network:
        """An independent deep copy (parameters, state, generator state and all)."""
        twin = copy.deepcopy(self)
        if twin.built:
            twin.table.bind(twin.layers)
        return twin

    def astype(self, dtype: str) -> Network:
        """A copy of the network in another dtype (the generator state is copied too)."""
        config = {**self.get_config(), "dtype": str(dtype), "input_dim": None, "input_shape": None}
        twin = type(self).from_config(config)
        twin.rng = copy.deepcopy(self.rng)
        if self.built:
            twin.build(self.input_shape, initialize=False)
            twin.theta[...] = self.theta
            twin.state[...] = self.state
        twin.classes = self.classes
        twin.preprocessing = self.preprocessing
        return twin

    def save(self, path) -> None:
        """Save to a safetensors model file atomically; see :func:`layerwise.io.save`."""
        from ..io.model_file import save

        save(self, path)
