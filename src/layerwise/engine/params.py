"""The parameter table: one flat buffer for every trained parameter, one for the non-trained state.

The table collects the :class:`~layerwise.layers.ParamSpec` of every layer,
names each ``<kind><l>`` (``W1``, ``b1``, ``gamma2``, ...) and lays them out
in one contiguous buffer ``theta``: first every decayed parameter (the
weights), in layer order, then every other one (biases, normalisation
parameters), in layer order. A network of Dense layers is therefore laid out
``[W1, ..., WL, b1, ..., bL]``, as model files, checkpoints and optimizer
states written by layerwise 0.1.0 expect, and the slice that the L2 penalty
and decoupled weight decay act on is one contiguous range, ``theta[decayed]``.

The gradients live in ``dtheta``, laid out the same; the state that is saved
but never optimised (BatchNorm's running statistics) lives in ``state``.
Every layer is bound to views of the three buffers, so a layer, the
optimizer (one flat array) and ``net.params`` (the seed-named views) all see
the same numbers.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Entry:
    """Where one named array lives: its layer, kind, shape and slice of the flat buffer."""

    name: str
    layer: object
    kind: str
    shape: tuple[int, ...]
    offset: int
    size: int

    @property
    def span(self) -> slice:
        return slice(self.offset, self.offset + self.size)


class ParamTable:
    """Build the flat buffers of ``layers`` (already built) in ``dtype`` and bind the layers to them."""

    def __init__(self, layers, dtype: np.dtype):
        specs = [(layer, spec) for layer in layers for spec in layer.params()]
        ordered = [item for item in specs if item[1].decayed] + [item for item in specs if not item[1].decayed]
        self.entries, offset = [], 0
        for layer, spec in ordered:
            size = int(np.prod(spec.shape))
            self.entries.append(Entry(f"{spec.kind}{layer.l}", layer, spec.kind, tuple(spec.shape), offset, size))
            offset += size
        self.n_decayed = sum(entry.size for entry, (_, spec) in zip(self.entries, ordered) if spec.decayed)
        self.decayed = slice(0, self.n_decayed)
        self.state_entries, state_offset = [], 0
        for layer in layers:
            for spec in layer.state():
                size = int(np.prod(spec.shape))
                self.state_entries.append(Entry(f"{spec.kind}{layer.l}", layer, spec.kind, tuple(spec.shape),
                                                state_offset, size))
                state_offset += size
        self.theta = np.zeros(offset, dtype=dtype)
        self.dtheta = np.zeros_like(self.theta)
        self.state = np.zeros(state_offset, dtype=dtype)
        self.bind(layers)

    def bind(self, layers) -> None:
        """(Re)attach every layer to views of ``theta``, ``dtheta`` and ``state`` (after a deep copy, too)."""
        values, grads, state = self._views(self.entries, self.theta), self._views(self.entries, self.dtheta), \
            self._views(self.state_entries, self.state)
        self.layers = list(layers)
        by_layer = {id(layer): ({}, {}, {}) for layer in self.layers}
        for entry in self.entries:
            mine = by_layer[id(entry.layer)]
            mine[0][entry.kind], mine[1][entry.kind] = values[entry.name], grads[entry.name]
        for entry in self.state_entries:
            by_layer[id(entry.layer)][2][entry.kind] = state[entry.name]
        for layer in self.layers:
            layer.bind(*by_layer[id(layer)])
        order = [entry.name for layer in self.layers for entry in self.entries if entry.layer is layer]
        self.params = {name: values[name] for name in order}
        self.grads = {"d" + name: grads[name] for name in order}
        self.state_views = state

    def use_gradient(self, dtheta: np.ndarray) -> None:
        """Make ``dtheta`` (of the gradient's length and dtype) the buffer the layers write their gradients into."""
        self.dtheta = dtheta
        self.bind(self.layers)

    def __getstate__(self) -> dict:
        """Pickle the buffers, not the views (pickle would turn them into copies)."""
        return {key: value for key, value in self.__dict__.items() if key not in ("params", "grads", "state_views")}

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self.bind(self.layers)

    @staticmethod
    def _views(entries, flat: np.ndarray) -> dict[str, np.ndarray]:
        return {entry.name: flat[entry.span].reshape(entry.shape) for entry in entries}

    def initialize(self, rng: np.random.Generator) -> None:
        """Fill every parameter from its initialiser, layer by layer, and the state from its start value."""
        for layer in self.layers:
            for spec in layer.params():
                self.params[f"{spec.kind}{layer.l}"][...] = spec.init(rng, spec.shape)
            for spec in layer.state():
                self.state_views[f"{spec.kind}{layer.l}"][...] = spec.value

    @property
    def tensors(self) -> dict[str, np.ndarray]:
        """Every array a model file stores, by name: the parameters, then the state."""
        return {**self.params, **self.state_views}

    def layer_slices(self, layer) -> dict[str, slice]:
        """The slices of ``theta`` (and ``dtheta``) that hold ``layer``'s parameters, by name."""
        return {entry.name: entry.span for entry in self.entries if entry.layer is layer}
