"""The benchmark workloads and one adapter per framework.

A training workload is a fully connected ReLU network with a softmax
cross-entropy output, trained with Adam (lr 1e-3, betas (0.9, 0.999),
eps 1e-8, no weight decay) in mini-batches drawn in a fresh random order every
epoch. Each adapter trains the same architecture on the same arrays with the
same batch size and dtype; what it does per epoch is what ``layerwise``'s
``fit`` does: every batch forward and backward, one optimizer step, and the
epoch's mean loss and training accuracy.

* layerwise: ``net.fit(X, y, epochs=1, optimizer=adam)`` with one persistent
  ``Adam`` object, so that its moments carry over from epoch to epoch.
* PyTorch: the usual loop, ``randperm`` then per batch ``X[idx]``, forward,
  ``cross_entropy``, ``backward``, ``Adam.step``, and ``loss.item()`` and the
  count of correct predictions accumulated.
* scikit-learn: ``MLPClassifier(solver="adam", alpha=0).partial_fit``, one
  pass over the data per call (it tracks the loss, not the accuracy).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np

N_CLASSES = 10
LR = 1e-3


@dataclass(frozen=True)
class Workload:
    """A network, a data set and a batch size, trained in every framework.

    Parameters
    ----------
    key : str
        Short name used on the command line (``w1``, ``w2``, ...).
    title : str
        One line for the results table.
    hidden : tuple of int
        Widths of the hidden ReLU layers.
    batch_size : int
    dtype : {"float32", "float64"}
    data : {"mnist-like", "digits"}
        ``mnist-like`` draws ``n_examples`` rows of 784 centred uniform "pixels"
        in [-0.5, 0.5) from a fixed seed (no download), labelled 0-9 by a random
        linear teacher. Centred inputs and learnable labels keep the ReLU units
        alive: with all-positive inputs and random labels about three quarters
        of the gradient entries were exactly zero after an epoch, and Adam's
        first moments decayed into subnormal numbers, whose arithmetic is slow,
        which made every framework's timings depend on how fast its units died.
        ``digits`` is scikit-learn's bundled 1,797 x 64 set scaled to [0, 1].
    n_examples : int
        Rows of ``mnist-like`` data (ignored for ``digits``).
    targets : dict
        Required speed-up over each peer, ``{"PyTorch": 1.25, ...}`` (peer time / layerwise time).
    floor_target : float, optional
        Most layerwise may take relative to the epoch's matrix products alone.
    convs : tuple, optional
        For a convolutional network: its convolution and pooling layers before the
        Dense ones, as ``("conv", filters, kernel, padding)`` and ``("pool", size)``
        (ReLU after every convolution, max pooling); the examples are then
        ``image`` shaped and ``hidden`` are the Dense layers after the flattening.
    image : tuple, optional
        ``(C, H, W)`` of one example of a convolutional workload.
    """

    key: str
    title: str
    hidden: tuple[int, ...]
    batch_size: int
    dtype: str = "float32"
    data: str = "mnist-like"
    n_examples: int = 60_000
    targets: dict = field(default_factory=dict)
    floor_target: float | None = None
    convs: tuple = ()
    image: tuple | None = None

    def load(self) -> tuple[np.ndarray, np.ndarray]:
        """The inputs ``X`` (in the workload's dtype) and integer labels ``y``."""
        if self.data == "digits":
            from sklearn.datasets import load_digits

            X, y = load_digits(return_X_y=True)
            X = (X / 16.0).astype(self.dtype)
            return (X.reshape((-1, *self.image)) if self.image else X), y.astype(np.int64)
        rng = np.random.default_rng(0)
        teacher = rng.standard_normal((784, N_CLASSES)).astype(np.float32)
        X = np.empty((self.n_examples, 784), dtype=self.dtype)
        y = np.empty(self.n_examples, dtype=np.int64)
        for start in range(0, self.n_examples, 4096):  # the same float32 draws in either dtype, without a copy
            rows = rng.random((X[start: start + 4096].shape[0], 784), dtype=np.float32) - np.float32(0.5)
            X[start: start + 4096] = rows
            y[start: start + 4096] = (rows @ teacher).argmax(axis=1)
        return (X.reshape((-1, *self.image)) if self.image else X), y

    def widths(self, n_features: int) -> list[int]:
        """Dense layer widths ``[n_0, n_1, ..., n_L]`` (``n_0``: the flattened features of a CNN)."""
        return [self.flat_features() if self.convs else n_features, *self.hidden, N_CLASSES]

    def conv_shapes(self) -> list[tuple]:
        """Per convolution: ``(C_in, H_in, W_in, filters, kernel, padding, OH, OW)``; per pooling ``(size,)``."""
        if not self.convs:
            return []
        shapes, (C, H, W) = [], self.image
        for spec in self.convs:
            if spec[0] == "conv":
                _, F, k, pad = spec
                OH, OW = H + 2 * pad - k + 1, W + 2 * pad - k + 1
                shapes.append((C, H, W, F, k, pad, OH, OW))
                C, H, W = F, OH, OW
            else:
                shapes.append((spec[1],))
                H, W = H // spec[1], W // spec[1]
        return shapes

    def flat_features(self) -> int:
        C, (H, W) = self.image[0], self.image[1:]
        for spec in self.conv_shapes():
            if len(spec) > 1:
                C, H, W = spec[3], spec[6], spec[7]
            else:
                H, W = H // spec[0], W // spec[0]
        return C * H * W

    @property
    def frameworks(self) -> tuple[str, ...]:
        """The frameworks that train this network (the convolutional ones: layerwise and PyTorch)."""
        return ("layerwise", "PyTorch") if self.convs else tuple(RUNNERS)

    def flops_per_epoch(self, m: int, n_features: int) -> float:
        """Multiply-add work of one epoch's matrix products, counted as ``2 * m * n_in * n_out`` each.

        Per layer: one forward product and the backward ``dW``; ``dA_prev`` for
        every layer but the first (no gradient is taken for the input).
        """
        widths = self.widths(n_features)
        per_example = 0
        for l, (n_in, n_out) in enumerate(zip(widths[:-1], widths[1:])):
            per_example += 2 * n_in * n_out * (3 if l > 0 or self.convs else 2)
        for index, spec in enumerate(s for s in self.conv_shapes() if len(s) > 1):
            C, _, _, F, k, _, OH, OW = spec
            per_example += 2 * F * C * k * k * OH * OW * (3 if index > 0 else 2)  # Z, dW and (but first) dcols
        return float(per_example) * m


WORKLOADS = {
    w.key: w
    for w in (
        Workload("w1", "W1 large: 784-512-256-10, batch 128, 60,000 x 784, float32", (512, 256), 128,
                 targets={"PyTorch": 1.5, "JAX": 1.0, "scikit-learn": 2.0}, floor_target=1.15),
        Workload("w2", "W2 small: digits 64-64-10, batch 32, 1,797 x 64, float32", (64,), 32, data="digits",
                 targets={"PyTorch": 8.0, "JAX": 2.0, "scikit-learn": 3.0}),
        Workload("w4", "W4 deep and narrow: 784-(256 x 10)-10, batch 64, 20,000 x 784, float32", (256,) * 10, 64,
                 n_examples=20_000, targets={"PyTorch": 1.0, "JAX": 1.0}),
        Workload("w5", "W5 wide: 784-1024-1024-10, batch 256, 20,000 x 784, float32", (1024, 1024), 256,
                 n_examples=20_000, targets={"PyTorch": 1.5, "JAX": 1.0}, floor_target=1.15),
        Workload("w6", "W6 wider: 784-2048-2048-10, batch 512, 10,000 x 784, float32", (2048, 2048), 512,
                 n_examples=10_000, targets={"PyTorch": 1.5, "JAX": 1.0}, floor_target=1.15),
        Workload("w1-f64", "W1 in float64: 784-512-256-10, batch 128, 60,000 x 784", (512, 256), 128,
                 dtype="float64", targets={"scikit-learn": 1.8, "JAX": 1.0}),
        Workload("c1", "C1 LeNet-5: conv 6x5x5 pad 2, maxpool 2, conv 16x5x5, maxpool 2, 120-84-10, batch 64, "
                 "60,000 x 1x28x28, float32", (120, 84), 64, convs=(("conv", 6, 5, 2), ("pool", 2),
                                                                    ("conv", 16, 5, 0), ("pool", 2)),
                 image=(1, 28, 28), targets={"PyTorch": 1.0}),
        Workload("c2", "C2 small CNN on digits: conv 32x3x3 same, maxpool 2, 10, batch 32, 1,797 x 1x8x8, float32",
                 (), 32, data="digits", convs=(("conv", 32, 3, 1), ("pool", 2)), image=(1, 8, 8),
                 targets={"PyTorch": 3.0}),
    )
}
"""Training workloads by key."""

INFERENCE_BATCHES = (1, 1024)
"""Rows per ``predict`` call in the inference workload (W3), on W1's network."""


# ---------------------------------------------------------------- adapters
class LayerwiseRunner:
    """layerwise: ``Network.fit`` for one epoch with a persistent Adam."""

    name = "layerwise"

    def __init__(self, workload: Workload, X: np.ndarray, y: np.ndarray):
        import layerwise as lw

        self.workload, self.X, self.y = workload, X, y
        layers = []
        for spec in workload.convs:
            layers.append(lw.Conv2D(spec[1], spec[2], padding=spec[3]) if spec[0] == "conv" else lw.MaxPool2D(spec[1]))
        layers += [lw.Flatten()] if workload.convs else []
        layers += [lw.Dense(units, activation="relu") for units in workload.hidden]
        layers.append(lw.Dense(N_CLASSES, activation="softmax"))
        size = {"input_shape": workload.image} if workload.convs else {"input_dim": X.shape[1]}
        self.net = lw.Network(layers, seed=0, dtype=workload.dtype, **size)
        self.optimizer = lw.Adam(lr=LR)

    def epoch(self, rows: slice = slice(None)) -> None:
        self.net.fit(self.X[rows], self.y[rows], epochs=1, batch_size=self.workload.batch_size,
                     optimizer=self.optimizer, verbose=0)

    def predict(self, X: np.ndarray) -> np.ndarray:
        return self.net.predict(X)


class NumPyStepsRunner(LayerwiseRunner):
    """layerwise with the NumPy form of the optimizer step, as without the ``fast`` extra (numba)."""

    name = "layerwise, NumPy optimizer step"

    def epoch(self, rows: slice = slice(None)) -> None:
        from layerwise.optim import kernels as fused

        enabled, fused.ENABLED = fused.ENABLED, False
        try:
            super().epoch(rows)
        finally:
            fused.ENABLED = enabled


class TorchRunner:
    """PyTorch: the standard training loop over ``randperm`` batches."""

    name = "PyTorch"

    def __init__(self, workload: Workload, X: np.ndarray, y: np.ndarray):
        import torch

        self.torch, self.workload = torch, workload
        torch.manual_seed(0)
        widths = workload.widths(X.shape[1])
        modules = []
        for spec in workload.conv_shapes():
            if len(spec) > 1:
                C, _, _, F, k, pad, _, _ = spec
                modules += [torch.nn.Conv2d(C, F, k, padding=pad), torch.nn.ReLU()]
            else:
                modules.append(torch.nn.MaxPool2d(spec[0]))
        modules += [torch.nn.Flatten()] if workload.convs else []
        for n_in, n_out in zip(widths[:-2], widths[1:-1]):
            modules += [torch.nn.Linear(n_in, n_out), torch.nn.ReLU()]
        modules.append(torch.nn.Linear(widths[-2], widths[-1]))
        dtype = getattr(torch, workload.dtype)
        self.model = torch.nn.Sequential(*modules).to(dtype)
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=LR)
        self.X, self.y = torch.from_numpy(X), torch.from_numpy(y.astype(np.int64))

    def epoch(self, rows: slice = slice(None)) -> tuple[float, float]:
        torch, model, optimizer = self.torch, self.model, self.optimizer
        X, y = self.X[rows], self.y[rows]
        m, batch_size = X.shape[0], self.workload.batch_size
        order = torch.randperm(m)
        total, correct = 0.0, 0
        model.train()
        for start in range(0, m, batch_size):
            index = order[start: start + batch_size]
            xb, yb = X[index], y[index]
            optimizer.zero_grad(set_to_none=True)
            out = model(xb)
            loss = torch.nn.functional.cross_entropy(out, yb)
            loss.backward()
            optimizer.step()
            total += loss.item() * xb.shape[0]
            correct += int((out.argmax(dim=1) == yb).sum())
        return total / m, correct / m

    def predict(self, X: np.ndarray) -> np.ndarray:
        torch = self.torch
        with torch.inference_mode():
            return self.model(torch.from_numpy(X)).argmax(dim=1).numpy()


