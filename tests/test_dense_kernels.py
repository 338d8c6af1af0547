"""The compiled ReLU kernels of a Dense layer give the NumPy form's results bit for bit.

Each comparison runs the same network twice, with the kernels and with the
NumPy form (``dense_kernels.ENABLED`` off), on data that holds the awkward
values too: exact zeros in ``Z``, NaN and infinities in ``dA``.
"""

import numpy as np
import pytest

import layerwise as lw
from layerwise.layers import dense_kernels
from layerwise.ops.activations import ReLU
from layerwise.train.loop import make_workspace

pytest.importorskip("numba")


def network(dtype):
    layers = [lw.Dense(9), lw.Dense(7), lw.Dense(3, activation="softmax")]
    return lw.Network(layers, input_dim=5, seed=2, dtype=dtype)


def both(monkeypatch, run):
    """``run()`` with the kernels, then with the NumPy form."""
    fast = run()
    monkeypatch.setattr(dense_kernels, "ENABLED", False)
    return fast, run()


@pytest.mark.parametrize("workspace", [True, False])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_forward_and_backward_equal_the_numpy_form(dtype, workspace, monkeypatch, rng):
    net = network(dtype)
    X, Y = net.check_X(rng.standard_normal((11, 5))), net.check_Y(rng.integers(0, 3, 11), 11)
    X[0] = 0.0  # Z = b exactly on the first row: ReLU's kink

    def run():
        net.dtheta[...] = np.nan
        ws = make_workspace(net, 11) if workspace else None
        cache = net._forward(X, True, ws)
        grads = net._backward(cache, Y, None, ws)
        return {"dtheta": net.dtheta.copy(), **{k: v.copy() for k, v in {**cache, **grads}.items()}}

    fast, numpy_form = both(monkeypatch, run)
    assert fast.keys() == numpy_form.keys()
    for key, value in numpy_form.items():
        assert fast[key].dtype == value.dtype, key
        np.testing.assert_array_equal(fast[key], value, err_msg=key)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_the_kernels_keep_nan_infinity_and_signed_zero_as_numpy_does(dtype, rng):
    b = rng.standard_normal(9).astype(dtype)
    Z = rng.standard_normal((6, 9)).astype(dtype)
    Z[0, :4] = [np.nan, np.inf, -np.inf, -0.0]
    Z[1, :3] = -b[:3]  # Z + b = 0 exactly
    dA = rng.standard_normal((6, 9)).astype(dtype)
    dA[2, :3], dA[0, 4] = [np.nan, np.inf, -np.inf], np.inf
    scale = Z.dtype.type(1 / 6)

    Z_fast = Z.copy()
    A_fast = dense_kernels.add_bias_relu(Z_fast, b, np.empty_like(Z))
    A_in_place = dense_kernels.add_bias_relu_in_place(Z.copy(), b)
    dZ_fast, S_fast, db_fast = np.empty_like(Z), np.empty_like(Z), np.empty_like(b)
    dense_kernels.relu_dZ_db(dA, Z_fast, dZ_fast, S_fast, db_fast, scale)

    Z_numpy = np.add(Z, b)  # the NumPy form, as Dense and ReLU write it
    A_numpy = ReLU().forward(Z_numpy)
    with np.errstate(invalid="ignore"):
        dZ_numpy = np.multiply(dA, np.greater(Z_numpy, 0).astype(Z.dtype))
        S_numpy = np.multiply(dZ_numpy, 1 / 6)
        db_numpy = np.add.reduce(S_numpy, axis=0)
    for got, expected in [(Z_fast, Z_numpy), (A_fast, A_numpy), (A_in_place, A_numpy), (dZ_fast, dZ_numpy),
                          (S_fast, S_numpy),
                          (db_fast, db_numpy)]:
        assert got.dtype == expected.dtype
        np.testing.assert_array_equal(got, expected)
        np.testing.assert_array_equal(np.signbit(got), np.signbit(expected))


def test_predict_equals_the_numpy_form(monkeypatch, rng):
    net = network("float32")
    X = rng.standard_normal((33, 5))
    fast, numpy_form = both(monkeypatch, lambda: net.predict_proba(X))
    np.testing.assert_array_equal(fast, numpy_form)
