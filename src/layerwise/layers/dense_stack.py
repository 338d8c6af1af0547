"""A compiled fast path for a stack of Dense layers: one call per batch, for training and for prediction.

On a small network (the digits' 64-64-10 at batch 32) a batch's matrix
products take a few microseconds and the readable path, :meth:`Dense.forward`
and :meth:`Dense.backward` through :meth:`Network._forward`, ``_loss`` and
``_backward``, spends most of its time in the forty-odd NumPy calls and the
Python frames around them. :func:`dense_stack_pass` computes the same
batch in one compiled call: the same equations, in the same order, into the
workspace's buffers (views of one flat buffer, so that a single compiled
version serves every depth) and into ``dtheta``::

    forward, l = 1 .. L:     Z = A_prev . W^T + b          A = g(Z)
    loss:                    J = (1/m) sum_i loss(A_L[i], Y[i])
    output (the shortcut):   dZ_L = A_L - Y
    backward, l = L .. 1:    dZ = dA * g'(Z)               (l < L)
                             S = (1/m) dZ
                             dW = S^T . A_prev             db = sum_i S
                             dA_prev = dZ . W              (l > 1)

Prediction runs the forward lines alone (``backward=False``), each ``A``
written over its ``Z``, when the rows are few (:data:`MAX_PREDICTION`): there
the calls around the products are what costs. On one example of W1's
784-512-256-10 network the products take 50 µs, the readable path's three
layers 70 µs and the compiled pass 52 µs.

It is an optional path. :class:`DenseStack` takes it only for what it covers:
Dense layers alone; hidden activations identity, ReLU, tanh, sigmoid; an
output of softmax, sigmoid or identity. Training also needs the seed's
shortcut for the output (softmax + cross-entropy, sigmoid + binary
cross-entropy or identity + mse), no example weights, no L2 penalty and small
layers. The readable path stays the reference: the tests compare
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

OUTPUT_ACTIVATIONS = {"softmax": 0, "sigmoid": 1, "identity": 2}
"""Output activations the kernel computes, by its codes."""

OUTPUTS = (("softmax", "cross_entropy"), ("sigmoid", "binary_cross_entropy"), ("identity", "mse"))
"""Output activation and loss pairs the kernel trains (each with the shortcut ``dZ_L = A_L - Y``); the code of
the activation is the code of its loss in the kernel."""

MAX_PRODUCT = 1 << 16
"""Largest ``n_in * n_out`` of a layer for the fast path: beyond it the products dominate and the
readable path's overhead no longer matters."""


MAX_BATCH_SIZES = 8
"""Batch sizes whose buffers a :class:`DenseStack` keeps: prediction's layouts, and training's workspaces (with
their bindings) from one ``fit`` to the next."""

MAX_PREDICTION = 1 << 20
"""Largest ``m * (number of weights)`` (the multiply-adds of the products) of a prediction for the compiled
pass: beyond it the readable path, whose products are NumPy's, is as fast or faster. Measured at 2 threads,
the readable path's time over the compiled pass's: W1's network (535k weights) 1.25-1.33x at one row and
0.76-0.94x at eight; the digits' 64-64-10 (4,736 weights) 1.9-2.1x at one row, 1.2-1.3x at 32, 1.0-1.07x at 128."""

W, B, N_IN, N_OUT, Z, A, DZ, DA, G = range(9)
"""Columns of the kernel's layout table, one row per layer: offsets of ``W`` and ``b`` in ``theta`` (and of
``dW``, ``db`` in ``dtheta``), the widths, offsets of ``Z``, ``A``, ``dZ`` and of the ``dA`` the layer receives
in the buffer of the batch, and the code of the activation (:data:`HIDDEN`)."""


