"""PyTorch autograd as an oracle over a seeded sweep of random architectures."""

import numpy as np
import pytest
import torch
from conftest import random_targets
from test_activations import TORCH
from test_losses import torch_loss

import layerwise as lw
from layerwise.ops.activations import ACTIVATIONS

OUTPUTS = {
    "cross_entropy": ["softmax"],
    "binary_cross_entropy": ["sigmoid"],
    "mse": ["identity", "tanh", "softmax", "sigmoid"],
    "mae": ["identity", "softplus"],
    "huber": ["identity", "silu"],
    "poisson": ["exp", "softplus"],
}
CASES = [(loss, out) for loss, outs in OUTPUTS.items() for out in outs]


def torch_gradients(net, X, Y):
    params = {k: torch.tensor(v.astype(np.float64), requires_grad=True) for k, v in net.params.items()}
    a = torch.tensor(X.astype(np.float64))
    for l, layer in enumerate(net.dense, start=1):
        a = TORCH[layer.activation.name](a @ params[f"W{l}"].T + params[f"b{l}"])
    J = torch_loss(net.loss_fn.name, a, torch.tensor(Y))
    J.backward()
    return J.item(), {k: v.grad.numpy() for k, v in params.items()}


@pytest.mark.parametrize("case", range(40))
@pytest.mark.parametrize("dtype,rtol", [("float64", 1e-10), ("float32", 1e-4)])
def test_random_architectures_match_autograd(case, dtype, rtol):
    rng = np.random.default_rng(case)
    depth = int(rng.integers(1, 6))
    widths = [int(w) for w in rng.integers(1, 65, size=depth)]
    m = int(rng.integers(1, 65))
    loss, output = CASES[case % len(CASES)]
    hidden = sorted(set(ACTIVATIONS) - {"softmax"})
    layers = [lw.Dense(w, activation=hidden[int(rng.integers(len(hidden)))]) for w in widths[:-1]]
    layers.append(lw.Dense(widths[-1], activation=output))
    net = lw.Network(layers, loss=loss, input_dim=int(rng.integers(1, 65)), seed=case, dtype=dtype)
    X = rng.standard_normal((m, net.input_dim))
    Y = random_targets(rng, loss, m, widths[-1])
    Y_dense = np.eye(widths[-1])[Y] if loss == "cross_entropy" else Y
    AL, cache = net.forward(X)
    grads = net.backward(cache, Y)
    J, expected = torch_gradients(net, X.astype(dtype), Y_dense)
    assert net.loss(AL, Y) == pytest.approx(J, rel=rtol, abs=1e-6 if dtype == "float32" else 1e-12)
    for name, grad in expected.items():
        scale = np.abs(grad).max() + 1e-30
        np.testing.assert_allclose(grads["d" + name], grad, rtol=rtol, atol=rtol * scale, err_msg=name)
