"""``Conv2D``: a Dense layer applied at every position of an image.

For a batch ``A_prev`` of shape ``(m, C, H, W)`` and ``F`` filters ``W`` of shape
``(F, C, kh, kw)``, layer ``l`` computes the cross-correlation of ``torch.nn.functional.conv2d``::

    cols_i = im2col(A_prev_i)              (K, P): K = C kh kw values in each of P = OH OW windows
    Z_i    = W . cols_i + b                (F, P) = (F, OH, OW)
    A      = g(Z)

and its backward pass is the seed's four equations on the column matrices (the derivation is in
``docs/convolution.md``)::

    dZ      = dA * g'(Z)
    dW      = (1/m) sum_i dZ_i . cols_i^T
    db      = (1/m) sum_i sum_p dZ_i
    dA_prev = col2im(W^T . dZ_i)

``W`` and ``b`` are views into the network's flat buffer, as for ``Dense``; the columns live in a
per-batch buffer of the workspace (``cols<l>``), never one for the whole data set.
"""

from __future__ import annotations

import numpy as np

from .._checks import positive_int
from ..errors import ConfigError
from ..ops import convolution as cv
from ..ops.activations import RELU_FAMILY, Activation, get_activation
from ..ops.initializers import get_initializer
from .base import Layer, ParamSpec, register, zeros
from .equations import Equation, Term, first_equation


def pair(what: str, value) -> tuple[int, int]:
    """A positive integer or a pair of them, as ``(rows, columns)``."""
    if isinstance(value, (tuple, list)) and len(value) == 2:
        return positive_int(what, value[0]), positive_int(what, value[1])
    if isinstance(value, (tuple, list)):
        raise ConfigError(f"{what} must be a positive integer or a pair of them, received {value!r}")
    size = positive_int(what, value)
    return size, size


def image_shape(layer: Layer, input_shape: tuple[int, ...]) -> tuple[int, int, int]:
    """``input_shape`` as ``(C, H, W)``, or a ConfigError naming the layer."""
    if len(input_shape) != 3:
        raise ConfigError(f"{type(layer).__name__} layer {layer.l} needs image examples of shape (C, H, W), "
                         f"received examples of shape {tuple(input_shape)}; give the network "
                         f"input_shape=(C, H, W)")
    return input_shape


def buffer(ws, key: str, shape: tuple[int, ...], dtype) -> np.ndarray:
    """The workspace's buffer ``key``, or a new array when training without one."""
    out = ws.get(key)
    return np.empty(shape, dtype) if out is None else out


