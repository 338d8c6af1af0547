"""The equations printed by ``layerwise explain`` carry the shapes of the real arrays."""

import re

import numpy as np
import pytest
import torch

import layerwise as lw
from layerwise.inspect.explain import backward_equations, explain, forward_equations, gradient_norms, output_rule

TERM = re.compile(r"(\b(?:d?[WbZA]|D)\d+|\bX|\bY)(\^T)? (\((?:\d+, )*\d*,?\))")


def network(case):
    """Networks covering outputs with and without the shortcut, dropout (also on the input), L2 and a single layer."""
    cases = {
        "softmax_ce": ([lw.Dense(7, "relu"), lw.Dense(6, "tanh"), lw.Dense(3, "softmax")], None, 0.0),
        "sigmoid_bce": ([lw.Dense(5, "elu"), lw.Dense(2, "sigmoid")], None, 0.0),
        "identity_mse": ([lw.Dense(4, "tanh"), lw.Dense(2, "identity")], None, 0.1),
        "softmax_mse": ([lw.Dense(6, "relu"), lw.Dense(3, "softmax")], "mse", 0.0),
        "tanh_mae": ([lw.Dense(6, "sigmoid"), lw.Dense(2, "tanh")], "mae", 0.0),
        "dropout": ([lw.Dropout(0.2), lw.Dense(8, "relu"), lw.Dropout(0.5), lw.Dense(6, "silu"),
                     lw.Dense(3, "softmax")], None, 0.0),
        "single_layer": ([lw.Dense(3, "softmax")], None, 0.0),
        "batchnorm": ([lw.Dense(6, "identity"), lw.BatchNorm(activation="relu"), lw.Dropout(0.3), lw.Dense(4, "tanh"),
                       lw.BatchNorm(activation="softmax")], "mse", 0.1),
    }
    layers, loss, l2 = cases[case]
    return lw.Network(layers, loss=loss, input_dim=5, seed=0, dtype="float64", l2=l2)


def targets(net, m, rng):
    K = net.dense[-1].units
    if net.loss_fn.name == "cross_entropy":
        return rng.integers(0, K, size=m)
    if net.loss_fn.name == "binary_cross_entropy":
        return rng.integers(0, 2, size=(m, K)).astype(float)
    return rng.standard_normal((m, K))


