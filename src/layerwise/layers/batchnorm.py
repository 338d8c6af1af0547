"""``BatchNorm``: batch normalisation (Ioffe and Szegedy, 2015), derived in the seed's style.

Forward, for a batch ``X`` of shape ``(m, n)`` and each feature (column) ``j``
separately, in training::

    mu      = (1/m) sum_i X_i                   the column's mean
    var     = (1/m) sum_i (X_i - mu)^2          its biased variance
    X^      = (X - mu) / sqrt(var + eps)        (the layer's "x-hat")
    Z       = gamma * X^ + beta
    A       = g(Z)

For an image batch ``(m, C, H, W)`` the same is done per channel ``C``, the
sums running over the ``N = m H W`` positions of the channel instead of the
``N = m`` rows; everything below holds with that ``N``.

The running statistics follow torch's convention with ``momentum`` ``p``:
``running_mean = (1 - p) running_mean + p mu`` and ``running_var = (1 - p)
running_var + p var N / (N - 1)`` (the unbiased variance). At prediction
time ``X^ = (X - running_mean) / sqrt(running_var + eps)``.

Backward. As for Dense, the seed's first equation comes first,
``dZ = dA * g'(Z)``, and the parameters' gradients are sums over the batch::

    dgamma = (1/m) sum dZ * X^
    dbeta  = (1/m) sum dZ

The input is where BatchNorm differs from Dense: nudging one ``X_i`` moves not
only its own ``X^_i`` but, through ``mu`` and ``var``, the ``X^`` of its whole
column. With ``dX^ = dZ * gamma`` and ``sigma = sqrt(var + eps)``, the chain
rule through the three paths (directly, via ``mu``, via ``var``) gives, since
``d mu / d X_i = 1/N`` and ``d var / d X_i = 2 (X_i - mu) / N``::

    dX_i = dX^_i / sigma
           - (1/N) sum_k dX^_k / sigma                        (through mu)
           - X^_i (1/N) sum_k dX^_k X^_k / sigma              (through var)

that is, in matrix form, one line::

    dA_prev = (gamma / sigma) * (dZ - mean(dZ) - X^ * mean(dZ * X^))

with the means over the batch (per column). ``gamma`` and ``beta`` are not
decayed by L2 or weight decay.

Every sum that couples the examples of the batch goes through the layer's
``batch`` hook: :class:`WholeBatch`, the identity, when one process holds the
batch. Under data-parallel training a process holds a shard of ``m`` of the
batch's examples, and the communicator sets ``batch`` to an object with the
same three methods that complete the sums across the shards (see
:mod:`layerwise.distributed.shards`): ``size`` gives the batch's number of
examples (so ``N`` counts the whole batch), ``sum`` the sums of ``X`` and of
``(X - mu)^2``, and ``gradient`` the batch's ``dgamma`` and ``dbeta`` in the
scale of the shard's own, so that ``mean(dZ) = (m/N) dbeta`` holds with the
shard's ``m``. The equations above stay as they are.
"""

from __future__ import annotations

import numpy as np

from .._checks import check_range
from ..errors import ShapeError
from ..ops.activations import Activation, get_activation
from .base import Layer, ParamSpec, StateSpec, ones, register, zeros
from .equations import Equation, first_equation


class WholeBatch:
    """The batch is all in this process: its sums are this process's sums (BatchNorm's default ``batch``)."""

    def size(self, m: int) -> int:
        """The number of examples in the batch, given the ``m`` rows this process holds."""
        return m

    def sum(self, sums: np.ndarray) -> np.ndarray:
        """Per-feature sums over the batch (of ``X`` or ``(X - mu)^2``), given this process's (in place)."""
        return sums

    def gradient(self, grads: np.ndarray) -> np.ndarray:
        """The batch's ``dgamma``, ``dbeta`` (rows of ``grads``), given this process's, in their scale (in place)."""
        return grads