@register
class Conv2D(Layer):
    """A 2-D convolution ``A = g(W * A_prev + b)`` over ``(m, C, H, W)`` images.

    Parameters
    ----------
    filters : int
        Number of filters ``F``, the channels of the output.
    kernel_size : int or (int, int)
        ``kh`` and ``kw``.
    stride : int, default 1
    padding : int, (int, int), "valid" or "same", default 0
        Zeros added around the input: on every side, on (top and bottom, left and right), none, or
        as many as keep the size at stride 1 (an even kernel pads one more after, as torch does).
    activation : str or Activation, default "relu"
        An element-wise activation applied after the bias (softmax belongs on a Dense output).
    init : {"he", "glorot", "lecun"}, optional
        As for :class:`Dense`, with ``n_in = C kh kw``.

    Examples
    --------
    >>> import layerwise as lw
    >>> net = lw.Network([lw.Conv2D(4, 3, padding="same"), lw.Flatten(), lw.Dense(2, activation="softmax")],
    ...                  input_shape=(1, 5, 5), seed=0)
    >>> net.params["W1"].shape
    (4, 1, 3, 3)
    """

    def __init__(self, filters: int, kernel_size, stride: int = 1, padding=0,
                 activation: str | Activation = "relu", init: str | None = None):
        self.filters = positive_int("Conv2D filters", filters)
        self.kernel_size = pair("Conv2D kernel_size", kernel_size)
        self.stride = positive_int("Conv2D stride", stride)
        if padding == "same" and self.stride != 1:
            raise ConfigError(f"Conv2D padding 'same' needs stride 1, received stride {self.stride}")
        if padding == "valid":
            padding = 0
        if padding == "same":
            self.padding = "same"
        elif isinstance(padding, (tuple, list)) and len(padding) == 2:
            self.padding = tuple(_non_negative("Conv2D padding", p) for p in padding)
        else:
            self.padding = (_non_negative("Conv2D padding", padding),) * 2
        self.activation = get_activation(activation)
        if self.activation.name == "softmax":
            raise ConfigError("Conv2D activation must be element-wise, received 'softmax'; "
                              "put softmax on a Dense output layer after a Flatten")
        if init is None:
            name = self.activation.name
            init = "lecun" if name == "selu" else "he" if name in RELU_FAMILY else "glorot"
        get_initializer(init)
        self.init = init

    @property
    def pads(self) -> tuple[int, int, int, int]:
        """Zeros added (top, bottom, left, right)."""
        if self.padding == "same":
            return cv.same_padding(self.kernel_size[0]) + cv.same_padding(self.kernel_size[1])
        ph, pw = self.padding
        return ph, ph, pw, pw

    # ------------------------------------------------------------- protocol
    def build(self, input_shape, l, input_key):
        shape = super().build(input_shape, l, input_key)
        self.Z_key, self.dZ_key, self.S_key, self.cols_key = f"Z{l}", f"dZ{l}", f"S{l}", f"cols{l}"
        self.pad_key, self.dcols_key, self.dW_each_key = f"pad{l}", f"dcols{l}", f"dW_each{l}"
        self.db_each_key, self.ones_key = f"db_each{l}", f"ones{l}"
        self.dA_prev_key = "d" + input_key
        return shape

    def output_shape_for(self, input_shape):
        C, H, W = image_shape(self, input_shape)
        (kh, kw), (top, bottom, left, right) = self.kernel_size, self.pads
        if kh > H + top + bottom or kw > W + left + right:
            raise ConfigError(f"Conv2D layer {self.l}: its {kh}x{kw} kernel does not fit its input of "
                              f"{H + top + bottom}x{W + left + right} (examples {tuple(input_shape)}, padding "
                              f"{self.padding!r})")
        self.padded_shape = (C, H + top + bottom, W + left + right)
        OH = cv.output_size(H, kh, self.stride, top, bottom)
        OW = cv.output_size(W, kw, self.stride, left, right)
        self.K, self.P = C * kh * kw, OH * OW
        return self.filters, OH, OW

    def params(self):
        weights = get_initializer(self.init)
        shape = (self.filters,) + self.input_shape[:1] + self.kernel_size
        return (ParamSpec("W", shape, lambda rng, shape: weights(rng, shape[0], self.K).reshape(shape), decayed=True),
                ParamSpec("b", (self.filters,), zeros, decayed=False))

    @property
    def padded(self) -> bool:
        return any(self.pads)

    def buffers(self, m):
        shape = (m,) + self.output_shape
        out = {self.Z_key: shape, self.output_key: shape, self.dZ_key: shape, self.cols_key: (m, self.K, self.P),
               self.dW_each_key: (m, self.filters, self.K), self.db_each_key: (m, self.filters),
               self.ones_key: (self.P,)}
        if self.padded:
            out[self.pad_key] = (m,) + self.padded_shape
        if self.needs_dA_prev:
            out[self.dcols_key] = (m, self.K, self.P)
            out[self.dA_prev_key] = (m,) + self.padded_shape  # col2im adds into the padded input's shape
        return out

    def scratch_shape(self, m):
        return (m,) + self.output_shape

    def _columns(self, A_prev: np.ndarray, ws) -> np.ndarray:
        """im2col of the (zero-padded) input into the per-batch buffer ``cols<l>``."""
        m, (kh, kw) = A_prev.shape[0], self.kernel_size
        X = A_prev
        if self.padded:
            X = cv.pad_into(A_prev, self.pads, buffer(ws, self.pad_key, (m,) + self.padded_shape, A_prev.dtype))
        return cv.im2col(X, kh, kw, self.stride, out=buffer(ws, self.cols_key, (m, self.K, self.P), A_prev.dtype))

    def forward(self, A_prev, cache, ws, training):
        m = A_prev.shape[0]
        cache[self.cols_key] = cols = self._columns(A_prev, ws)  #         cols = im2col(A_prev)
        Z = buffer(ws, self.Z_key, (m,) + self.output_shape, A_prev.dtype)
        cv.conv_forward(cols, self.W.reshape(self.filters, self.K), self.b, out=Z.reshape(m, self.filters, self.P))
        cache[self.Z_key] = Z  #                                            Z = W . cols + b
        rows = (m, self.filters * self.P)  # g on (m, F OH OW) rows: NumPy's maximum is faster on long rows
        A = ws.get(self.output_key)
        A = self.activation.forward(Z.reshape(rows), out=None if A is None else A.reshape(rows))
        cache[self.output_key] = A = A.reshape(Z.shape)  #                  A = g(Z)
        return A

    def predict(self, A_prev):
        return self.forward(A_prev, {}, {}, False)

    def backward(self, dA, cache, grads, ws, dZ=None):
        """The seed's equations on the column matrices; writes ``dW`` and ``db`` in place::

            dZ      = dA * g'(Z)
            dW      = (1/m) sum_i dZ_i . cols_i^T       (seed: (1/m) dZ . A_prev^T)
            db      = (1/m) sum_i sum_p dZ_i            (seed: (1/m) sum_i dZ)
            dA_prev = col2im(W^T . dZ_i)                (seed: W^T . dZ)
        """
        Z, A, cols, S = cache[self.Z_key], cache[self.output_key], cache[self.cols_key], ws.get(self.S_key)
        if dZ is None:
            dZ = self.activation.backward(dA, Z, A, out=ws.get(self.dZ_key), scratch=S)  # dZ = dA * g'(Z)
        grads[self.dZ_key] = dZ
        m, F, K, dtype = Z.shape[0], self.filters, self.K, Z.dtype
        dcols = buffer(ws, self.dcols_key, cols.shape, dtype) if self.needs_dA_prev else None
        ones = buffer(ws, self.ones_key, (self.P,), dtype)
        ones.fill(1)
        dcols = cv.conv_backward(dZ.reshape(m, F, self.P), cols, self.W.reshape(F, K), self.dW.reshape(F, K),
                                 self.db, buffer(ws, self.dW_each_key, (m, F, K), dtype),
                                 buffer(ws, self.db_each_key, (m, F), dtype), ones, dcols)
        if dcols is None:
            return None
        kh, kw = self.kernel_size
        dX = cv.col2im(dcols, kh, kw, self.stride, out=buffer(ws, self.dA_prev_key, (m,) + self.padded_shape, dtype))
        top, _, left, _ = self.pads
        _, H, W = self.input_shape
        return dX[:, :, top:top + H, left:left + W] if self.padded else dX  # dA_prev = col2im(W^T . dZ)

    def get_config(self) -> dict:
        config = {"type": "Conv2D", "filters": self.filters, "kernel_size": list(self.kernel_size),
                  "stride": self.stride, "padding": self.padding if self.padding == "same" else list(self.padding),
                  "activation": self.activation.name, "init": self.init}
        if self.activation.get_config():
            config["activation_args"] = self.activation.get_config()
        return config

    @classmethod
    def from_config(cls, config: dict) -> Conv2D:
        activation = get_activation(config["activation"], **config.get("activation_args", {}))
        return cls(config["filters"], config["kernel_size"], stride=config.get("stride", 1),
                   padding=config.get("padding", 0), activation=activation, init=config.get("init"))

    def explain_forward(self, m):
        l, F, K, P = self.l, self.filters, self.K, self.P
        cols, Z = Term(self.cols_key, (m, K, P)), self.term(self.Z_key, m)
        W, b = Term(f"W{l}", (F, K)), self.term(f"b{l}", m, (F,))
        A_prev = self.term(self.input_key, m, (m,) + self.input_shape)
        return [Equation(l, cols, "im2col({0}, " + f"{self.kernel_size[0]}x{self.kernel_size[1]}, stride "
                         f"{self.stride}, pads {self.pads})", (A_prev,)),
                Equation(l, Z, "{0} . {1} + {2}   for each example i", (W, Term(self.cols_key + "_i", (K, P)), b)),
                Equation(l, self.term(self.output_key, m), self.activation.name + "({0})", (Z,))]

    def explain_backward(self, m, shortcut, l2):
        l, F, K, P = self.l, self.filters, self.K, self.P
        dZ = self.term(self.dZ_key, m)
        first = first_equation(l, self.activation, dZ, self.term("d" + self.output_key, m), self.term(self.Z_key, m),
                               self.term(self.output_key, m), self.term("Y", m) if shortcut else None)
        dZ_i, W = Term(self.dZ_key + "_i", (F, P)), Term(f"W{l}", (F, K))
        cols_T = Term(self.cols_key + "_i", (K, P), True)
        decay = " + (lambda/m) {2}" if l2 else ""
        equations = [first,
                     Equation(l, Term(f"dW{l}", (F, K)), "(1/m) sum_i {0} . {1}" + decay, (dZ_i, cols_T, W)),
                     Equation(l, Term(f"db{l}", (F,)), "(1/m) sum_i sum_p {0}", (dZ_i,))]
        if self.needs_dA_prev:
            equations.append(Equation(l, self.term(self.dA_prev_key, m, (m,) + self.input_shape),
                                      "col2im({0} . {1})", (Term(f"W{l}", (F, K), True), dZ_i)))
        return equations

    def onnx_nodes(self, graph, x, out):
        """``Conv`` (pads top, left, bottom, right), then the activation's node(s) (none for the identity)."""
        l, (top, bottom, left, right) = self.l, self.pads
        identity = self.activation.name == "identity"
        W, b = graph.initializer(f"W{l}", self.W), graph.initializer(f"b{l}", self.b)
        z = graph.node("Conv", [x, W, b], out if identity else self.Z_key, kernel_shape=list(self.kernel_size),
                       strides=[self.stride, self.stride], pads=[top, left, bottom, right])
        return out if identity else graph.activation(self.activation, z, out, l)

    def torch_modules(self, torch, activation_module):
        """``nn.Conv2d`` holding copies of ``W`` and ``b``, then the activation's module."""
        padding = "same" if self.padding == "same" else self.padding
        conv = torch.nn.Conv2d(self.input_shape[0], self.filters, self.kernel_size, stride=self.stride,
                               padding=padding, dtype=getattr(torch, self.W.dtype.name))
        with torch.no_grad():
            conv.weight.copy_(torch.from_numpy(self.W))
            conv.bias.copy_(torch.from_numpy(self.b))
        activation = activation_module(self.activation, self.l)
        return [conv] if activation is None else [conv, activation]

    def describe(self) -> str:
        kh, kw = self.kernel_size
        padding = "same" if self.padding == "same" else f"pad {self.padding[0]}x{self.padding[1]}"
        return f"conv {self.filters}x{kh}x{kw} stride {self.stride} {padding} ({self.activation.name})"

    def __repr__(self) -> str:
        return (f"Conv2D({self.filters}, {self.kernel_size}, stride={self.stride}, padding={self.padding!r}, "
                f"activation={self.activation.name!r})")


def _non_negative(what: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
        raise ConfigError(f"{what} must be a non-negative integer, a pair of them, 'valid' or 'same', "
                          f"received {value!r}")
    return int(value)
