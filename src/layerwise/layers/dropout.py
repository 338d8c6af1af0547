"""``Dropout``: inverted dropout, on in training and off at prediction.

Dropout after layer ``l`` (``l = 0``: on the input) draws a scaled mask ``D<l>``
and outputs ``A<l> * D<l>`` (cache key ``A<l>*D``); its backward is the same
product, ``dA<l> = dA * D<l>``. It has no parameters and takes no number of its
own, so the numbering of the other layers is that of the network without it.
"""

from __future__ import annotations

import numpy as np

from .._checks import check_range
from .base import Layer, register
from .equations import Equation


@register
class Dropout(Layer):
    """Inverted dropout on the output of the preceding layer (or on the input).

    In training each unit is kept with probability ``1 - rate`` and the kept
    units are scaled by ``1 / (1 - rate)``, so that nothing changes at
    prediction time, when dropout is off.

    Parameters
    ----------
    rate : float
        Fraction of units dropped, in ``[0, 1)``.
    """

    numbered = False
    draws = True

    def __init__(self, rate: float):
        self.rate = check_range("Dropout rate", rate, 0.0, 1.0, high_open=True)

    def build(self, input_shape, l, input_key):
        super().build(input_shape, l, input_key)
        self.output_key, self.D_key, self.dA_prev_key = f"A{l}*D", f"D{l}", "d" + input_key
        return self.output_shape

    def output_shape_for(self, input_shape):
        return input_shape

    def buffers(self, m):
        if self.rate == 0:
            return {}
        shape = (m,) + self.input_shape
        out = {self.D_key: shape, self.output_key: shape}
        if self.needs_dA_prev:
            out[self.dA_prev_key] = shape
        return out

    def mask(self, rng: np.random.Generator, shape: tuple[int, ...], dtype,
             out: np.ndarray | None = None) -> np.ndarray:
        """Draw the scaled mask ``D``: ``1/(1-rate)`` where kept, ``0`` where dropped (into ``out`` if given)."""
        D = rng.random(shape, dtype=dtype, out=out)
        np.greater_equal(D, self.rate, out=D)  # 1.0 where kept, 0.0 where dropped
        D *= np.dtype(dtype).type(1.0 / (1.0 - self.rate))
        return D

    def forward(self, A_prev, cache, ws, training):
        if not training or self.rate == 0:  # off: the output is the input
            cache[self.output_key] = A_prev
            return A_prev
        cache[self.D_key] = D = self.mask(self.rng, A_prev.shape, A_prev.dtype, out=ws.get(self.D_key))
        cache[self.output_key] = A = np.multiply(A_prev, D, out=ws.get(self.output_key))  # A * D
        return A

    def predict(self, A_prev):
        return A_prev

    def backward(self, dA, cache, grads, ws, dZ=None):
        """``dA_prev = dA * D``: the gradient flows through the kept units, scaled as they were."""
        D = cache.get(self.D_key)
        if D is None:  # off (rate 0)
            return dA
        return np.multiply(dA, D, out=ws.get(self.dA_prev_key))

    def get_config(self) -> dict:
        return {"type": "Dropout", "rate": self.rate}

    @classmethod
    def from_config(cls, config: dict) -> Dropout:
        return cls(config["rate"])

    def explain_forward(self, m):
        if self.rate == 0:
            return []
        A, D = self.term(self.input_key, m), self.term(self.D_key, m)
        return [Equation(self.l, self.term(self.output_key, m), "{0} * {1}", (A, D))]

    def explain_backward(self, m, shortcut, l2):
        if self.rate == 0:
            return []
        dA, D = self.term("d" + self.output_key, m), self.term(self.D_key, m)
        return [Equation(self.l, self.term(self.dA_prev_key, m), "{0} * {1}", (dA, D))]

    def onnx_nodes(self, graph, x, out):
        """Nothing: dropout is off at inference."""
        return x

    def torch_modules(self, torch, activation_module):
        return [torch.nn.Dropout(self.rate)]

    def describe(self) -> str:
        return f"dropout {self.rate:g}"

    def label(self) -> str:
        return f"Dropout({self.rate:g})"

    def __repr__(self) -> str:
        return f"Dropout({self.rate})"