class JaxRunner:
    """JAX: a jit-compiled training step with optax's Adam, the data on the device, batches gathered inside the step.

    This is the fastest ordinary JAX loop: one compiled call per batch that
    gathers its rows from the device-resident data set, runs forward and
    backward, applies Adam and counts the loss and the correct predictions,
    with the parameters and optimizer state donated back to it. The epoch's
    sums stay on the device until the epoch ends, so nothing waits for a batch.
    """

    name = "JAX"

    def __init__(self, workload: Workload, X: np.ndarray, y: np.ndarray):
        import jax
        import jax.numpy as jnp
        import optax

        if workload.dtype == "float64":
            jax.config.update("jax_enable_x64", True)
        self.jax, self.workload = jax, workload
        dtype = jnp.dtype(workload.dtype)
        widths = workload.widths(X.shape[1])
        keys = jax.random.split(jax.random.PRNGKey(0), len(widths) - 1)
        self.params = [
            (jax.random.uniform(k, (n_out, n_in), dtype, -1.0, 1.0) * dtype.type(np.sqrt(1.0 / n_in)),
             jnp.zeros(n_out, dtype))
            for k, n_in, n_out in zip(keys, widths[:-1], widths[1:])
        ]
        optimizer = optax.adam(LR, b1=0.9, b2=0.999, eps=1e-8)
        self.opt_state = optimizer.init(self.params)
        self.X, self.y = jnp.asarray(X), jnp.asarray(y.astype(np.int32))
        self.rng = np.random.default_rng(0)

        def logits(params, xb):
            a = xb
            for W, b in params[:-1]:
                a = jax.nn.relu(a @ W.T + b)
            W, b = params[-1]
            return a @ W.T + b

        def loss(params, xb, yb):
            out = logits(params, xb)
            return optax.softmax_cross_entropy_with_integer_labels(out, yb).mean(), out

        def step(params, opt_state, X, y, index, total, correct):
            xb, yb = X[index], y[index]
            (value, out), grads = jax.value_and_grad(loss, has_aux=True)(params, xb, yb)
            updates, opt_state = optimizer.update(grads, opt_state, params)
            params = optax.apply_updates(params, updates)
            total = total + value * index.shape[0]
            correct = correct + (out.argmax(axis=1) == yb).sum()
            return params, opt_state, total, correct

        self.step = jax.jit(step, donate_argnums=(0, 1, 5, 6))
        self.forward = jax.jit(lambda params, xb: logits(params, xb).argmax(axis=1))

    def epoch(self, rows: slice = slice(None)) -> tuple[float, float]:
        jnp = self.jax.numpy
        m = len(range(*rows.indices(self.X.shape[0])))
        start_row, batch_size = rows.indices(self.X.shape[0])[0], self.workload.batch_size
        order = (self.rng.permutation(m) + start_row).astype(np.int32)
        total, correct = jnp.zeros((), self.X.dtype), jnp.zeros((), jnp.int32)
        for start in range(0, m, batch_size):
            self.params, self.opt_state, total, correct = self.step(
                self.params, self.opt_state, self.X, self.y, order[start: start + batch_size], total, correct)
        return float(total) / m, int(correct) / m

    def predict(self, X: np.ndarray) -> np.ndarray:
        return np.asarray(self.forward(self.params, X))


