"""A compiled fast path for the gradient of a small stack of Dense layers: one call per batch.

On a small network (the digits' 64-64-10 at batch 32) a batch's matrix
products take a few microseconds and the readable path, :meth:`Dense.forward`
and :meth:`Dense.backward` through :meth:`Network._forward`, ``_loss`` and
``_backward``, spends most of its time in the forty-odd NumPy calls and the
Python frames around them. :func:`dense_stack_gradient` computes the same
batch in one compiled call: the same equations, in the same order, into the
same workspace buffers and the same ``dtheta`` views::

    forward, l = 1 .. L:     Z = A_prev . W^T + b          A = g(Z)
    loss:                    J = (1/m) sum_i loss(A_L[i], Y[i])
    output (the shortcut):   dZ_L = A_L - Y
    backward, l = L .. 1:    dZ = dA * g'(Z)               (l < L)
                             S = (1/m) dZ
                             dW = S^T . A_prev             db = sum_i S
                             dA_prev = dZ . W              (l > 1)

It is an optional path. :class:`DenseStack` takes it only for what it covers
(Dense layers alone; hidden activations identity, ReLU, tanh, sigmoid; an
output that takes the seed's shortcut with softmax + cross-entropy, sigmoid +
binary cross-entropy or identity + mse; no example weights, no L2 penalty;
small layers) and the readable path stays the reference: the tests compare
the two on every combination (to 1e-12 in float64; the compiled ``exp`` and
``log`` and NumPy's differ in the last bit, and NumPy sums a softmax row
pairwise). The matrix products inside call the same BLAS routines
(``gemm``) through SciPy. numba compiles the kernel on first use and caches
it on disk, as for the optimizer steps.
"""

from __future__ import annotations

import numpy as np

from .._compile import ENABLED, compiled
from .dense import Dense

HIDDEN = {"identity": 0, "relu": 1, "tanh": 2, "sigmoid": 3}
"""Hidden activations the kernel computes, by its codes."""

OUTPUTS = {("softmax", "cross_entropy"): 0, ("sigmoid", "binary_cross_entropy"): 1, ("identity", "mse"): 2}
"""Output activation and loss pairs the kernel computes (each with the shortcut ``dZ_L = A_L - Y``)."""

MAX_PRODUCT = 1 << 16
"""Largest ``n_in * n_out`` of a layer for the fast path: beyond it the products dominate and the
readable path's overhead no longer matters."""


@compiled
def dense_stack_gradient(X, Y, Ws, bs, dWs, dbs, Zs, As, dZs, dAs, S, hidden, output, one, scale, tiny):
    """Forward, loss and backward of a Dense stack on one batch (see the module docstring); returns ``J``.

    ``Ws``, ``bs``, ``dWs``, ``dbs``: each layer's parameters and gradient views; ``Zs``, ``As``, ``dZs``:
    its ``(m, n_l)`` buffers; ``dAs[l]``: the ``dA`` it receives (unused for the output layer); ``S`` a
    scratch of at least ``m * n_l`` values; ``hidden[l]``: the code of its activation (:data:`HIDDEN`);
    ``output``: the code of the output pair (:data:`OUTPUTS`); ``one``, ``scale`` (``1/m``) and ``tiny`` (the
    smallest normal number): scalars of the dtype, so that the arithmetic stays in it.
    """
    L, m = len(Ws), X.shape[0]
    zero = one - one
    half = one / (one + one)
    A_prev = X
    for l in range(L):  # forward
        Z, A, b = Zs[l], As[l], bs[l]
        np.dot(A_prev, Ws[l].T, Z)  # Z = W . A_prev ...
        n = Z.shape[1]
        for i in range(m):
            for j in range(n):
                Z[i, j] += b[j]  # ... + b
        if l < L - 1:
            code = hidden[l]
            for i in range(m):
                for j in range(n):
                    z = Z[i, j]
                    if code == 1:
                        A[i, j] = z if z > zero else zero
                    elif code == 2:
                        A[i, j] = np.tanh(z)
                    elif code == 3:
                        A[i, j] = one / (one + np.exp(-z))
                    else:
                        A[i, j] = z
        elif output == 0:  # softmax, shifted by the row max
            for i in range(m):
                top = Z[i, 0]
                for j in range(1, n):
                    top = max(top, Z[i, j])
                total = zero
                for j in range(n):
                    A[i, j] = np.exp(Z[i, j] - top)
                    total += A[i, j]
                for j in range(n):
                    A[i, j] /= total
        elif output == 1:
            for i in range(m):
                for j in range(n):
                    A[i, j] = one / (one + np.exp(-Z[i, j]))
        else:
            A[:, :] = Z
        A_prev = A
    AL, J = As[L - 1], 0.0
    dZ = dZs[L - 1]
    for i in range(m):  # the loss, and the output shortcut dZ_L = A_L - Y
        for j in range(AL.shape[1]):
            a, y = AL[i, j], Y[i, j]
            if output == 0:
                J -= y * np.log(max(a, tiny))
            elif output == 1:
                J -= y * np.log(max(a, tiny)) + (one - y) * np.log(max(one - a, tiny))
            else:
                J += (a - y) * (a - y) * half
            dZ[i, j] = a - y
    for l in range(L - 1, -1, -1):  # backward
        dZ, n = dZs[l], dZs[l].shape[1]
        S_l = S[: m * n].reshape((m, n))
        if l < L - 1:
            dA, Z, A, code = dAs[l], Zs[l], As[l], hidden[l]
            for i in range(m):
                for j in range(n):
                    if code == 1:
                        g = one if Z[i, j] > zero else zero
                    elif code == 2:
                        g = one - A[i, j] * A[i, j]
                    elif code == 3:
                        g = (one - A[i, j]) * A[i, j]
                    else:
                        g = one
                    dZ[i, j] = dA[i, j] * g  # dZ = dA * g'(Z)
        db = dbs[l]
        db[:] = zero
        for i in range(m):
            for j in range(n):
                S_l[i, j] = dZ[i, j] * scale  # (1/m) dZ
                db[j] += S_l[i, j]  # db = (1/m) sum_i dZ
        np.dot(S_l.T, X if l == 0 else As[l - 1], dWs[l])  # dW = (1/m) dZ^T . A_prev
        if l > 0:
            np.dot(dZ, Ws[l], dAs[l - 1])  # dA_prev = dZ . W
    return J / m


