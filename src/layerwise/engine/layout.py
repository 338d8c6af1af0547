"""What a network is made of, known without data: the layers' shapes, the tensors' names and sizes, the
memory they take, the summary table, and the checks that inputs and targets fit the network."""

from __future__ import annotations

import math
import numbers
import sys

import numpy as np

from .._checks import positive_int
from ..errors import ConfigError, ShapeError
from ..layers import Dense, Dropout, Layer
from .checks import as_numeric_2d, check_sample_weight, check_targets


class Layout:
    """The shape-level part of :class:`~layerwise.engine.network.Network` (a base class of it)."""

    def _shapes(self, input_shape: int | tuple[int, ...]) -> tuple[dict, dict]:
        """Build the layers for examples of ``input_shape`` (shapes only, nothing allocated); return the
        names and shapes of the parameters and of the state."""
        shape, l, key, seen_params = example_shape(input_shape), 0, "A0", False
        for layer in self.layers:
            l += layer.numbered
            layer.needs_dA_prev, layer.is_output = seen_params, layer is self.layers[-1]
            shape = layer.build(shape, l, key)
            key = layer.output_key
            seen_params = seen_params or bool(layer.params())
        params = {f"{spec.kind}{layer.l}": spec.shape for layer in self.layers for spec in layer.params()}
        state = {f"{spec.kind}{layer.l}": spec.shape for layer in self.layers for spec in layer.state()}
        return params, state

    def parameter_shapes(self, input_dim: int | tuple[int, ...]) -> dict[str, tuple[int, ...]]:
        """The names and shapes of the tensors a model file holds for ``input_dim`` features or examples of
        that shape (parameters, then state), from the layers' declarations, without allocating."""
        params, state = self._shapes(input_dim)
        return {**params, **state}

    def memory_needed(self, input_dim: int | tuple[int, ...]) -> int:
        """Bytes that :meth:`build` allocates for ``input_dim`` features, at its peak: ``theta``, ``dtheta``
        and ``state``, plus the float64 array in which an initialiser draws the largest parameter."""
        params, state = self._shapes(input_dim)
        sizes = [math.prod(shape) for shape in params.values()]
        n_state = sum(math.prod(shape) for shape in state.values())
        return (2 * sum(sizes) + n_state) * self.dtype.itemsize + 8 * max(sizes, default=0)

    def _describe(self, input_shape: int | tuple[int, ...]) -> str:
        """``4 -> 16 -> 3``: the shape of the input and of each numbered layer's output."""
        self._shapes(input_shape)
        widths = [" x ".join(map(str, example_shape(input_shape)))] + [
            " x ".join(map(str, layer.output_shape)) for layer in self.layers if layer.numbered]
        return " -> ".join(widths)

    @property
    def n_weights(self) -> int:
        """Length of ``theta[:n_weights]``, the decayed parameters (the weights) that L2 acts on."""
        return self.table.n_decayed

    @property
    def params(self) -> dict[str, np.ndarray]:
        """Live parameter arrays keyed ``W1, b1, ..., WL, bL``; writes change the network."""
        self._require_built()
        return dict(self.table.params)

    @property
    def n_params(self) -> int:
        self._require_built()
        return self.theta.size

    @property
    def n_outputs(self) -> int:
        """Number of output units ``n_L``."""
        self._require_built()
        return self.output.output_shape[0]

    def _require_built(self) -> None:
        if not self.built:
            raise ConfigError("the network is not built yet: pass input_dim= or call forward/fit on data first")

    # ---------------------------------------------------------------- checks
    def check_X(self, X, name: str = "X") -> np.ndarray:
        """Validate ``X`` and return it as a 2-D array of the network's dtype, one row per example.

        Images ``(m, C, H, W)`` come back as rows of ``C * H * W`` values (a view when ``X`` is
        contiguous); the forward pass lays the rows out as ``input_shape`` again.
        """
        array = np.asarray(X) if not isinstance(X, np.ndarray) else X
        example = tuple(array.shape[1:]) if array.ndim > 2 else None
        X = as_numeric_2d(array.reshape(array.shape[0], -1) if example else array, name, dtype=self.dtype)
        if not self.built:
            self.build(example or X.shape[1])
        if len(self.input_shape) == 1:
            if example or X.shape[1] != self.input_dim:
                received = f"examples of shape {example}" if example else str(X.shape[1])
                raise ShapeError(f"{self._first_layer()} expects {self.input_dim} input features, received {received}")
        elif example and example != self.input_shape:
            raise ShapeError(f"{self._first_layer()} expects input of shape {self.input_shape} per example, received "
                             f"{example}")
        elif X.shape[1] != self.input_dim:
            raise ShapeError(f"{self._first_layer()} expects input of shape {self.input_shape} per example (or rows "
                             f"of {self.input_dim} values), received rows of {X.shape[1]} values")
        return X

    def _first_layer(self) -> str:
        """``Dense layer 1``: the layer that takes the inputs, as error messages name it."""
        first = next(layer for layer in self.layers if layer.numbered)
        return f"{type(first).__name__} layer 1"

    def _examples(self, X: np.ndarray) -> np.ndarray:
        """Checked rows laid out as ``(m,) + input_shape`` (a view) for the first layer."""
        return X if len(self.input_shape) == 1 else X.reshape((X.shape[0],) + self.input_shape)

    def check_Y(self, Y, m: int | None = None) -> np.ndarray:
        """Validate targets and return them as an ``(m, K)`` array of the network's dtype.

        Cross-entropy accepts integer class labels ``0 .. K-1`` of shape
        ``(m,)`` and one-hot rows; a single-output network accepts ``(m,)``.
        """
        output = f"the output layer ({type(self.output).__name__} layer {self.L})"
        return check_targets(Y, m, self.n_outputs, self.loss_fn, self.dtype, output)

    def check_sample_weight(self, sample_weight, m: int) -> np.ndarray | None:
        """Validate per-example weights: shape ``(m,)``, finite, non-negative, not all zero."""
        return check_sample_weight(sample_weight, m, self.dtype)

    def summary(self, file=None) -> None:
        """Print each layer with the shape of one output example and its parameter count.

        Parameters
        ----------
        file : text stream, optional
            Where to print (default: standard output).
        """
        self._require_built()
        rows = [("layer", "output shape", "parameters"), ("A0  input", str(self.input_shape), "")]
        for layer in self.layers:
            count = sum(math.prod(spec.shape) for spec in layer.params())
            rows.append((f"{layer.output_key:<3} {layer.describe()}", str(layer.output_shape), f"{count:,}"))
        widths = [max(len(row[i]) for row in rows) for i in range(3)]
        lines = [f"{a:<{widths[0]}}  {b:<{widths[1]}}  {c:>{widths[2]}}" for a, b, c in rows]
        lines.insert(1, "-" * len(lines[0]))
        lines.append(f"total: {self.n_params:,} trained parameters" +
                     (f", {self.state.size:,} non-trained state values" if self.state.size else ""))
        print("\n".join(lines), file=file or sys.stdout)