class SklearnRunner:
    """scikit-learn: ``MLPClassifier.partial_fit``, one epoch per call."""

    name = "scikit-learn"

    def __init__(self, workload: Workload, X: np.ndarray, y: np.ndarray):
        from sklearn.neural_network import MLPClassifier

        self.X, self.y, self.classes = X, y, np.arange(N_CLASSES)
        self.model = MLPClassifier(hidden_layer_sizes=workload.hidden, activation="relu", solver="adam", alpha=0.0,
                                   batch_size=workload.batch_size, learning_rate_init=LR, shuffle=True,
                                   random_state=0)

    def epoch(self, rows: slice = slice(None)) -> None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            self.model.partial_fit(self.X[rows], self.y[rows], classes=self.classes)

    def predict(self, X: np.ndarray) -> np.ndarray:
        return self.model.predict(X)


RUNNERS = {runner.name: runner for runner in (LayerwiseRunner, TorchRunner, JaxRunner, SklearnRunner)}
"""Framework adapters by display name; layerwise first."""


# ------------------------------------------------------------------ floors
def conv_matmul_operands(workload: Workload, m: int, rng: np.random.Generator) -> list:
    """Operands of one batch's convolution products, laid out as layerwise's (columns ``(K, m P)``)."""
    dtype, ops = np.dtype(workload.dtype), []
    for index, spec in enumerate(s for s in workload.conv_shapes() if len(s) > 1):
        C, _, _, F, k, _, OH, OW = spec
        K, columns = C * k * k, m * OH * OW
        W, cols = rng.standard_normal((F, K)).astype(dtype), rng.random((K, columns)).astype(dtype)
        dZ = rng.standard_normal((F, columns)).astype(dtype)
        ops.append((W, cols, np.empty((F, columns), dtype), dZ, np.empty((F, K), dtype),
                    np.empty_like(cols) if index > 0 else None))
    return ops


