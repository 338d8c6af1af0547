"""``Conv2D``: a Dense layer applied at every position of an image.

For a batch ``A_prev`` of shape ``(m, C, H, W)`` and ``F`` filters ``W`` of shape
``(F, C, kh, kw)``, layer ``l`` computes the cross-correlation of ``torch.nn.functional.conv2d``
as the seed's Dense layer with the ``m P`` windows of the batch as its columns::

    cols = im2col(A_prev)                  (K, m P): K = C kh kw values in each of P = OH OW windows
    Z    = W . cols + b                    (F, m P), read as the images (m, F, OH, OW)
    A    = g(Z)

and its backward pass is the seed's four equations on the column matrices (the derivation is in
``docs/convolution.md``)::

    dZ      = dA * g'(Z)
    dW      = (1/m) dZ . cols^T
    db      = (1/m) sum_columns dZ
    dA_prev = col2im(W^T . dZ)

``W`` and ``b`` are views into the network's flat buffer, as for ``Dense``; the columns live in a
per-batch buffer of the workspace (``cols<l>``), never one for the whole data set. ``Z`` and ``dZ``
are stored filter-major, ``(F, m, P)``, so that each equation is one matrix product; the layer
hands them on as ``(m, F, OH, OW)`` views.
"""

from __future__ import annotations

import numpy as np

