"""The compiled fast path of a Dense stack computes what the readable path computes.

The readable path (``Network._forward``, ``_loss``, ``_backward`` through
``Dense.forward`` and ``Dense.backward``) is the reference, itself checked
against finite differences and PyTorch elsewhere; here both run on the same
batch into their own workspaces and every output is compared: ``J``,
``dtheta`` and each array of ``cache`` and ``grads``.
"""

import numpy as np
import pytest

import layerwise as lw
from layerwise.layers import dense_stack
from layerwise.layers.dense_stack import HIDDEN, OUTPUTS, DenseStack
from layerwise.ops.losses import Huber
from layerwise.train.loop import make_workspace

pytest.importorskip("numba")

TOLERANCE = {"float64": 1e-12, "float32": 2e-6}


def network(hidden, output, loss, dtype, widths=(12, 7), n_in=6, n_out=4, **kw):
    layers = [lw.Dense(units, activation=hidden) for units in widths] + [lw.Dense(n_out, activation=output)]
    return lw.Network(layers, loss=loss, input_dim=n_in, seed=1, dtype=dtype, **kw)


def targets(loss, rng, m, n_out=4):
    if loss == "cross_entropy":
        return rng.integers(0, n_out, m)
    if loss == "binary_cross_entropy":
        return rng.integers(0, 2, (m, n_out))
    return rng.standard_normal((m, n_out))


def readable(net, X, Y):
    ws = make_workspace(net, X.shape[0])
    cache = net._forward(X, True, ws)
    J = net._loss(cache[net.output.output_key], Y, None, ws["loss"])
    grads = net._backward(cache, Y, None, ws)
    return {"J": J, "dtheta": net.dtheta.copy(), **{k: v.copy() for k, v in {**cache, **grads}.items()}}


def fast(net, X, Y):
    J, cache, grads = DenseStack(net).gradient(X, Y, make_workspace(net, X.shape[0]))
    return {"J": J, "dtheta": net.dtheta.copy(), **{k: v.copy() for k, v in {**cache, **grads}.items()}}


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("output,loss", list(OUTPUTS))
@pytest.mark.parametrize("hidden", list(HIDDEN))
def test_fast_path_computes_the_readable_path(hidden, output, loss, dtype, rng):
    net = network(hidden, output, loss, dtype)
    X, Y = net.check_X(rng.standard_normal((9, 6))), net.check_Y(targets(loss, rng, 9), 9)
    expected, got = readable(net, X, Y), fast(net, X, Y)
    assert list(got) == list(expected)  # the same cache and gradient names, in the same order
    for key, value in expected.items():
        assert np.asarray(got[key]).dtype == np.asarray(value).dtype, key
        scale = max(float(np.max(np.abs(value))), 1.0)
        np.testing.assert_allclose(got[key], value, rtol=0, atol=TOLERANCE[dtype] * scale, err_msg=key)


def test_a_single_layer_and_one_row(rng):
    net = lw.Network([lw.Dense(3, activation="softmax")], input_dim=5, seed=0, dtype="float64")
    X, Y = net.check_X(rng.standard_normal((1, 5))), net.check_Y([2], 1)
    expected, got = readable(net, X, Y), fast(net, X, Y)
    for key, value in expected.items():
        np.testing.assert_allclose(got[key], value, rtol=1e-12, atol=1e-15, err_msg=key)


class WatchBatches(lw.Callback):
    """A callback that sees every batch, so that training runs the batch loop in Python."""

    def on_batch_end(self, net, batch, logs):
        pass


def test_training_takes_the_fast_path_and_ends_where_the_readable_path_ends(rng, monkeypatch):
    X, y = rng.standard_normal((203, 6)), rng.integers(0, 4, 203)
    nets = [network("relu", "softmax", None, "float64") for _ in range(2)]
    calls = []
    gradient = DenseStack.gradient
    monkeypatch.setattr(DenseStack, "gradient", lambda self, *a: calls.append(1) or gradient(self, *a))
    history = nets[0].fit(X, y, epochs=3, batch_size=32, verbose=0, callbacks=[WatchBatches()])
    assert len(calls) == 3 * 7
    monkeypatch.setattr(DenseStack, "trains", lambda self, weighted: False)
    reference = nets[1].fit(X, y, epochs=3, batch_size=32, verbose=0)
    np.testing.assert_allclose(nets[0].theta, nets[1].theta, rtol=0, atol=1e-12)
    np.testing.assert_allclose(history.history["loss"], reference.history["loss"], rtol=1e-12)
    assert history.history["accuracy"] == reference.history["accuracy"]