def run_conv_matmuls(ops: list) -> None:
    """``Z = W cols``, ``dZ cols^T`` and (but the first) ``W^T dZ`` for every convolution."""
    for W, cols, Z, _, _, _ in ops:
        np.matmul(W, cols, out=Z)
    for W, cols, _, dZ, dW, dcols in reversed(ops):
        np.matmul(dZ, cols.T, out=dW)
        if dcols is not None:
            np.matmul(W.T, dZ, out=dcols)


def matmul_operands(workload: Workload, n_features: int, m: int, rng: np.random.Generator) -> list:
    """Random operands and preallocated outputs for one batch's products, laid out as layerwise's."""
    dtype = np.dtype(workload.dtype)
    widths = workload.widths(n_features)
    ops = []
    for l, (n_in, n_out) in enumerate(zip(widths[:-1], widths[1:])):
        W = rng.standard_normal((n_out, n_in)).astype(dtype) * dtype.type(1 / np.sqrt(n_in))
        A_prev = rng.random((m, n_in)).astype(dtype)
        Z, dZ, dW = np.empty((m, n_out), dtype), rng.standard_normal((m, n_out)).astype(dtype), np.empty_like(W)
        dA_prev = np.empty((m, n_in), dtype) if l > 0 or workload.convs else None
        ops.append((A_prev, W, Z, dZ, dW, dA_prev))
    return ops


