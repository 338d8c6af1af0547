"""Finite differences against backpropagation for every activation and every loss pairing."""

import numpy as np
import pytest
from conftest import random_targets, small_net

import layerwise as lw
from layerwise.ops.activations import ACTIVATIONS

HIDDEN = sorted(set(ACTIVATIONS) - {"softmax"})
OUTPUTS = {
    "cross_entropy": ["softmax", "sigmoid"],
    "binary_cross_entropy": ["sigmoid", "softmax"],
    "mse": ["identity", "tanh", "sigmoid", "softmax", "softplus"],
    "mae": ["identity", "tanh"],
    "huber": ["identity", "elu"],
    "poisson": ["exp", "softplus"],
}


@pytest.mark.parametrize("hidden", HIDDEN + ["softmax"])
def test_every_hidden_activation(hidden, rng):
    net = small_net([6, 5], 3, hidden_act=hidden, out_act="identity", loss="mse", seed=3)
    X = rng.standard_normal((8, 5))
    report = lw.gradcheck(net, X, rng.standard_normal((8, 3)))
    assert report.ok, str(report)


@pytest.mark.parametrize("loss,output", [(loss, out) for loss, outs in OUTPUTS.items() for out in outs])
def test_every_loss_with_its_output_activations(loss, output, rng):
    net = small_net([6], 4, hidden_act="tanh", out_act=output, loss=loss, seed=5)
    X = rng.standard_normal((9, 5))
    report = lw.gradcheck(net, X, random_targets(rng, loss, 9, 4))
    assert report.ok, str(report)
    assert net.shortcut == ((output, loss) in lw.ops.losses.SHORTCUTS)


def test_a_wrong_gradient_is_caught(rng, monkeypatch):
    net = small_net([4], 2, loss="mse")
    monkeypatch.setattr(lw.ops.activations.Tanh, "derivative", lambda self, Z, A: 1.1 * (1 - A**2))
    report = lw.gradcheck(net, rng.standard_normal((5, 5)), rng.standard_normal((5, 2)))
    assert not report.ok and report.errors["W1"] > 1e-3 and report.errors["W2"] < 1e-6


def test_sampling_limits_the_entries_checked(rng):
    net = small_net([40], 3, n_in=30, loss="mse")
    report = lw.gradcheck(net, rng.standard_normal((4, 30)), rng.standard_normal((4, 3)), max_entries=10)
    assert report.checked["W1"] + report.kinks["W1"] == 10 and report.checked["b2"] == 3


def test_inputs_on_a_relu_kink_are_reported_not_failed():
    net = small_net([3], 1, hidden_act="relu", n_in=2, loss="mse")
    net.params["W1"][...] = [[1.0, -1.0], [0.5, 0.5], [-1.0, 2.0]]
    X = np.array([[1.0, 1.0]])  # unit 1 has Z = 0 exactly
    report = lw.gradcheck(net, X, np.array([[0.3]]))
    assert report.ok
    assert report.kinks["W1"] > 0
    assert "kink" in str(report)


def test_gradcheck_leaves_the_network_untouched(rng):
    net = small_net([4], 2, loss="mse", dtype="float32")
    before = net.theta.copy()
    lw.gradcheck(net, rng.standard_normal((3, 5)), rng.standard_normal((3, 2)))
    np.testing.assert_array_equal(net.theta, before)
    assert net.theta.dtype == np.float32


def readme_network():
    return lw.Network([lw.Dense(64, activation="relu"), lw.Dense(10, activation="softmax")],
                      loss="cross_entropy", input_dim=64, seed=0, dtype="float32")


@pytest.mark.parametrize("scale", [1 / 16, 1.0])  # digits scaled to 0..1, and raw (0..16) as in the README
def test_the_readme_example_passes_on_scaled_and_unscaled_digits(scale):
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    report = lw.gradcheck(readme_network(), X * scale, y)
    assert report.ok, str(report)


@pytest.mark.parametrize("scale", [1 / 16, 1.0])
def test_a_gradient_wrong_by_one_part_in_ten_thousand_is_caught_on_digits(scale, monkeypatch):
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    backward = lw.Network.backward

    def slightly_wrong(self, *args, **kwargs):
        grads = backward(self, *args, **kwargs)
        grads["dW2"] *= 1 + 1e-4
        return grads

    monkeypatch.setattr(lw.Network, "backward", slightly_wrong)
    report = lw.gradcheck(readme_network(), X * scale, y)
    assert not report.ok and report.errors["W2"] > 1e-5 and report.errors["W1"] < 1e-6