@compiled
def dense_stack_pass(X, Y, theta, dtheta, buffer, S, layout, output, scale, tiny, backward):
    """Forward, loss and backward of a Dense stack on one batch (see the module docstring); returns ``J``.

    Every array is a flat buffer with its pieces found through ``layout`` (see :data:`W`), so that one
    compiled version serves networks of any depth: ``theta`` and ``dtheta``, the network's; ``buffer``, the
    ``Z``, ``A``, ``dZ`` and ``dA`` of every layer for a batch of ``m``; ``S``, a scratch of ``m * n_l`` values
    for the widest layer. ``output``: the code of the output pair (:data:`OUTPUTS`); ``scale`` (``1/m``) and
    ``tiny`` (the smallest normal number): scalars of the dtype, so that the arithmetic stays in it. With
    ``backward`` false only the forward runs and 0 is returned; ``Y``, ``dtheta`` and ``S`` are not read.
    """
    L, m = layout.shape[0], X.shape[0]
    one, zero = X.dtype.type(1), X.dtype.type(0)
    half = one / (one + one)
    A_prev = X
    for l in range(L):  # forward
        n_in, n = layout[l, N_IN], layout[l, N_OUT]
        Wl = theta[layout[l, W]: layout[l, W] + n * n_in].reshape((n, n_in))
        b = theta[layout[l, B]: layout[l, B] + n]
        Zl = buffer[layout[l, Z]: layout[l, Z] + m * n].reshape((m, n))
        Al = buffer[layout[l, A]: layout[l, A] + m * n].reshape((m, n))
        np.dot(A_prev, Wl.T, Zl)  # Z = W . A_prev ...
        for i in range(m):
            Zi = Zl[i]
            for j in range(n):
                Zi[j] += b[j]  # ... + b
        code = layout[l, G] if l < L - 1 else 4 + output  # A = g(Z)
        for i in range(m):
            Zi, Ai = Zl[i], Al[i]
            if code == 4:  # softmax, shifted by the row max
                top = Zi[0]
                for j in range(1, n):
                    top = max(top, Zi[j])
                total = zero
                for j in range(n):
                    Ai[j] = np.exp(Zi[j] - top)
                    total += Ai[j]
                for j in range(n):
                    Ai[j] /= total
            elif code == 1:
                for j in range(n):
                    Ai[j] = zero if Zi[j] < zero else Zi[j]
            elif code == 2:
                for j in range(n):
                    Ai[j] = np.tanh(Zi[j])
            elif code == 3 or code == 5:
                for j in range(n):
                    Ai[j] = one / (one + np.exp(-Zi[j]))
            else:
                for j in range(n):
                    Ai[j] = Zi[j]
        A_prev = Al
    if not backward:
        return 0.0
    n = layout[L - 1, N_OUT]
    J, dZl = 0.0, buffer[layout[L - 1, DZ]: layout[L - 1, DZ] + m * n].reshape((m, n))
    for i in range(m):  # the loss, and the output shortcut dZ_L = A_L - Y
        for j in range(n):
            a, y = A_prev[i, j], Y[i, j]
            if output == 0:
                J -= y * np.log(max(a, tiny))
            elif output == 1:
                J -= y * np.log(max(a, tiny)) + (one - y) * np.log(max(one - a, tiny))
            else:
                J += (a - y) * (a - y) * half
            dZl[i, j] = a - y
    for l in range(L - 1, -1, -1):  # backward
        n_in, n = layout[l, N_IN], layout[l, N_OUT]
        dZl = buffer[layout[l, DZ]: layout[l, DZ] + m * n].reshape((m, n))
        S_l = S[: m * n].reshape((m, n))
        db = dtheta[layout[l, B]: layout[l, B] + n]
        if l < L - 1:
            dA = buffer[layout[l, DA]: layout[l, DA] + m * n].reshape((m, n))
            Zl = buffer[layout[l, Z]: layout[l, Z] + m * n].reshape((m, n))
            Al = buffer[layout[l, A]: layout[l, A] + m * n].reshape((m, n))
            code = layout[l, G]
            for i in range(m):
                for j in range(n):
                    if code == 1:
                        g = one if Zl[i, j] > zero else zero
                    elif code == 2:
                        g = one - Al[i, j] * Al[i, j]
                    elif code == 3:
                        g = (one - Al[i, j]) * Al[i, j]
                    else:
                        g = one
                    dZl[i, j] = dA[i, j] * g  # dZ = dA * g'(Z)
        db[:] = zero
        for i in range(m):
            for j in range(n):
                S_l[i, j] = dZl[i, j] * scale  # (1/m) dZ
                db[j] += S_l[i, j]  # db = (1/m) sum_i dZ
        if l == 0:
            A_prev = X
        else:
            A_prev = buffer[layout[l - 1, A]: layout[l - 1, A] + m * n_in].reshape((m, n_in))
        dW = dtheta[layout[l, W]: layout[l, W] + n * n_in].reshape((n, n_in))
        np.dot(S_l.T, A_prev, dW)  # dW = (1/m) dZ^T . A_prev
        if l > 0:
            Wl = theta[layout[l, W]: layout[l, W] + n * n_in].reshape((n, n_in))
            dA_prev = buffer[layout[l - 1, DA]: layout[l - 1, DA] + m * n_in].reshape((m, n_in))
            np.dot(dZl, Wl, dA_prev)  # dA_prev = dZ . W
    return J / m