@register
class BatchNorm(Layer):
    """Normalise each feature (or channel) with the batch's statistics, then scale, shift and activate.

    Parameters
    ----------
    momentum : float in (0, 1], default 0.1
        Weight of the current batch in the running statistics (torch's convention).
    eps : float > 0, default 1e-5
        Added to the variance before the square root.
    activation : str or Activation, default "identity"
        Applied after the affine step, so that ``Dense(64, activation="identity")``,
        ``BatchNorm(activation="relu")`` is the usual pre-activation arrangement.

    Notes
    -----
    Training needs at least two values per feature (a batch of one example
    has no variance); the running statistics ``running_mean<l>`` and
    ``running_var<l>`` are saved with the model but never optimised.
    """

    batch = WholeBatch()
    """Where the sums over the batch come from (see the module docstring)."""

    def __init__(self, momentum: float = 0.1, eps: float = 1e-5, activation: str | Activation = "identity"):
        self.momentum = check_range("BatchNorm momentum", momentum, 0.0, 1.0, low_open=True)
        self.eps = check_range("BatchNorm eps", eps, 0.0, low_open=True)
        self.activation = get_activation(activation)

    # ------------------------------------------------------------- protocol
    def build(self, input_shape, l, input_key):
        shape = super().build(input_shape, l, input_key)
        self.Z_key, self.dZ_key, self.S_key = f"Z{l}", f"dZ{l}", f"S{l}"
        self.Xhat_key, self.stats_key, self.dA_prev_key = f"X^{l}", f"stats{l}", "d" + input_key
        self.axes = (0,) + tuple(range(2, len(shape) + 1))  # the batch, and the positions of an image
        self.features, self.positions = shape[0], int(np.prod(shape[1:]))  # N = m * positions
        self.broadcast = (1, self.features) + (1,) * (len(shape) - 1)
        return shape

    def output_shape_for(self, input_shape):
        if len(input_shape) not in (1, 3):
            raise ShapeError(f"BatchNorm layer {self.l} normalises examples of shape (n,) or (C, H, W), "
                             f"received {input_shape}")
        return input_shape

    def params(self):
        return (ParamSpec("gamma", (self.features,), ones, decayed=False),
                ParamSpec("beta", (self.features,), zeros, decayed=False))

    def state(self):
        return (StateSpec("running_mean", (self.features,), 0.0), StateSpec("running_var", (self.features,), 1.0))

    def buffers(self, m):
        shape = (m,) + self.input_shape
        out = {self.Z_key: shape, self.output_key: shape, self.dZ_key: shape, self.Xhat_key: shape,
               self.stats_key: (6, self.features)}
        if self.needs_dA_prev:
            out[self.dA_prev_key] = shape
        return out

    def scratch_shape(self, m):
        return (m,) + self.input_shape

    def _per_feature(self, array: np.ndarray) -> np.ndarray:
        """A ``(features,)`` array as a view that broadcasts against a batch."""
        return array.reshape(self.broadcast)

    def forward(self, A_prev, cache, ws, training):
        if not training:
            cache[self.output_key] = A = self.predict(A_prev)
            return A
        N = self.batch.size(A_prev.shape[0]) * self.positions
        if N < 2:
            raise ShapeError(f"BatchNorm layer {self.l} cannot train on a batch of one value per feature (the "
                             f"variance of one example is 0); use batches of at least 2 examples")
        stats = ws.get(self.stats_key)
        if stats is None:
            stats = np.empty((6, self.features), dtype=A_prev.dtype)
        mu, var, inv_sigma, scaled = stats[:4]
        S, mu_b, inv_sigma_b = ws.get(self.S_key), self._per_feature(mu), self._per_feature(inv_sigma)
        np.add.reduce(A_prev, axis=self.axes, out=mu_b, keepdims=True)
        np.multiply(self.batch.sum(mu), 1 / N, out=mu)  #                               mu = (1/N) sum X
        Xc = np.subtract(A_prev, mu_b, out=ws.get(self.Xhat_key))  #                                 X - mu
        squares = np.square(Xc, out=S)
        np.add.reduce(squares, axis=self.axes, out=self._per_feature(var), keepdims=True)
        np.multiply(self.batch.sum(var), 1 / N, out=var)  #                            var = (1/N) sum (X - mu)^2
        np.sqrt(np.add(var, self.eps, out=inv_sigma), out=inv_sigma)
        np.divide(1, inv_sigma, out=inv_sigma)  #                                       1 / sqrt(var + eps)
        Xhat = np.multiply(Xc, inv_sigma_b, out=Xc)  #                                  X^ = (X - mu) / sigma
        Z = np.multiply(Xhat, self._per_feature(self.gamma), out=ws.get(self.Z_key))  # Z = gamma * X^ ...
        np.add(Z, self._per_feature(self.beta), out=Z)  #                                   ... + beta
        cache[self.Xhat_key], cache[self.stats_key], cache[self.Z_key] = Xhat, stats, Z
        cache[self.output_key] = A = self.activation.forward(Z, out=ws.get(self.output_key))  # A = g(Z)
        self._update_running(mu, var, N, scaled)
        return A

    def _update_running(self, mu: np.ndarray, var: np.ndarray, N: int, scratch: np.ndarray) -> None:
        """``running = (1 - p) running + p batch``, the variance made unbiased by ``N / (N - 1)``."""
        p = self.momentum
        self.running_mean *= 1 - p
        self.running_mean += np.multiply(mu, p, out=scratch)
        self.running_var *= 1 - p
        self.running_var += np.multiply(var, p * N / (N - 1), out=scratch)

    def predict(self, A_prev):
        inv_sigma = 1 / np.sqrt(self.running_var + self.eps)
        Z = np.subtract(A_prev, self._per_feature(self.running_mean))
        Z *= self._per_feature(inv_sigma * self.gamma)
        Z += self._per_feature(self.beta)
        return self.activation.forward(Z, out=Z)

    def backward(self, dA, cache, grads, ws, dZ=None):
        """The backward pass derived in the module docstring, one line per equation::

            dZ      = dA * g'(Z)
            dgamma  = (1/m) sum dZ * X^
            dbeta   = (1/m) sum dZ
            dA_prev = (gamma / sigma) * (dZ - mean(dZ) - X^ * mean(dZ * X^))
        """
        Z, A, Xhat, S = cache[self.Z_key], cache[self.output_key], cache[self.Xhat_key], ws.get(self.S_key)
        stats = cache[self.stats_key]
        inv_sigma, scaled, whole = stats[2], stats[3], stats[4:]
        m = Z.shape[0]
        N = self.batch.size(m) * self.positions
        if dZ is None:
            dZ = self.activation.backward(dA, Z, A, out=ws.get(self.dZ_key), scratch=S)  # dZ = dA * g'(Z)
        grads[self.dZ_key] = dZ
        dgamma_b, dbeta_b = self._per_feature(self.dgamma), self._per_feature(self.dbeta)
        np.multiply(np.add.reduce(np.multiply(dZ, Xhat, out=S), axis=self.axes, out=dgamma_b, keepdims=True),
                    1 / m, out=dgamma_b)  #                                                 dgamma = (1/m) sum dZ X^
        np.multiply(np.add.reduce(dZ, axis=self.axes, out=dbeta_b, keepdims=True), 1 / m, out=dbeta_b)  # dbeta
        if not self.needs_dA_prev:
            return None
        # dA_prev = (gamma / sigma) * (dZ - mean(dZ) - X^ * mean(dZ * X^)), with mean = (m/N) dbeta, (m/N) dgamma
        whole[0], whole[1] = self.dgamma, self.dbeta
        dgamma, dbeta = self.batch.gradient(whole)  #                the whole batch's, when this is a shard of it
        dA_prev = np.multiply(Xhat, self._per_feature(np.multiply(dgamma, m / N, out=scaled)),
                              out=ws.get(self.dA_prev_key))
        np.subtract(dZ, dA_prev, out=dA_prev)
        dA_prev -= self._per_feature(np.multiply(dbeta, m / N, out=scaled))
        dA_prev *= self._per_feature(np.multiply(self.gamma, inv_sigma, out=scaled))
        return dA_prev

    def get_config(self) -> dict:
        config = {"type": "BatchNorm", "momentum": self.momentum, "eps": self.eps,
                  "activation": self.activation.name}
        if self.activation.get_config():
            config["activation_args"] = self.activation.get_config()
        return config

    @classmethod
    def from_config(cls, config: dict) -> BatchNorm:
        activation = get_activation(config.get("activation", "identity"), **config.get("activation_args", {}))
        return cls(momentum=config.get("momentum", 0.1), eps=config.get("eps", 1e-5), activation=activation)

    def explain_forward(self, m):
        l, Xhat, Z = self.l, self.term(self.Xhat_key, m), self.term(self.Z_key, m)
        A_prev = self.term(self.input_key, m)
        gamma, beta = self.term(f"gamma{l}", m, self.gamma.shape), self.term(f"beta{l}", m, self.beta.shape)
        return [Equation(l, Xhat, "({0} - mean({0})) / sqrt(var({0}) + eps)", (A_prev,)),
                Equation(l, Z, "{0} * {1} + {2}", (gamma, Xhat, beta)),
                Equation(l, self.term(self.output_key, m), self.activation.name + "({0})", (Z,))]

    def explain_backward(self, m, shortcut, l2):
        l, dZ, Xhat = self.l, self.term(self.dZ_key, m), self.term(self.Xhat_key, m)
        Y = self.term("Y", m) if shortcut else None
        first = first_equation(l, self.activation, dZ, self.term("d" + self.output_key, m), self.term(self.Z_key, m),
                               self.term(self.output_key, m), Y)
        gamma = self.term(f"gamma{l}", m, self.gamma.shape)
        equations = [first,
                     Equation(l, self.term(f"dgamma{l}", m, gamma.shape), "(1/m) sum {0} * {1}", (dZ, Xhat)),
                     Equation(l, self.term(f"dbeta{l}", m, gamma.shape), "(1/m) sum {0}", (dZ,))]
        if self.needs_dA_prev:
            equations.append(Equation(l, self.term(self.dA_prev_key, m), "({0} / sigma) * ({1} - mean({1}) - {2} * "
                                      "mean({1} * {2}))", (gamma, dZ, Xhat)))
        return equations

    def onnx_nodes(self, graph, x, out):
        """``BatchNormalization`` in inference mode (the running statistics), then the activation's nodes."""
        identity, l = self.activation.name == "identity", self.l
        inputs = [x] + [graph.initializer(f"{kind}{l}", getattr(self, kind))
                        for kind in ("gamma", "beta", "running_mean", "running_var")]
        z = graph.node("BatchNormalization", inputs, out if identity else self.Z_key, epsilon=self.eps,
                       momentum=1 - self.momentum)
        return out if identity else graph.activation(self.activation, z, out, l)

    def torch_modules(self, torch, activation_module):
        """``nn.BatchNorm1d`` (``BatchNorm2d`` for images) with copies of the parameters and running statistics."""
        kind = torch.nn.BatchNorm1d if len(self.input_shape) == 1 else torch.nn.BatchNorm2d
        norm = kind(self.features, eps=self.eps, momentum=self.momentum, dtype=getattr(torch, self.gamma.dtype.name))
        with torch.no_grad():
            for name, value in (("weight", self.gamma), ("bias", self.beta), ("running_mean", self.running_mean),
                                ("running_var", self.running_var)):
                getattr(norm, name).copy_(torch.from_numpy(np.array(value)))
        activation = activation_module(self.activation, self.l)
        return [norm] if activation is None else [norm, activation]

    def describe(self) -> str:
        return f"batchnorm ({self.activation.name})"

    def __repr__(self) -> str:
        return f"BatchNorm(momentum={self.momentum:g}, eps={self.eps:g}, activation={self.activation.name!r})"
