import numpy as np
import pytest
from conftest import small_net

import layerwise as lw
from layerwise.inspect import reference


def digits_like(rng, m=16, n=64):
    return rng.random((m, n)), rng.integers(0, 10, size=m)


def test_public_api_names_and_shapes(rng):
    net = lw.Network([lw.Dense(64, activation="relu"), lw.Dense(10, activation="softmax")],
                     loss="cross_entropy", input_dim=64, seed=0, dtype="float32")
    X, y = digits_like(rng)
    AL, cache = net.forward(X)
    assert AL.shape == (16, 10) and set(cache) == {"A0", "Z1", "A1", "Z2", "A2"}
    grads = net.backward(cache, y)
    assert set(grads) == {"dW1", "db1", "dZ1", "dA1", "dW2", "db2", "dZ2"}
    assert {k: v.shape for k, v in net.params.items()} == {"W1": (64, 64), "b1": (64,), "W2": (10, 64), "b2": (10,)}
    for name, param in net.params.items():
        assert grads["d" + name].shape == param.shape
    np.testing.assert_allclose(AL.sum(axis=1), 1, rtol=1e-6)
    assert net.predict(X).shape == (16,)
    assert isinstance(net.loss(AL, y), float)


def test_params_are_live_views(rng):
    net = small_net([3], 2)
    net.params["W1"][0, 0] = 42.0
    assert net.dense[0].W[0, 0] == 42.0
    net.params["b2"][:] = 0.5
    X = rng.standard_normal((2, 5))
    AL, cache = net.forward(X)
    np.testing.assert_allclose(AL, cache["A1"] @ net.params["W2"].T + 0.5)


def test_builds_on_first_input(rng):
    net = lw.Network([lw.Dense(4), lw.Dense(1, activation="identity")], seed=0)
    assert not net.built
    net.forward(rng.standard_normal((3, 7)))
    assert net.params["W1"].shape == (4, 7)


def test_same_seed_same_parameters_and_different_seed_different():
    a = small_net([8, 8], 3, seed=7)
    b = small_net([8, 8], 3, seed=7)
    c = small_net([8, 8], 3, seed=8)
    np.testing.assert_array_equal(a.theta, b.theta)
    assert not np.array_equal(a.theta, c.theta)


def test_initialisation_scales():
    def first_weights(activation, init=None):
        net = lw.Network([lw.Dense(2000, activation, init=init), lw.Dense(400, "identity")], input_dim=500, seed=0,
                         dtype="float64")
        return net, net.params["W1"], net.params["W2"]

    relu, W1, W2 = first_weights("relu")  # hidden: Glorot uniform; output: readout, U(+-sqrt(3) / n_in)
    assert [layer.weight_init for layer in relu.dense] == ["glorot", "readout"] and relu.dense[0].init is None
    assert np.abs(W1).max() <= np.sqrt(6 / 2500)
    assert np.std(W1) == pytest.approx(np.sqrt(2 / 2500), rel=0.02)
    assert np.abs(W2).max() <= np.sqrt(3) / 2000
    assert np.std(W2) == pytest.approx(1 / 2000, rel=0.02)
    assert not relu.params["b1"].any() and not relu.params["b2"].any()
    selu = first_weights("selu")[1]
    assert np.std(selu) == pytest.approx(np.sqrt(1 / 500), rel=0.02)
    he = first_weights("relu", init="he")[1]
    assert np.std(he) == pytest.approx(np.sqrt(2 / 500), rel=0.02)
    output = lw.Network([lw.Dense(3, "softmax", init="glorot")], input_dim=500, seed=0, dtype="float64")
    assert output.dense[0].weight_init == "glorot"  # an explicit init wins in the output layer too


@pytest.mark.parametrize("input_dtype", [np.float64, np.float16, np.int64, np.uint8])
def test_float32_network_stays_float32_whatever_the_input(input_dtype, rng):
    net = small_net([6], 3, hidden_act="gelu", out_act="softmax", dtype="float32")
    X = (rng.random((4, 5)) * 10).astype(input_dtype)
    AL, cache = net.forward(X)
    grads = net.backward(cache, np.array([0, 1, 2, 0]))
    for array in [AL, *cache.values(), *grads.values(), *net.params.values()]:
        assert array.dtype == np.float32


def test_float64_on_request(rng):
    net = small_net([3], 2, dtype="float64")
    AL, _ = net.forward(rng.standard_normal((2, 5)).astype(np.float32))
    assert AL.dtype == np.float64 and net.theta.dtype == np.float64


