import numpy as np
import pytest
import torch

from layerwise.errors import ConfigError
from layerwise.ops.losses import LOSSES, SHORTCUTS, get_loss


def torch_loss(name, a, y):
    """Each loss written from its definition in DESIGN.md, mean over examples of the sum over outputs."""
    m = a.shape[0]
    if name == "cross_entropy":
        return -(y * torch.log(a)).sum() / m
    if name == "binary_cross_entropy":
        return -(y * torch.log(a) + (1 - y) * torch.log(1 - a)).sum() / m
    if name == "mse":
        return ((a - y) ** 2).sum() / (2 * m)
    if name == "mae":
        return (a - y).abs().sum() / m
    if name == "poisson":  # the negative log-likelihood plus the constant that makes it the half deviance
        nll = torch.nn.functional.poisson_nll_loss(a, y, log_input=False, full=False, eps=0.0, reduction="sum")
        return (nll + (torch.xlogy(y, y) - y).sum()) / m
    return torch.nn.functional.huber_loss(a, y, reduction="sum", delta=1.0) / m


def targets_and_outputs(name, rng, m=6, K=4):
    if name == "cross_entropy":
        A = rng.random((m, K)) + 0.1
        return A / A.sum(axis=1, keepdims=True), np.eye(K)[rng.integers(0, K, m)]
    if name == "binary_cross_entropy":
        return rng.uniform(0.05, 0.95, (m, K)), rng.integers(0, 2, (m, K)).astype(float)
    if name == "poisson":
        return rng.uniform(0.1, 5.0, (m, K)), rng.poisson(2.0, (m, K)).astype(float)
    return rng.standard_normal((m, K)) * 2, rng.standard_normal((m, K))


@pytest.mark.parametrize("name", sorted(LOSSES))
def test_value_and_per_example_gradient_match_the_definition(name, rng):
    AL, Y = targets_and_outputs(name, rng)
    loss = get_loss(name)
    a = torch.tensor(AL, requires_grad=True)
    J = torch_loss(name, a, torch.tensor(Y))
    J.backward()
    assert loss.value(AL, Y) == pytest.approx(J.item(), rel=1e-12)
    np.testing.assert_allclose(loss.grad(AL, Y), a.grad.numpy() * AL.shape[0], rtol=1e-10)


def test_hand_worked_values():
    AL = np.array([[0.5, 0.25, 0.25]])
    assert get_loss("cross_entropy").value(AL, np.array([[0, 1, 0]])) == pytest.approx(np.log(4))
    assert get_loss("mse").value(np.array([[3.0], [1.0]]), np.array([[1.0], [1.0]])) == pytest.approx(1.0)
    assert get_loss("mae").value(np.array([[3.0, -1.0]]), np.array([[1.0, 1.0]])) == pytest.approx(4.0)
    assert get_loss("huber").value(np.array([[3.0, 0.5]]), np.array([[0.0, 0.0]])) == pytest.approx(2.5 + 0.125)


def test_weighted_mean():
    loss = get_loss("mse")
    AL, Y = np.array([[1.0], [3.0]]), np.zeros((2, 1))
    assert loss.value(AL, Y, np.array([3.0, 1.0])) == pytest.approx((3 * 0.5 + 1 * 4.5) / 4)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_cross_entropy_is_finite_when_a_probability_underflows(dtype):
    AL = np.array([[1.0, 0.0]], dtype=dtype)
    Y = np.array([[0.0, 1.0]], dtype=dtype)
    for name in ("cross_entropy", "binary_cross_entropy"):
        loss = get_loss(name)
        assert np.isfinite(loss.value(AL, Y))
        assert np.isfinite(loss.grad(AL, Y)).all()


def test_shortcut_pairs_are_the_three_of_the_seed_and_exp_with_poisson():
    assert SHORTCUTS == {("softmax", "cross_entropy"), ("sigmoid", "binary_cross_entropy"), ("identity", "mse"),
                     ("exp", "poisson")}


def test_poisson_is_half_the_deviance_by_hand():
    # y = 0 and y = 2 against predictions 1 and 4: (0 - 0 + 1) and (2 log(2/4) - 2 + 4), averaged
    loss = get_loss("poisson").value(np.array([[1.0], [4.0]]), np.array([[0.0], [2.0]]))
    assert loss == pytest.approx((1 + 2 * np.log(0.5) + 2) / 2)
    assert get_loss("poisson").value(np.array([[3.0, 0.5]]), np.array([[3.0, 0.5]])) == pytest.approx(0, abs=1e-15)


def test_unknown_loss_lists_the_valid_names():
    with pytest.raises(ConfigError, match="unknown loss 'xent'.*cross_entropy"):
        get_loss("xent")
