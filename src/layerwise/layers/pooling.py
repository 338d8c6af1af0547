"""``MaxPool2D`` and ``AvgPool2D``: the maximum or the mean of each window, per channel.

For a ``p x q`` window moved by ``s`` over an ``(m, C, H, W)`` input, the output is
``(m, C, OH, OW)`` with ``OH = (H - p) // s + 1`` (floor, as torch). Neither layer has parameters;
their backward passes route ``dA`` to the inputs of each window:

    max:      dA_prev[window's first maximum] += dA         (the maximum's derivative is 1, the rest 0)
    average:  dA_prev[every input of the window] += dA / (p q)

where windows overlap (``s < p``) the contributions add. The loops run compiled
(:mod:`layerwise.ops.image_kernels`) when numba is installed, as whole-array passes otherwise.
"""

from __future__ import annotations

from .._checks import positive_int
from ..errors import ConfigError
from ..ops import image_kernels, pooling
from .base import Layer, register
from .equations import Equation
from .images import buffer, image_shape, pair


class _Pool2D(Layer):
    """What the two poolings share: the window, the stride and the shapes."""

    kind = ""

    def __init__(self, pool_size, stride: int | None = None):
        self.pool_size = pair(f"{self.kind} pool_size", pool_size)
        self.stride = max(self.pool_size) if stride is None else positive_int(f"{self.kind} stride", stride)
        if stride is None and self.pool_size[0] != self.pool_size[1]:
            raise ConfigError(f"{self.kind} with a {self.pool_size[0]}x{self.pool_size[1]} window needs an "
                              f"explicit stride")

    def build(self, input_shape, l, input_key):
        shape = super().build(input_shape, l, input_key)
        self.dA_prev_key = "d" + input_key
        return shape

    def output_shape_for(self, input_shape):
        C, H, W = image_shape(self, input_shape)
        p, q = self.pool_size
        if p > H or q > W:
            raise ConfigError(f"{self.kind} layer {self.l}: its {p}x{q} window does not fit its input of "
                              f"{H}x{W} (examples {tuple(input_shape)})")
        return C, (H - p) // self.stride + 1, (W - q) // self.stride + 1

    def buffers(self, m):
        out = {self.output_key: (m,) + self.output_shape}
        if self.needs_dA_prev:
            out[self.dA_prev_key] = (m,) + self.input_shape
        return out

    def predict(self, A_prev):
        return self.forward(A_prev, {}, {}, False)

    onnx_op = ""
    torch_module = ""

    def onnx_nodes(self, graph, x, out):
        return graph.node(self.onnx_op, [x], out, kernel_shape=list(self.pool_size), strides=[self.stride, self.stride])

    def torch_modules(self, torch, activation_module):
        return [getattr(torch.nn, self.torch_module)(self.pool_size, stride=self.stride)]

    def get_config(self) -> dict:
        return {"type": self.kind, "pool_size": list(self.pool_size), "stride": self.stride}

    @classmethod
    def from_config(cls, config: dict):
        return cls(config["pool_size"], stride=config.get("stride"))

    rule = ""
    backward_rule = ""

    def explain_forward(self, m):
        p, q = self.pool_size
        A_prev = self.term(self.input_key, m, (m,) + self.input_shape)
        return [Equation(self.l, self.term(self.output_key, m), f"{self.rule} of each {p}x{q} window of " + "{0}"
                         f" (stride {self.stride})", (A_prev,))]

    def explain_backward(self, m, shortcut, l2):
        if not self.needs_dA_prev:
            return []
        return [Equation(self.l, self.term(self.dA_prev_key, m, (m,) + self.input_shape), self.backward_rule,
                         (self.term("d" + self.output_key, m),))]

    def describe(self) -> str:
        p, q = self.pool_size
        return f"{self.kind[:3].lower()}pool {p}x{q} stride {self.stride}"

    def __repr__(self) -> str:
        return f"{self.kind}({self.pool_size}, stride={self.stride})"