class DenseStack:
    """The fast path of one network, if it covers it: :meth:`output` for prediction and, where it
    :meth:`trains` the network, :meth:`gradient` per batch; from :meth:`for_prediction` (None when it does not
    cover the network). The network keeps its own (:meth:`Network._compiled_forward`), and with it, in
    :attr:`workspaces`, the workspaces its training fills, from one ``fit`` to the next.

    For each batch size, the layers' ``Z``, ``A``, ``dZ`` and ``dA`` buffers of the workspace are replaced,
    once, by views of one flat buffer, which the kernel takes with its layout table; the ``cache`` and
    ``grads`` dicts the callbacks receive are built on them once too (the same keys as the readable path's).
    """

    def __init__(self, net):
        self.net = net
        self.output_code = OUTPUT_ACTIVATIONS[net.output.activation.name]
        self.one, self.tiny = net.dtype.type(1), np.finfo(net.dtype).tiny
        entries = {(entry.layer, entry.kind): entry.offset for entry in net.table.entries}
        self.params = [(entries[layer, "W"], entries[layer, "b"], layer.W.shape[1], layer.units,
                        HIDDEN.get(layer.activation.name, 0)) for layer in net.layers]
        self.bound, self.workspaces = {}, {}  # training's buffers, by workspace and by batch size (see bind)
        units = [params[3] for params in self.params]
        self.row_layout = self._layout()  # prediction's, for one row: each layer's A over its Z
        self.row_layout[:, Z] = self.row_layout[:, A] = np.cumsum([0] + units[:-1])
        self.width = sum(units)
        self.n_weights = sum(n_in * n for _, _, n_in, n, _ in self.params)
        self.layouts = {}

    def _layout(self) -> np.ndarray:
        """A layout table (:data:`W`) with the parameters' columns filled and the buffer offsets at zero."""
        layout = np.zeros((len(self.params), 9), dtype=np.int64)
        for l, params in enumerate(self.params):
            layout[l, :Z], layout[l, G] = params[:4], params[4]
        return layout

    @staticmethod
    def covers(net) -> bool:
        """Whether the kernel computes ``net``'s forward pass: Dense layers alone, with its activations."""
        layers = net.layers
        return (ENABLED and all(type(layer) is Dense for layer in layers)
                and all(layer.activation.name in HIDDEN for layer in layers[:-1])
                and net.output.activation.name in OUTPUT_ACTIVATIONS and not net.output.activation.get_config())

    @classmethod
    def for_prediction(cls, net) -> DenseStack | None:
        """The compiled forward pass of ``net``, or None when it does not cover the network."""
        return cls(net) if cls.covers(net) else None

    def trains(self, weighted: bool) -> bool:
        """Whether the kernel also trains the network, with example weights if ``weighted`` (see the module
        docstring)."""
        net = self.net
        return (not weighted and not net.l2 and (net.output.activation.name, net.loss_fn.name) in OUTPUTS
                and not net.loss_fn.get_config() and all(layer.W.size <= MAX_PRODUCT for layer in net.layers))

    def predicts(self, X: np.ndarray) -> bool:
        """Whether :meth:`output` takes the checked rows ``X``: C-contiguous, and few enough for the pass to be
        the faster (:data:`MAX_PREDICTION`)."""
        return X.flags.c_contiguous and X.shape[0] * self.n_weights <= MAX_PREDICTION

    def output(self, X: np.ndarray) -> np.ndarray:
        """``A_L`` of the checked, C-contiguous rows ``X``, as :meth:`Network._output` computes it."""
        m = X.shape[0]
        layout = self.layouts.get(m)
        if layout is None:  # made whole before it is shared, so that threads predicting at once agree
            layout = self.row_layout.copy()
            layout[:, Z: A + 1] *= m
            if len(self.layouts) >= MAX_BATCH_SIZES:
                self.layouts = {}
            self.layouts[m] = layout
        buffer = np.empty(m * self.width, dtype=X.dtype)  # each layer's A written over its Z
        # Without the backward pass Y, dtheta and S are not touched, but the kernel's writes to the last two are
        # compiled all the same: the writable buffer stands in for them (theta itself may be read-only).
        dense_stack_pass(X, X, self.net.theta, buffer, buffer, buffer, layout, self.output_code, self.one, self.tiny,
                         False)
        return buffer[layout[-1, A]:].reshape(m, -1).copy()

    def make_room(self) -> None:
        """Forget the training workspaces, and their bindings, once :data:`MAX_BATCH_SIZES` are kept."""
        if len(self.workspaces) >= MAX_BATCH_SIZES:
            self.workspaces.clear()
            self.bound.clear()

    def bind(self, ws: dict) -> tuple:
        """The flat buffer, scratch and layout of the workspace ``ws``, and the ``cache`` and ``grads`` on it."""
        key = id(ws)
        if key not in self.bound:
            dense, m = self.net.layers, ws[self.net.layers[0].Z_key].shape[0]
            keys = [(layer.Z_key, layer.output_key, layer.dZ_key, dense[l + 1].dA_prev_key if l + 1 < len(dense)
                     else None) for l, layer in enumerate(dense)]
            sizes = [m * layer.units for layer in dense]
            buffer = np.empty(sum(sizes) * 4, dtype=self.net.dtype)
            layout, offset = self._layout(), 0
            for l, (layer_keys, size) in enumerate(zip(keys, sizes)):
                for column, name in zip((Z, A, DZ, DA), layer_keys):
                    layout[l, column] = offset
                    if name is not None:
                        ws[name] = buffer[offset: offset + size].reshape(m, dense[l].units)
                    offset += size
            S = max((ws[layer.S_key] for layer in dense), key=np.size).reshape(-1)  # one buffer: the largest
            cache = {"A0": None}
            for layer in dense:
                cache[layer.Z_key], cache[layer.output_key] = ws[layer.Z_key], ws[layer.output_key]
            grads = {}
            for l in range(len(dense) - 1, -1, -1):
                if l < len(dense) - 1:
                    grads["d" + dense[l].output_key] = ws[keys[l][3]]
                grads[dense[l].dZ_key] = ws[dense[l].dZ_key]
            self.bound[key] = ((buffer, S, layout), cache, grads, ws)
        arrays, cache, grads, _ = self.bound[key]
        return arrays, cache, grads

    def gradient(self, X: np.ndarray, Y: np.ndarray, ws: dict) -> tuple[float, dict, dict]:
        """``(J, cache, grads)`` of the batch ``X``, ``Y`` as the readable path gives them; ``dtheta`` written."""
        (buffer, S, layout), cache, grads = self.bind(ws)
        cache["A0"] = X
        net = self.net
        J = dense_stack_pass(X, Y, net.theta, net.dtheta, buffer, S, layout, self.output_code,
                             self.one.dtype.type(1 / X.shape[0]), self.tiny, True)
        return J, cache, grads