class DenseStack:
    """The fast path of one network, if it covers it: :meth:`gradient` per batch, or None from :meth:`of`.

    The network's parameters are bound once; the buffers of each batch size are looked up from its
    workspace once and kept, together with the ``cache`` and ``grads`` dicts the callbacks receive
    (the same keys and arrays as the readable path's).
    """

    def __init__(self, net):
        self.net, dense = net, net.layers
        self.Ws, self.bs = tuple(layer.W for layer in dense), tuple(layer.b for layer in dense)
        self.dWs, self.dbs = tuple(layer.dW for layer in dense), tuple(layer.db for layer in dense)
        self.hidden = np.array([HIDDEN[layer.activation.name] for layer in dense[:-1]] + [0], dtype=np.int64)
        self.output = OUTPUTS[net.output.activation.name, net.loss_fn.name]
        self.one, self.tiny = net.dtype.type(1), np.finfo(net.dtype).tiny
        self.bound = {}

    @classmethod
    def of(cls, net, weighted: bool) -> DenseStack | None:
        """The fast path for ``net``, or None when it does not cover the network (see the module docstring)."""
        layers = net.layers
        covered = (ENABLED and not weighted and not net.l2 and all(type(layer) is Dense for layer in layers)
                   and all(layer.activation.name in HIDDEN for layer in layers[:-1])
                   and (net.output.activation.name, net.loss_fn.name) in OUTPUTS
                   and not net.output.activation.get_config() and not net.loss_fn.get_config()
                   and all(layer.W.size <= MAX_PRODUCT for layer in layers))
        return cls(net) if covered else None

    def buffers(self, ws: dict) -> tuple:
        """The workspace's buffers as the kernel takes them, and the ``cache`` and ``grads`` dicts on them."""
        key = id(ws)
        if key not in self.bound:
            dense = self.net.layers
            Zs, As = tuple(ws[layer.Z_key] for layer in dense), tuple(ws[layer.output_key] for layer in dense)
            dZs = tuple(ws[layer.dZ_key] for layer in dense)
            dAs = tuple(ws[layer.dA_prev_key] for layer in dense[1:]) + (As[-1],)  # the output's: unused
            S = max((ws[layer.S_key] for layer in dense), key=np.size)  # views of one buffer: the largest serves all
            cache = {"A0": None}
            for layer, Z, A in zip(dense, Zs, As):
                cache[layer.Z_key], cache[layer.output_key] = Z, A
            grads = {}
            for layer, dZ, dA in zip(dense[::-1], dZs[::-1], (None,) + dAs[:-1][::-1]):
                if dA is not None:
                    grads["d" + layer.output_key] = dA
                grads[layer.dZ_key] = dZ
            self.bound[key] = ((Zs, As, dZs, dAs, S.reshape(-1)), cache, grads, ws)
        buffers, cache, grads, _ = self.bound[key]
        return buffers, cache, grads

    def gradient(self, X: np.ndarray, Y: np.ndarray, ws: dict) -> tuple[float, dict, dict]:
        """``(J, cache, grads)`` of the batch ``X``, ``Y`` as the readable path gives them; ``dtheta`` written."""
        (Zs, As, dZs, dAs, S), cache, grads = self.buffers(ws)
        cache["A0"] = X
        J = dense_stack_gradient(X, Y, self.Ws, self.bs, self.dWs, self.dbs, Zs, As, dZs, dAs, S, self.hidden,
                                 self.output, self.one, self.one.dtype.type(1 / X.shape[0]), self.tiny)
        return J, cache, grads