def real_arrays(net, m):
    """Every named array of one training-mode forward and backward pass on a batch of m."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((m, net.input_dim))
    Y = targets(net, m, rng)
    AL, cache = net.forward(X, training=True)
    grads = net.backward(cache, Y)
    arrays = {**cache, **grads, **net.params, "X": X, "Y": net.check_Y(Y, m)}
    if f"dA{net.L}" not in arrays:
        arrays[f"dA{net.L}"] = net.loss_fn.grad(AL, arrays["Y"])
    return arrays


CASES = ["softmax_ce", "sigmoid_bce", "identity_mse", "softmax_mse", "tanh_mae", "dropout", "single_layer", "batchnorm"]


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("m", [1, 9])
def test_every_term_has_the_shape_of_the_real_array(case, m):
    if case == "batchnorm" and m == 1:
        pytest.skip("BatchNorm does not train on a batch of one example")
    net = network(case)
    arrays = real_arrays(net, m)
    equations = forward_equations(net, m) + backward_equations(net, m)
    checked = 0
    for equation in equations:
        for term in (equation.lhs, *equation.terms):
            assert term.shape == arrays[term.name].shape, (str(equation), term.name)
            checked += 1
    assert checked >= 6 * net.L


@pytest.mark.parametrize("case", CASES)
def test_printed_shapes_equal_the_real_shapes(case):
    m = 11
    net = network(case)
    arrays = real_arrays(net, m)
    text = explain(net, m)
    found = TERM.findall(text)
    assert len(found) > 5 * net.L
    for name, transposed, shape in found:
        expected = arrays[name].shape[::-1] if transposed else arrays[name].shape
        assert shape == str(expected), (name, transposed, shape)


def test_four_equations_per_layer_from_L_down_to_1():
    net = network("softmax_ce")
    text = explain(net, 32)
    backward = text[text.index("Backward pass"):]
    assert [int(n) for n in re.findall(r"layer (\d+):", backward)] == [3, 2, 1]
    assert "dW3 (3, 6) = (1/m) dZ3^T (3, 32) . A2 (32, 6)" in backward
    assert "db3 (3,) = (1/m) sum_i dZ3 (32, 3)" in backward
    assert "dA2 (32, 6) = dZ3 (32, 3) . W3 (3, 6)" in backward
    assert "dZ2 (32, 6) = dA2 (32, 6) * tanh'(Z2 (32, 6))" in backward
    assert "dZ3 (32, 3) = A3 (32, 3) - Y (32, 3)" in backward
    assert "Z1 (32, 7) = A0 (32, 5) . W1^T (5, 7) + b1 (7,)" in text
    assert "dA0" not in backward.replace("(dA0 is not computed", "")


@pytest.mark.parametrize("case, shortcut", [("softmax_ce", True), ("sigmoid_bce", True), ("identity_mse", True),
                                         ("softmax_mse", False), ("tanh_mae", False)])
def test_output_rule_names_the_shortcut_only_for_shortcut_pairs(case, shortcut):
    net = network(case)
    rule = output_rule(net)
    assert ("is a shortcut pair" in rule) == shortcut
    assert ("not a shortcut pair" in rule) == (not shortcut)
    first = backward_equations(net, 4)[0]
    if shortcut:
        assert first.template == "{0} - {1}" and first.lhs.name == f"dZ{net.L}"
    else:
        assert first.lhs.name == f"dA{net.L}" and net.loss_fn.name in first.template


def _torch_gradients(net, X, Y):
    """m dJ/dZ, m dJ/dA, dJ/dW, dJ/db by PyTorch autograd for a tanh/softmax/cross-entropy network."""
    params = {name: torch.tensor(value, requires_grad=True) for name, value in net.params.items()}
    A = torch.tensor(X)
    Zs, As = {}, {}
    for l in range(1, net.L + 1):
        Z = A @ params[f"W{l}"].T + params[f"b{l}"]
        Z.retain_grad()
        A = torch.tanh(Z) if l < net.L else torch.softmax(Z, dim=1)
        A.retain_grad()
        Zs[l], As[l] = Z, A
    Y1 = torch.nn.functional.one_hot(torch.tensor(Y), net.dense[-1].units).double()
    J = -(Y1 * torch.log(A)).sum(dim=1).mean()
    J.backward()
    m = X.shape[0]
    return J.item(), {l: {"dW": params[f"W{l}"].grad, "db": params[f"b{l}"].grad, "dZ": m * Zs[l].grad,
                          "dA": m * As[l].grad} for l in Zs}


def test_gradient_norms_match_pytorch_autograd():
    net = lw.Network([lw.Dense(6, "tanh"), lw.Dense(5, "tanh"), lw.Dense(3, "softmax")], input_dim=4, seed=3,
                     dtype="float64")
    rng = np.random.default_rng(7)
    X, Y = rng.standard_normal((10, 4)), rng.integers(0, 3, size=10)
    J, rows = gradient_norms(net, X, Y)
    J_torch, reference = _torch_gradients(net, X, Y)
    assert J == pytest.approx(J_torch, rel=1e-12)
    assert [row["layer"] for row in rows] == [3, 2, 1]
    for row in rows:
        for key in ("dW", "db", "dZ", "dA"):
            assert row[key] == pytest.approx(float(torch.linalg.norm(reference[row["layer"]][key])), rel=1e-9)


PRODUCT = re.compile(r"= (?:\(1/m\) )?\S+ (\(\d+, \d+\)) \. \S+ (\(\d+, \d+\))")


@pytest.mark.parametrize("case", CASES)
def test_every_matrix_product_is_dimensionally_consistent(case):
    """The seed's sanity check: (p, q) . (q, r) gives the (p, r) on the left-hand side."""
    net = network(case)
    equations = forward_equations(net, 6) + backward_equations(net, 6)
    products = 0
    for equation in equations:
        match = PRODUCT.search(str(equation))
        if match:
            (p, q), (q2, r) = (tuple(int(v) for v in group.strip("()").split(", ")) for group in match.groups())
            assert q == q2 and equation.lhs.shape == (p, r), str(equation)
            products += 1
    dense = [layer for layer in net.layers if isinstance(layer, lw.Dense)]
    assert products == 3 * len(dense) - 1  # Z, dW per Dense layer; dA_prev for all but the first