@pytest.mark.parametrize("case", ["l2", "weights", "dropout", "leaky_relu", "mae", "huber_delta", "wide"])
def test_what_the_fast_path_does_not_cover_takes_the_readable_path(case):
    kw, layers = {}, None
    if case == "l2":
        kw["l2"] = 0.1
    elif case == "dropout":
        layers = [lw.Dense(8), lw.Dropout(0.5), lw.Dense(3, activation="softmax")]
    elif case == "leaky_relu":
        layers = [lw.Dense(8, activation="leaky_relu"), lw.Dense(3, activation="softmax")]
    elif case == "mae":
        layers, kw["loss"] = [lw.Dense(8), lw.Dense(3, activation="identity")], "mae"
    elif case == "huber_delta":
        layers, kw["loss"] = [lw.Dense(8), lw.Dense(3, activation="identity")], Huber(2.0)
    elif case == "wide":
        layers = [lw.Dense(dense_stack.MAX_PRODUCT // 6 + 1), lw.Dense(3, activation="softmax")]
    net = lw.Network(layers or [lw.Dense(8), lw.Dense(3, activation="softmax")], input_dim=6, seed=0, **kw)
    stack = net._compiled_forward()
    assert stack is None or not stack.trains(weighted=case == "weights")


PREDICTED_OUTPUTS = [("softmax", "cross_entropy"), ("sigmoid", "binary_cross_entropy"), ("identity", "mse"),
                     ("identity", "mae")]  # prediction needs no shortcut: mae is predicted compiled too


@pytest.mark.parametrize("m", [1, 9])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("output,loss", PREDICTED_OUTPUTS)
@pytest.mark.parametrize("hidden", list(HIDDEN))
def test_the_compiled_forward_pass_predicts_what_the_layers_predict(hidden, output, loss, dtype, m, rng):
    net = network(hidden, output, loss, dtype, widths=(300, 7))
    X = net.check_X(rng.standard_normal((m, 6)))
    assert net._compiled_forward() is not None
    expected, got = net._layers_output(X), net.predict_proba(X)
    assert got.dtype == expected.dtype and got.shape == expected.shape == (m, 4)
    np.testing.assert_allclose(got, expected, rtol=0, atol=TOLERANCE[dtype] * max(float(np.max(expected)), 1.0))


@pytest.mark.parametrize("case", ["dropout", "leaky_relu", "elu_output", "conv"])
def test_prediction_the_compiled_pass_does_not_cover_runs_the_layers(case, rng):
    layers = {"dropout": [lw.Dense(8), lw.Dropout(0.5), lw.Dense(3, activation="softmax")],
              "leaky_relu": [lw.Dense(8, activation="leaky_relu"), lw.Dense(3, activation="softmax")],
              "elu_output": [lw.Dense(8), lw.Dense(3, activation="elu")],
              "conv": [lw.Conv2D(2, 3), lw.Flatten(), lw.Dense(3, activation="softmax")]}[case]
    size = {"input_shape": (1, 5, 5)} if case == "conv" else {"input_dim": 25}
    net = lw.Network(layers, seed=0, dtype="float64", **size)
    X = rng.standard_normal((4, 25))
    assert net._compiled_forward() is None
    np.testing.assert_array_equal(net.predict_proba(X), net._layers_output(net.check_X(X)))


def test_many_rows_are_predicted_by_the_layers(rng):
    net = network("relu", "softmax", None, "float32", widths=(64,))
    rows = dense_stack.MAX_PREDICTION // (6 * 64 + 64 * 4)
    few, many = (net.check_X(rng.standard_normal((m, 6))) for m in (rows, rows + 1))
    assert net._compiled_forward().predicts(few) and not net._compiled_forward().predicts(many)
    np.testing.assert_array_equal(net.predict_proba(many), net._layers_output(many))


def test_rows_that_are_not_c_contiguous_are_predicted_by_the_layers(rng):
    net = network("relu", "softmax", None, "float64")
    X = rng.standard_normal((5, 6))
    np.testing.assert_allclose(net.predict_proba(np.asfortranarray(X)), net.predict_proba(X), rtol=1e-12)


def test_a_rebuilt_or_copied_network_makes_its_own_compiled_pass(rng):
    import pickle

    net = network("tanh", "softmax", None, "float64")
    net.predict_proba(rng.standard_normal((2, 6)))
    twin = pickle.loads(pickle.dumps(net))
    assert "_compiled" not in twin.__dict__  # made again on first use, for the copy's own buffers
    X = rng.standard_normal((3, 6))
    np.testing.assert_array_equal(twin.predict_proba(X), net.predict_proba(X))
    net.build(9)  # another input width: a new table, so a new compiled pass
    X9 = net.check_X(rng.standard_normal((3, 9)))
    np.testing.assert_allclose(net.predict_proba(X9), net._layers_output(X9), rtol=1e-12)


def test_threads_predicting_batches_of_different_sizes_at_once_agree_with_one_thread(rng):
    from concurrent.futures import ThreadPoolExecutor

    net = network("relu", "softmax", None, "float64", widths=(64, 32))
    batches = [rng.standard_normal((m, 6)) for m in list(range(1, 13)) * 4]
    expected = [net._layers_output(net.check_X(X)) for X in batches]
    with ThreadPoolExecutor(4) as pool:
        got = list(pool.map(net.predict_proba, batches))
    for g, e in zip(got, expected):
        np.testing.assert_allclose(g, e, rtol=0, atol=1e-12)