def test_hand_worked_2_2_1_network():
    """Every number below was worked out by hand from the seed's equations.

    X = [1, 2], W1 = [[0.1, 0.2], [-0.3, 0.4]], b1 = [0.0, 0.1], W2 = [[0.5, -0.6]], b2 = [0.2],
    ReLU hidden, identity output, mse, target y = 1.

    Z1 = [0.1 + 0.4 + 0, -0.3 + 0.8 + 0.1] = [0.5, 0.6];  A1 = [0.5, 0.6]
    Z2 = 0.25 - 0.36 + 0.2 = 0.09;  J = (0.09 - 1)^2 / 2 = 0.41405
    dZ2 = -0.91;  dW2 = dZ2 * A1 = [-0.455, -0.546];  db2 = -0.91
    dA1 = dZ2 * W2 = [-0.455, 0.546];  dZ1 = dA1 (both units active)
    dW1 = dZ1^T X = [[-0.455, -0.91], [0.546, 1.092]];  db1 = [-0.455, 0.546]
    """
    net = lw.Network([lw.Dense(2, "relu"), lw.Dense(1, "identity")], loss="mse", input_dim=2, dtype="float64")
    net.params["W1"][...] = [[0.1, 0.2], [-0.3, 0.4]]
    net.params["b1"][...] = [0.0, 0.1]
    net.params["W2"][...] = [[0.5, -0.6]]
    net.params["b2"][...] = [0.2]
    AL, cache = net.forward(np.array([[1.0, 2.0]]))
    np.testing.assert_allclose(cache["Z1"], [[0.5, 0.6]])
    np.testing.assert_allclose(AL, [[0.09]])
    assert net.loss(AL, [1.0]) == pytest.approx(0.41405)
    g = net.backward(cache, [1.0])
    np.testing.assert_allclose(g["dZ2"], [[-0.91]])
    np.testing.assert_allclose(g["dW2"], [[-0.455, -0.546]])
    np.testing.assert_allclose(g["db2"], [-0.91])
    np.testing.assert_allclose(g["dA1"], [[-0.455, 0.546]])
    np.testing.assert_allclose(g["dW1"], [[-0.455, -0.91], [0.546, 1.092]])
    np.testing.assert_allclose(g["db1"], [-0.455, 0.546])


@pytest.mark.parametrize("output,loss", [("softmax", "cross_entropy"), ("sigmoid", "binary_cross_entropy"),
                                         ("identity", "mse")])
