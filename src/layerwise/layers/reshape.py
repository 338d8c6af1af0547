"""``Flatten``: each example's ``(C, H, W)`` values as one row of ``C H W``, row-major as ``torch.flatten(x, 1)``.

Flattening moves no number, so its backward pass is the same reshaping the other way:
``dA_prev = dA`` laid back out as ``(m, C, H, W)``.
"""

from __future__ import annotations

import math

import numpy as np

from ..errors import ConfigError
from .base import Layer, register
from .equations import Equation


@register
class Flatten(Layer):
    """Reshape each example to a vector of ``C * H * W`` values (channel, then row, then column)."""

    def build(self, input_shape, l, input_key):
        shape = super().build(input_shape, l, input_key)
        self.dA_prev_key = "d" + input_key
        return shape

    def output_shape_for(self, input_shape):
        if len(input_shape) < 2:
            raise ConfigError(f"Flatten layer {self.l} receives examples of shape {tuple(input_shape)}, which "
                              f"are flat already; remove it")
        return (math.prod(input_shape),)

    def forward(self, A_prev, cache, ws, training):
        cache[self.output_key] = A = self.predict(A_prev)
        return A

    def predict(self, A_prev):
        return np.reshape(A_prev, (A_prev.shape[0],) + self.output_shape)  # a view of contiguous input

    def backward(self, dA, cache, grads, ws, dZ=None):
        """``dA_prev = dA``, each row laid back out as ``(C, H, W)``."""
        if not self.needs_dA_prev:
            return None
        return np.reshape(dA, (dA.shape[0],) + self.input_shape)

    def onnx_nodes(self, graph, x, out):
        return graph.node("Flatten", [x], out, axis=1)

    def torch_modules(self, torch, activation_module):
        return [torch.nn.Flatten()]

    def get_config(self) -> dict:
        return {"type": "Flatten"}

    @classmethod
    def from_config(cls, config: dict) -> Flatten:
        return cls()

    def explain_forward(self, m):
        return [Equation(self.l, self.term(self.output_key, m), "reshape({0})",
                         (self.term(self.input_key, m, (m,) + self.input_shape),))]

    def explain_backward(self, m, shortcut, l2):
        if not self.needs_dA_prev:
            return []
        return [Equation(self.l, self.term(self.dA_prev_key, m, (m,) + self.input_shape), "reshape({0})",
                         (self.term("d" + self.output_key, m),))]

    def describe(self) -> str:
        return f"flatten {self.output_shape[0]}"

    def __repr__(self) -> str:
        return "Flatten()"