from .._checks import positive_int
from ..errors import ConfigError
from ..ops import conv_kernels
from ..ops import convolution as cv
from ..ops.activations import RELU_FAMILY, Activation, get_activation
from ..ops.initializers import get_initializer
from .base import Layer, ParamSpec, register, zeros
from .equations import Equation, Term, first_equation
from .images import buffer, image_shape, non_negative, pair


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
            self.padding = tuple(non_negative("Conv2D padding", p) for p in padding)
        else:
            self.padding = (non_negative("Conv2D padding", padding),) * 2
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
        self.pad_key, self.dcols_key, self.ones_key = f"pad{l}", f"dcols{l}", f"ones{l}"
        self.Z_matrix_key, self.A_matrix_key = f"Z{l}_matrix", f"A{l}_matrix"
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

    @property
    def fused(self) -> bool:
        """Whether the compiled ReLU loops do the element-wise work (else NumPy on the filter-major matrices)."""
        return conv_kernels.ENABLED and self.activation.name == "relu"

    def buffers(self, m):
        filter_major = (self.filters, m * self.P)
        out = {self.Z_matrix_key: filter_major, self.output_key: (m,) + self.output_shape,
               self.dZ_key: filter_major, self.cols_key: (self.K, m * self.P), self.ones_key: (m * self.P,)}
        if not self.fused:
            out[self.A_matrix_key] = filter_major
        if self.padded:
            out[self.pad_key] = (m,) + self.padded_shape
        if self.needs_dA_prev:
            out[self.dcols_key] = (self.K, m * self.P)
            out[self.dA_prev_key] = (m,) + self.padded_shape  # col2im adds into the padded input's shape
        return out

    def scratch_shape(self, m):
        return None if self.fused else (self.filters, m * self.P)

    def _columns(self, A_prev: np.ndarray, ws) -> np.ndarray:
        """im2col of the (zero-padded) input into the per-batch buffer ``cols<l>``."""
        m, (kh, kw) = A_prev.shape[0], self.kernel_size
        X = A_prev
        if self.padded:
            X = cv.pad_into(A_prev, self.pads, buffer(ws, self.pad_key, (m,) + self.padded_shape, A_prev.dtype))
        return cv.im2col(X, kh, kw, self.stride, out=buffer(ws, self.cols_key, (self.K, m * self.P), A_prev.dtype))

    def images(self, filter_major: np.ndarray, m: int) -> np.ndarray:
        """The ``(F, m P)`` matrix ``filter_major`` as the images ``(m, F, OH, OW)``: a view, no copy."""
        return filter_major.reshape(self.filters, m, self.P).transpose(1, 0, 2).reshape((m,) + self.output_shape)

    def forward(self, A_prev, cache, ws, training):
        m, F, dtype = A_prev.shape[0], self.filters, A_prev.dtype
        cache[self.cols_key] = cols = self._columns(A_prev, ws)  #          cols = im2col(A_prev)
        Z = buffer(ws, self.Z_matrix_key, (F, m * self.P), dtype)
        A = buffer(ws, self.output_key, (m,) + self.output_shape, dtype)
        if self.fused:
            cv.conv_forward_relu(cols, self.W.reshape(F, self.K), self.b, Z, A)  # Z = W . cols + b, A = relu(Z)
        else:
            cv.conv_forward(cols, self.W.reshape(F, self.K), self.b, out=Z)  #   Z = W . cols + b
            A_matrix = self.activation.forward(Z, out=ws.get(self.A_matrix_key))  # A = g(Z)
            np.copyto(A, self.images(A_matrix, m))  #                              laid out as images
            cache[self.A_matrix_key] = A_matrix
        cache[self.Z_matrix_key], cache[self.Z_key], cache[self.output_key] = Z, self.images(Z, m), A
        return A

    def predict(self, A_prev):
        return self.forward(A_prev, {}, {}, False)

    def backward(self, dA, cache, grads, ws, dZ=None):
        """The seed's equations on the column matrices; writes ``dW`` and ``db`` in place::

            dZ      = dA * g'(Z)
            dW      = (1/m) dZ . cols^T                 (seed: (1/m) dZ . A_prev^T)
            db      = (1/m) sum_columns dZ              (seed: (1/m) sum_i dZ)
            dA_prev = col2im(W^T . dZ)                  (seed: W^T . dZ)
        """
        Z, cols = cache[self.Z_matrix_key], cache[self.cols_key]
        m, F, K, dtype = cache[self.output_key].shape[0], self.filters, self.K, Z.dtype
        dZ_matrix = buffer(ws, self.dZ_key, (F, m * self.P), dtype)
        if dZ is not None:
            np.copyto(self.images(dZ_matrix, m), dZ)
        elif self.fused:
            conv_kernels.relu_dZ(dA.reshape(m, F, self.P), Z.reshape(F, m, self.P), dZ_matrix.reshape(F, m, self.P))
        else:
            np.copyto(self.images(dZ_matrix, m), dA)  # dA laid out filter-major, then in place:
            self.activation.backward(dZ_matrix, Z, cache[self.A_matrix_key], out=dZ_matrix,
                                     scratch=ws.get(self.S_key))  #              dZ = dA * g'(Z)
        grads[self.dZ_key] = self.images(dZ_matrix, m)
        dcols = buffer(ws, self.dcols_key, cols.shape, dtype) if self.needs_dA_prev else None
        ones = buffer(ws, self.ones_key, (m * self.P,), dtype)
        ones.fill(1)
        dcols = cv.conv_backward(dZ_matrix, cols, self.W.reshape(F, K), m, self.dW.reshape(F, K), self.db, ones,
                                 dcols)
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
        cols, Z = Term(self.cols_key, (K, m * P)), self.term(self.Z_key, m)
        W, b = Term(f"W{l}", (F, K)), self.term(f"b{l}", m, (F,))
        A_prev = self.term(self.input_key, m, (m,) + self.input_shape)
        return [Equation(l, cols, "im2col({0}, " + f"{self.kernel_size[0]}x{self.kernel_size[1]}, stride "
                         f"{self.stride}, pads {self.pads})", (A_prev,)),
                Equation(l, Z, "{0} . {1} + {2}   " + f"the ({F}, {m * P}) product read as {(m,) + self.output_shape}",
                         (W, cols, b)),
                Equation(l, self.term(self.output_key, m), self.activation.name + "({0})", (Z,))]

    def explain_backward(self, m, shortcut, l2):
        l, F, K, P = self.l, self.filters, self.K, self.P
        dZ = self.term(self.dZ_key, m)
        first = first_equation(l, self.activation, dZ, self.term("d" + self.output_key, m), self.term(self.Z_key, m),
                               self.term(self.output_key, m), self.term("Y", m) if shortcut else None)
        dZ_matrix, W = Term(self.dZ_key, (F, m * P)), Term(f"W{l}", (F, K))
        cols_T = Term(self.cols_key, (K, m * P), True)
        decay = " + (lambda/m) {2}" if l2 else ""
        equations = [first,
                     Equation(l, Term(f"dW{l}", (F, K)), "(1/m) {0} . {1}" + decay, (dZ_matrix, cols_T, W)),
                     Equation(l, Term(f"db{l}", (F,)), "(1/m) sum_columns {0}", (dZ_matrix,))]
        if self.needs_dA_prev:
            equations.append(Equation(l, self.term(self.dA_prev_key, m, (m,) + self.input_shape),
                                      "col2im({0} . {1})", (Term(f"W{l}", (F, K), True), dZ_matrix)))
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