def test_engine_equals_the_seeds_reference_algorithm(output, loss, rng):
    widths = [7, 9, 6, 4]
    net = small_net(widths[1:-1], widths[-1], hidden_act="relu", out_act=output, loss=loss, n_in=7, seed=11)
    m = 13
    X = rng.standard_normal((m, 7))
    Y = {"cross_entropy": np.eye(4)[rng.integers(0, 4, m)],
         "binary_cross_entropy": rng.integers(0, 2, (m, 4)).astype(float)}.get(loss, rng.standard_normal((m, 4)))
    parameters = {}
    for name, value in net.params.items():
        parameters[name] = value.copy() if name.startswith("W") else value[:, None].copy()
    seed_cache = reference.forward_propagation(X.T, parameters, output)
    seed_grads = reference.backpropagation(seed_cache, Y.T, parameters)
    AL, cache = net.forward(X)
    grads = net.backward(cache, Y)
    np.testing.assert_allclose(AL, seed_cache["A3"].T, rtol=1e-12, atol=1e-14)
    for l in (1, 2, 3):
        np.testing.assert_allclose(grads[f"dW{l}"], seed_grads[f"dW{l}"], rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(grads[f"db{l}"], seed_grads[f"db{l}"].ravel(), rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(grads[f"dZ{l}"], seed_grads[f"dZ{l}"].T, rtol=1e-12, atol=1e-14)
    for l in (1, 2):
        np.testing.assert_allclose(grads[f"dA{l}"], seed_grads[f"dA{l}"].T, rtol=1e-12, atol=1e-14)


def test_integer_labels_equal_one_hot(rng):
    net = small_net([4], 3, out_act="softmax", loss="cross_entropy")
    X = rng.standard_normal((5, 5))
    labels = np.array([0, 2, 1, 1, 0])
    _, cache = net.forward(X)
    a, b = net.backward(cache, labels), net.backward(cache, np.eye(3)[labels])
    np.testing.assert_array_equal(a["dW1"], b["dW1"])


def test_backward_returns_arrays_the_caller_owns(rng):
    net = small_net([4], 2)
    X, Y = rng.standard_normal((3, 5)), rng.standard_normal((3, 2))
    _, cache = net.forward(X)
    first = net.backward(cache, Y)
    snapshot = first["dW1"].copy()
    net.backward(net.forward(X * 2)[1], Y)
    np.testing.assert_array_equal(first["dW1"], snapshot)


@pytest.mark.parametrize("activation", sorted(lw.ops.activations.ACTIVATIONS))
def test_predict_proba_equals_the_cached_forward_pass(activation, rng):
    """Each layer's predict writes its activation over its Z instead of keeping a cache; the numbers are the same.
    ``predict_proba`` takes the compiled pass where it covers the network, which agrees to a few ulp."""
    out = "softmax" if activation == "softmax" else "sigmoid"
    hidden = "tanh" if activation == "softmax" else activation
    net = lw.Network([lw.Dense(6, activation=hidden), lw.Dense(5, activation=hidden), lw.Dense(3, activation=out)],
                     input_dim=4, seed=1)
    X = rng.standard_normal((7, 4))
    AL, cache = net.forward(X)
    np.testing.assert_array_equal(net._layers_output(net.check_X(X)), AL)
    proba = net.predict_proba(X)
    np.testing.assert_allclose(proba, AL, rtol=0, atol=2e-6)
    assert proba.dtype == np.float32 and not np.shares_memory(proba, cache["Z3"])
    proba[:] = 0
    np.testing.assert_allclose(net.predict_proba(X), AL, rtol=0, atol=2e-6)


def test_default_loss_follows_the_output_activation():
    assert small_net([2], 3, out_act="softmax").loss_fn.name == "cross_entropy"
    assert small_net([2], 1, out_act="sigmoid").loss_fn.name == "binary_cross_entropy"
    assert small_net([2], 1, out_act="identity").loss_fn.name == "mse"


def test_predict_for_each_task(rng):
    X = rng.standard_normal((6, 5))
    assert small_net([3], 1, out_act="sigmoid").predict(X).shape == (6,)
    assert set(small_net([3], 4, out_act="sigmoid").predict(X).ravel()) <= {0, 1}
    assert small_net([3], 2).predict(X).shape == (6, 2)
    net = small_net([3], 3, out_act="softmax")
    net.classes = ["a", "b", "c"]
    assert set(net.predict(X)) <= {"a", "b", "c"}


def test_config_round_trip(rng):
    net = lw.Network([lw.Dropout(0.1), lw.Dense(5, "elu"), lw.Dropout(0.2), lw.Dense(2, "sigmoid")],
                     input_dim=3, seed=4, dtype="float64", l2=0.01)
    twin = lw.Network.from_config(net.get_config())
    twin.theta[...] = net.theta
    X = rng.standard_normal((4, 3))
    np.testing.assert_array_equal(net.predict_proba(X), twin.predict_proba(X))
    assert twin.get_config() == net.get_config()


def test_activation_arguments_survive_the_config(rng):
    from layerwise.ops.activations import ELU, LeakyReLU

    net = lw.Network([lw.Dense(4, LeakyReLU(0.2)), lw.Dense(3, ELU(alpha=1.3)), lw.Dense(1, "identity")],
                     input_dim=2, dtype="float64")
    twin = lw.Network.from_config(net.get_config())
    assert twin.dense[0].activation.negative_slope == 0.2 and twin.dense[1].activation.alpha == 1.3
    twin.theta[...] = net.theta
    X = rng.standard_normal((5, 2)) * 3
    np.testing.assert_array_equal(net.predict(X), twin.predict(X))


def test_a_pickled_network_trains_like_the_original():
    import pickle

    X = np.random.default_rng(0).standard_normal((40, 3))
    y = (X[:, 0] > 0).astype(int)
    net = lw.Network([lw.Dense(6), lw.Dense(2, activation="softmax")], input_dim=3, seed=0, dtype="float64")
    net.fit(X, y, epochs=1, verbose=0)
    twin = pickle.loads(pickle.dumps(net))
    assert np.shares_memory(twin.dense[0].W, twin.theta) and np.shares_memory(twin.dense[1].db, twin.dtheta)
    net.fit(X, y, epochs=2, verbose=0)
    twin.fit(X, y, epochs=2, verbose=0)
    np.testing.assert_array_equal(twin.theta, net.theta)


def test_a_same_dtype_copy_by_astype_trains_like_the_original():
    """``astype`` copies the generator and fills the copy's parameters without drawing from it, so the copy
    shuffles and drops out exactly as the original does."""
    X = np.random.default_rng(0).standard_normal((40, 3))
    y = (X[:, 0] > 0).astype(int)
    net = lw.Network([lw.Dense(6), lw.Dropout(0.3), lw.Dense(2, activation="softmax")], input_dim=3, seed=0,
                     dtype="float64")
    net.fit(X, y, epochs=1, verbose=0)
    twin = net.astype("float64")
    net.fit(X, y, epochs=2, verbose=0)
    twin.fit(X, y, epochs=2, verbose=0)
    np.testing.assert_array_equal(twin.theta, net.theta)


def test_loading_a_model_draws_nothing_from_its_generator(tmp_path):
    net = lw.Network([lw.Dense(6), lw.Dense(2, activation="softmax")], input_dim=3, seed=7)
    net.save(tmp_path / "m.safetensors")
    loaded = lw.load(tmp_path / "m.safetensors")
    assert loaded.rng.random() == np.random.default_rng(7).random()


def test_a_loaded_dropout_network_draws_its_masks_from_its_seed(tmp_path):
    """The generator is made on first use, except where a layer holds it: a loaded Dropout network's forward pass
    in training mode draws its masks from a fresh generator of its seed (loading draws nothing)."""
    net = lw.Network([lw.Dense(6), lw.Dropout(0.5), lw.Dense(2, activation="softmax")], input_dim=3, seed=4)
    net.save(tmp_path / "m.safetensors")
    loaded = lw.load(tmp_path / "m.safetensors")
    X = np.random.default_rng(0).standard_normal((8, 3))
    expected = lw.Dropout(0.5).mask(np.random.default_rng(4), (8, 6), np.float32)
    np.testing.assert_array_equal(loaded.forward(X, training=True)[1]["D1"], expected)
