import warnings

import numpy as np
import pytest
import torch

from layerwise.errors import ConfigError
from layerwise.ops.activations import ACTIVATIONS, get_activation

TORCH = {
    "identity": lambda z: z,
    "relu": torch.relu,
    "leaky_relu": lambda z: torch.nn.functional.leaky_relu(z, 0.01),
    "elu": torch.nn.functional.elu,
    "selu": torch.selu,
    "gelu": torch.nn.functional.gelu,
    "silu": torch.nn.functional.silu,
    "softplus": lambda z: torch.nn.functional.softplus(z, threshold=1e9),
    "tanh": torch.tanh,
    "sigmoid": torch.sigmoid,
    "exp": torch.exp,
    "softmax": lambda z: torch.softmax(z, dim=1),
}


def test_every_registered_activation_has_a_torch_reference():
    assert set(ACTIVATIONS) == set(TORCH)


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_forward_and_vjp_match_torch_autograd(name, rng):
    Z = rng.standard_normal((7, 5)) * 3
    dA = rng.standard_normal((7, 5))
    act = get_activation(name)
    A = act.forward(Z)
    z = torch.tensor(Z, requires_grad=True)
    a = TORCH[name](z)
    a.backward(torch.tensor(dA))
    np.testing.assert_allclose(A, a.detach().numpy(), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(act.backward(dA, Z, A), z.grad.numpy(), rtol=1e-10, atol=1e-13)


def test_relu_derivative_at_zero_is_zero_as_in_the_seed():
    act = get_activation("relu")
    Z = np.array([[-1.0, 0.0, 2.0]])
    np.testing.assert_array_equal(act.backward(np.ones_like(Z), Z, act.forward(Z)), [[0.0, 0.0, 1.0]])


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_extreme_inputs_stay_finite_without_warnings_and_keep_dtype(name, dtype):
    Z = np.array([[-1e4, -50.0, 0.0, 50.0, 1e4]], dtype=dtype)
    act = get_activation(name)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        A = act.forward(Z.copy())
        dZ = act.backward(np.ones_like(Z), Z, A)
    assert np.isfinite(A).all() and np.isfinite(dZ).all()
    assert A.dtype == dtype and dZ.dtype == dtype


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_out_buffers_give_the_same_result(name, rng):
    act = get_activation(name)
    Z = rng.standard_normal((4, 3))
    dA = rng.standard_normal((4, 3))
    expected_A = act.forward(Z)
    expected_dZ = act.backward(dA, Z, expected_A)
    Z_buffer = Z.copy()
    np.testing.assert_allclose(act.forward(Z_buffer, out=np.empty_like(Z)), expected_A)
    np.testing.assert_allclose(act.backward(dA.copy(), Z, expected_A, out=np.empty_like(Z)), expected_dZ)


def test_unknown_activation_lists_the_valid_names():
    with pytest.raises(ConfigError, match="unknown activation 'relux'.*relu"):
        get_activation("relux")


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("shape", [(1, 10), (7, 3), (64, 10), (3, 1)])
def test_the_compiled_softmax_agrees_with_its_numpy_form(shape, dtype, rng, monkeypatch):
    pytest.importorskip("numba")
    from layerwise.ops import activation_kernels

    softmax = get_activation("softmax")
    Z = (rng.standard_normal(shape) * 30).astype(dtype)
    Z[0, 0] = 1e4  # large logits, as the finiteness test uses
    special = np.array([[np.nan, 0.0, 1.0], [np.inf, 0.0, 1.0], [-np.inf, 0.0, 1.0], [-np.inf] * 3], dtype=dtype)
    with np.errstate(invalid="ignore"):
        compiled = [softmax.forward(Z), softmax.forward(special), softmax.forward(Z.copy(), out=np.empty_like(Z))]
        in_place = Z.copy()
        compiled.append(softmax.forward(in_place, out=in_place))
        monkeypatch.setattr(activation_kernels, "ENABLED", False)
        numpy_form = [softmax.forward(Z), softmax.forward(special)]
    ulp = np.spacing(np.ones(1, dtype))[0]
    for got in (compiled[0], compiled[2], compiled[3]):
        assert got.dtype == Z.dtype
        np.testing.assert_allclose(got, numpy_form[0], rtol=8 * ulp, atol=0)
    np.testing.assert_allclose(compiled[1], numpy_form[1], rtol=8 * ulp, atol=0)  # NaN where NumPy has NaN
    assert np.isnan(compiled[1][[0, 1, 3]]).all() and compiled[1][2, 0] == 0