def run_matmuls(ops: list) -> None:
    """One batch's products: ``Z = A_prev W^T`` per layer, then ``dW = dZ^T A_prev`` and ``dA_prev = dZ W``."""
    for A_prev, W, Z, _, _, _ in ops:
        np.matmul(A_prev, W.T, out=Z)
    for A_prev, W, _, dZ, dW, dA_prev in reversed(ops):
        np.matmul(dZ.T, A_prev, out=dW)
        if dA_prev is not None:
            np.matmul(dZ, W, out=dA_prev)


class FloorRunner:
    """The epoch's matrix products alone, same shapes and layout, into preallocated outputs."""

    name = "matrix products alone"

    def __init__(self, workload: Workload, X: np.ndarray, y: np.ndarray):
        rng = np.random.default_rng(1)
        m, batch_size, n = X.shape[0], workload.batch_size, int(np.prod(X.shape[1:]))
        self.full = (matmul_operands(workload, n, batch_size, rng), conv_matmul_operands(workload, batch_size, rng))
        self.n_full, last = divmod(m, batch_size)
        self.last = (matmul_operands(workload, n, last, rng), conv_matmul_operands(workload, last, rng)) if last \
            else None

    def epoch(self, rows: slice = slice(None)) -> None:
        n_full = self.n_full if rows == slice(None) else max(1, self.n_full // 10)
        for _ in range(n_full):
            run_conv_matmuls(self.full[1])
            run_matmuls(self.full[0])
        if self.last is not None:
            run_conv_matmuls(self.last[1])
            run_matmuls(self.last[0])


class FloorWithStepRunner(FloorRunner):
    """The epoch's matrix products and, per batch, layerwise's Adam step on as many parameters (the fused
    kernel, memory-bound): what no implementation of this training with that step can go below."""

    name = "matrix products + Adam step"

    def __init__(self, workload: Workload, X: np.ndarray, y: np.ndarray):
        import layerwise as lw

        super().__init__(workload, X, y)
        widths = workload.widths(int(np.prod(X.shape[1:])))
        n_params = sum((n_in + 1) * n_out for n_in, n_out in zip(widths[:-1], widths[1:]))
        rng = np.random.default_rng(4)
        self.params = {"theta": rng.standard_normal(n_params).astype(workload.dtype)}
        self.grads = {"dtheta": (rng.standard_normal(n_params) * 1e-3).astype(workload.dtype)}
        self.optimizer = lw.Adam(lr=LR)

    def epoch(self, rows: slice = slice(None)) -> None:
        n_full = self.n_full if rows == slice(None) else max(1, self.n_full // 10)
        for _ in range(n_full):
            run_conv_matmuls(self.full[1])
            run_matmuls(self.full[0])
            self.optimizer.step(self.params, self.grads)
        if self.last is not None:
            run_conv_matmuls(self.last[1])
            run_matmuls(self.last[0])
            self.optimizer.step(self.params, self.grads)


def matmul_peak_gflops(dtype: str, n: int = 2048, repeats: int = 5) -> float:
    """Best GFLOP/s of an ``n x n`` NumPy matrix product in ``dtype`` (the machine's practical peak)."""
    import time

    rng = np.random.default_rng(2)
    a, b = rng.random((n, n)).astype(dtype), rng.random((n, n)).astype(dtype)
    out = np.empty((n, n), dtype)
    np.matmul(a, b, out=out)
    best = float("inf")
    for _ in range(repeats):
        began = time.perf_counter()
        np.matmul(a, b, out=out)
        best = min(best, time.perf_counter() - began)
    return 2 * n**3 / best / 1e9