def example_shape(shape) -> tuple[int, ...]:
    """An input size (int) or example shape (tuple of ints) as a tuple of positive ints."""
    if isinstance(shape, numbers.Integral) and not isinstance(shape, bool):
        return (positive_int("input_dim", shape),)
    if isinstance(shape, (tuple, list)) and shape:
        return tuple(positive_int("input_shape", size) for size in shape)
    raise ConfigError(f"input_shape must be a tuple of positive integers such as (1, 28, 28), received {shape!r}")


def check_placement(layers: list) -> None:
    """Refuse what cannot be trained: no layers, unknown objects, nothing to train, two Dropouts in a row,
    an output without an activation."""
    if not layers:
        raise ConfigError("a Network needs at least one Dense layer")
    for index, layer in enumerate(layers):
        if not isinstance(layer, Layer):
            raise ConfigError(f"layer {index} must be a layer (Dense, Conv2D, MaxPool2D, AvgPool2D, Flatten, "
                              f"BatchNorm, Dropout), received {layer!r}")
        if isinstance(layer, Dropout) and index > 0 and isinstance(layers[index - 1], Dropout):
            raise ConfigError(f"layers {index - 1} and {index} are consecutive Dropout layers; merge them")
    if not any(isinstance(layer, Dense) for layer in layers):
        raise ConfigError("a Network needs at least one Dense layer")
    if layers[-1].activation is None:
        raise ConfigError(f"the last layer must be one with an activation (Dense, BatchNorm), not "
                          f"{type(layers[-1]).__name__}")
