"""``Dense``: the seed's fully connected layer.

A ``Dense`` layer ``l`` computes, for a batch ``A_prev`` of shape ``(m, n_{l-1})``::

    Z = A_prev @ W.T + b          # the seed's Z = W . A_prev + b, rows as examples
    A = g(Z)

and its backward pass is the seed's four equations, one line each (see
:meth:`Dense.backward`). ``W`` (``(n_l, n_{l-1})``) and ``b`` (``(n_l,)``) and
their gradients ``dW``, ``db`` are views into the network's flat buffers,
bound by the parameter table when the network is built.
"""

from __future__ import annotations

import numpy as np

from .._checks import positive_int
from ..errors import ConfigError
from ..ops.activations import Activation, get_activation
from ..ops.initializers import get_initializer
from . import dense_kernels as kernels
from .base import Layer, ParamSpec, register, zeros
from .equations import Equation, Term, first_equation


@register
class Dense(Layer):
    """A fully connected layer ``A = g(A_prev @ W.T + b)``.

    Parameters
    ----------
    units : int
        Number of neurons ``n_l``.
    activation : str or Activation, default "relu"
        Name of a registered activation (see ``layerwise.ACTIVATIONS``).
    init : {"he", "he_uniform", "glorot", "lecun", "readout"}, optional
        Weight initialisation. By default Glorot uniform in hidden layers
        (LeCun for SELU) and ``readout`` (variance ``1 / n_in^2``) in the
        output layer: the schemes that generalised best over the bundled
        and generated data sets (``benchmarks/INITIALIZERS.md``).
    """

    def __init__(self, units: int, activation: str | Activation = "relu", init: str | None = None):
        self.units = positive_int("Dense units", units)
        self.activation = get_activation(activation)
        if init is not None:
            get_initializer(init)
        self.init = init
        self.W: np.ndarray | None = None
        self.b: np.ndarray | None = None

    # ------------------------------------------------------------- protocol
    def build(self, input_shape, l, input_key):
        shape = super().build(input_shape, l, input_key)
        self.Z_key, self.dZ_key, self.S_key = f"Z{l}", f"dZ{l}", f"S{l}"
        self.dA_prev_key = "d" + input_key
        return shape

    def output_shape_for(self, input_shape):
        if len(input_shape) != 1:
            raise ConfigError(f"Dense layer {self.l} needs flat inputs (n,), received examples of shape "
                              f"{input_shape}; put a Flatten layer before it")
        return (self.units,)

    @property
    def weight_init(self) -> str:
        """The initialiser used: ``init``, or the default for the layer's place and activation."""
        if self.init is not None:
            return self.init
        return "readout" if self.is_output else "lecun" if self.activation.name == "selu" else "glorot"

    def params(self):
        n_in = self.input_shape[0]
        weights = get_initializer(self.weight_init)
        return (ParamSpec("W", (self.units, n_in), lambda rng, shape: weights(rng, *shape), decayed=True),
                ParamSpec("b", (self.units,), zeros, decayed=False))

    def buffers(self, m):
        shape = (m, self.units)
        out = {self.Z_key: shape, self.output_key: shape, self.dZ_key: shape}
        if self.needs_dA_prev:
            out[self.dA_prev_key] = (m,) + self.input_shape
        return out

    def scratch_shape(self, m):
        return (m, self.units)

    def _compiled_relu(self) -> bool:
        """Whether the ReLU kernels of :mod:`layerwise.layers.dense_kernels` do the element-wise work."""
        return kernels.ENABLED and self.activation.name == "relu"

    def forward(self, A_prev, cache, ws, training):
        Z = np.matmul(A_prev, self.W.T, out=ws.get(self.Z_key))  # Z = W . A_prev ...
        A = ws.get(self.output_key)
        if self._compiled_relu():  # the next two lines in one compiled pass, bit for bit
            A = kernels.add_bias_relu(Z, self.b, np.empty_like(Z) if A is None else A)
        else:
            np.add(Z, self.b, out=Z)  #                             ... + b
            A = self.activation.forward(Z, out=A)  #                A = g(Z)
        cache[self.Z_key], cache[self.output_key] = Z, A
        return A

    def predict(self, A_prev):
        Z = np.matmul(A_prev, self.W.T)
        if self._compiled_relu():
            return kernels.add_bias_relu_in_place(Z, self.b)
        np.add(Z, self.b, out=Z)
        return self.activation.forward(Z, out=Z)  # A = g(Z), written over Z

    def backward(self, dA, cache, grads, ws, dZ=None):
        """The seed's four equations: write ``dW`` and ``db`` in place, return ``dA_prev``::

            dZ      = dA * g'(Z)                (softmax: its Jacobian applied to dA)
            dW      = (1/m) dZ^T . A_prev       (seed: (1/m) dZ . A_prev^T)
            db      = (1/m) sum_i dZ
            dA_prev = dZ . W                    (seed: W^T . dZ)

        For the output layer of a loss that pairs with its activation, the
        network passes ``dZ = A_L - Y`` (the seed's shortcut,
        :meth:`Network.output_gradient`) and the first equation is skipped.
        The ``1/m`` is applied to ``dZ`` (into the scratch ``S<l>``), which is
        smaller than ``dW`` and serves ``db`` too. For ReLU, the element-wise
        lines (``dZ``, ``(1/m) dZ``, ``db``) run as one compiled pass,
        :func:`~layerwise.layers.dense_kernels.relu_dZ_db`, with the same results.
        """
        Z, A, A_prev, S = cache[self.Z_key], cache[self.output_key], cache[self.input_key], ws.get(self.S_key)
        m = Z.shape[0]
        if dZ is None and self._compiled_relu():  # the three element-wise lines below in one pass
            dZ, dZ_m = ws.get(self.dZ_key), np.empty_like(Z) if S is None else S
            dZ = kernels.relu_dZ_db(dA, Z, np.empty_like(Z) if dZ is None else dZ, dZ_m, self.db, Z.dtype.type(1 / m))
        else:
            if dZ is None:
                dZ = self.activation.backward(dA, Z, A, out=ws.get(self.dZ_key), scratch=S)  # dZ = dA * g'(Z)
            dZ_m = np.multiply(dZ, 1 / m, out=S)  #                                                (1/m) dZ
            np.add.reduce(dZ_m, axis=0, out=self.db)  #                                db = (1/m) sum_i dZ
        grads[self.dZ_key] = dZ
        np.matmul(dZ_m.T, A_prev, out=self.dW)  #                                  dW = (1/m) dZ^T . A_prev
        if self.needs_dA_prev:
            return np.matmul(dZ, self.W, out=ws.get(self.dA_prev_key))  #  dA_prev = dZ . W
        return None

    def get_config(self) -> dict:
        config = {"type": "Dense", "units": self.units, "activation": self.activation.name, "init": self.init}
        if self.activation.get_config():
            config["activation_args"] = self.activation.get_config()
        return config

    @classmethod
    def from_config(cls, config: dict) -> Dense:
        activation = get_activation(config["activation"], **config.get("activation_args", {}))
        return cls(config["units"], activation=activation, init=config.get("init"))

    def explain_forward(self, m):
        l, Z = self.l, self.term(f"Z{self.l}", m)
        A_prev = self.term(self.input_key, m, (m,) + self.input_shape)
        W, b = self.term(f"W{l}", m, self.W.shape, transposed=True), self.term(f"b{l}", m, self.b.shape)
        return [Equation(l, Z, "{0} . {1} + {2}", (A_prev, W, b)),
                Equation(l, self.term(self.output_key, m), self.activation.name + "({0})", (Z,))]

    def explain_backward(self, m, shortcut, l2):
        l, dZ = self.l, self.term(self.dZ_key, m)
        Y = self.term("Y", m) if shortcut else None
        first = first_equation(l, self.activation, dZ, self.term("d" + self.output_key, m), self.term(self.Z_key, m),
                               self.term(self.output_key, m), Y)
        A_prev = self.term(self.input_key, m, (m,) + self.input_shape)
        W = self.term(f"W{l}", m, self.W.shape)
        decay = " + (lambda/m) {2}" if l2 else ""
        equations = [first,
                     Equation(l, self.term(f"dW{l}", m, self.W.shape), "(1/m) {0} . {1}" + decay,
                              (Term(dZ.name, dZ.shape, True), A_prev, W)),
                     Equation(l, self.term(f"db{l}", m, self.b.shape), "(1/m) sum_i {0}", (dZ,))]
        if self.needs_dA_prev:
            equations.append(Equation(l, self.term(self.dA_prev_key, m, A_prev.shape), "{0} . {1}", (dZ, W)))
        return equations

    def onnx_nodes(self, graph, x, out):
        """A ``Gemm`` (``Z = X @ W.T + b``, ``transB=1``) and the activation's nodes (none for the identity)."""
        identity = self.activation.name == "identity"
        W, b = graph.initializer(f"W{self.l}", self.W), graph.initializer(f"b{self.l}", self.b)
        z = graph.node("Gemm", [x, W, b], out if identity else self.Z_key, transB=1)
        return out if identity else graph.activation(self.activation, z, out, self.l)

    def torch_modules(self, torch, activation_module):
        """``nn.Linear`` holding copies of ``W`` (its ``weight``) and ``b``, then the activation's module."""
        linear = torch.nn.Linear(self.W.shape[1], self.units, dtype=getattr(torch, self.W.dtype.name))
        with torch.no_grad():
            linear.weight.copy_(torch.from_numpy(self.W))
            linear.bias.copy_(torch.from_numpy(self.b))
        activation = activation_module(self.activation, self.l)
        return [linear] if activation is None else [linear, activation]

    def describe(self) -> str:
        return f"{self.units} ({self.activation.name})"

    def __repr__(self) -> str:
        return f"Dense({self.units}, activation={self.activation.name!r})"