@register
class MaxPool2D(_Pool2D):
    """The maximum of each ``pool_size`` window; the gradient goes to the window's first maximum.

    Parameters
    ----------
    pool_size : int or (int, int)
    stride : int, optional
        Defaults to the pool size (windows side by side), as in torch.
    """

    kind, onnx_op, torch_module = "MaxPool2D", "MaxPool", "MaxPool2d"
    rule = "max"
    backward_rule = "{0} routed to each window's first maximum (overlaps add)"

    def build(self, input_shape, l, input_key):
        shape = super().build(input_shape, l, input_key)
        self.argmax_key = f"argmax{l}"
        return shape

    @property
    def two_by_two(self) -> bool:
        """Whether the windows are 2x2 at stride 2, which have their own compiled loops."""
        return self.pool_size == (2, 2) and self.stride == 2

    def buffers(self, m):
        return {**super().buffers(m), self.argmax_key: (m,) + self.output_shape}

    def forward(self, A_prev, cache, ws, training):
        """``A = max over each window``; the offset ``u q + v`` of each window's first maximum is kept
        in ``argmax<l>`` (stored in the network's dtype)."""
        m, dtype = A_prev.shape[0], A_prev.dtype
        A = buffer(ws, self.output_key, (m,) + self.output_shape, dtype)
        argmax = buffer(ws, self.argmax_key, A.shape, dtype)
        if image_kernels.ENABLED and self.two_by_two:
            image_kernels.max_pool_2x2_forward(A_prev, A, argmax)
        elif image_kernels.ENABLED:
            image_kernels.max_pool_forward(A_prev, *self.pool_size, self.stride, A, argmax)
        else:
            pooling.max_pool_forward(A_prev, self.pool_size, self.stride, A, argmax)
        cache[self.argmax_key], cache[self.output_key] = argmax, A
        return A

    def backward(self, dA, cache, grads, ws, dZ=None):
        """``dA_prev[first maximum of each window] += dA``."""
        if not self.needs_dA_prev:
            return None
        argmax = cache[self.argmax_key]
        dA_prev = buffer(ws, self.dA_prev_key, (dA.shape[0],) + self.input_shape, dA.dtype)
        if image_kernels.ENABLED and self.two_by_two:
            image_kernels.max_pool_2x2_backward(dA, argmax, dA_prev)
        elif image_kernels.ENABLED:
            image_kernels.max_pool_backward(dA, argmax, self.pool_size[1], self.stride, dA_prev)
        else:
            pooling.max_pool_backward(dA, argmax, self.pool_size, self.stride, dA_prev)
        return dA_prev


@register
class AvgPool2D(_Pool2D):
    """The mean of each ``pool_size`` window; the gradient is shared equally by its inputs.

    Parameters
    ----------
    pool_size : int or (int, int)
    stride : int, optional
        Defaults to the pool size (windows side by side), as in torch.
    """

    kind, onnx_op, torch_module = "AvgPool2D", "AveragePool", "AvgPool2d"
    rule = "mean"
    backward_rule = "{0} / (p q) spread over each window (overlaps add)"

    def forward(self, A_prev, cache, ws, training):
        """``A = mean over each window``."""
        A = buffer(ws, self.output_key, (A_prev.shape[0],) + self.output_shape, A_prev.dtype)
        if image_kernels.ENABLED:
            image_kernels.avg_pool_forward(A_prev, *self.pool_size, self.stride, A)
        else:
            pooling.avg_pool_forward(A_prev, self.pool_size, self.stride, A)
        cache[self.output_key] = A
        return A

    def backward(self, dA, cache, grads, ws, dZ=None):
        """``dA_prev[every input of each window] += dA / (p q)``."""
        if not self.needs_dA_prev:
            return None
        dA_prev = buffer(ws, self.dA_prev_key, (dA.shape[0],) + self.input_shape, dA.dtype)
        if image_kernels.ENABLED:
            image_kernels.avg_pool_backward(dA, *self.pool_size, self.stride, dA_prev)
        else:
            pooling.avg_pool_backward(dA, self.pool_size, self.stride, dA_prev)
        return dA_prev
