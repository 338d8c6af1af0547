"""The properties the training loop's speed rests on, checked without timing anything.

* Workspaces are allocated once per batch size: a second epoch allocates
  (almost) nothing.
* A float32 fit keeps every array float32.
* The fast path (preallocated buffers, in-place activations, scratch for the
  loss) computes exactly what the public ``forward`` / ``backward`` / ``loss``
  compute, which the gradient tests check against finite differences and
  PyTorch; and the public methods still hand out arrays the caller owns.
* Inputs gathered a stretch of batches at a time give the same training as
  gathering the whole epoch at once.
* The divergence check still catches a gradient that overflows while the loss
  stays finite.
"""

import tracemalloc

import numpy as np
import pytest

import layerwise as lw
from layerwise.errors import TrainingDivergedError
from layerwise.ops.activations import ACTIVATIONS
from layerwise.train import loop as training
from layerwise.train.callbacks import Callback
from layerwise.train.loop import make_workspace

ELEMENTWISE = sorted(set(ACTIVATIONS) - {"softmax"})


def classifier(hidden=(64, 32), dtype="float32", n_in=16, classes=5, activation="relu", seed=0, **kw):
    layers = [lw.Dense(units, activation=activation) for units in hidden]
    layers.append(lw.Dense(classes, activation="softmax"))
    return lw.Network(layers, input_dim=n_in, seed=seed, dtype=dtype, **kw)


def data(m=512, n_in=16, classes=5, seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((m, n_in)), rng.integers(0, classes, m)


class MemoryDuringEpoch(Callback):
    """Traces NumPy and Python allocations during one epoch."""

    def __init__(self, epoch):
        self.epoch, self.peak = epoch, None

    def on_epoch_begin(self, net, epoch, logs):
        if epoch == self.epoch:
            tracemalloc.start()

    def on_epoch_end(self, net, epoch, logs):
        if epoch == self.epoch:
            self.peak = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()


@pytest.mark.parametrize("optimizer,layers", [("adam", "dense"), ("sgd", "dense"), ("rmsprop", "dense"),
                                              ("adam", "dropout"), ("adam", "batchnorm")])
def test_a_second_epoch_allocates_almost_nothing(optimizer, layers):
    net = classifier(hidden=(256, 128), n_in=64)
    if layers == "dropout":
        layers = [lw.Dropout(0.2), lw.Dense(256), lw.Dropout(0.5), lw.Dense(128), lw.Dense(5, activation="softmax")]
        net = lw.Network(layers, input_dim=64, seed=0)
    elif layers == "batchnorm":
        layers = [lw.Dense(256, activation="identity"), lw.BatchNorm(activation="relu"), lw.Dense(128),
                  lw.BatchNorm(), lw.Dense(5, activation="softmax")]
        net = lw.Network(layers, input_dim=64, seed=0, l2=0.01)
    X, y = data(m=2048, n_in=64)
    monitor = MemoryDuringEpoch(epoch=1)
    net.fit(X, y, epochs=2, batch_size=256, optimizer=optimizer, callbacks=[monitor], verbose=0)
    one_activation = 256 * 256 * 4  # a single (batch, units) float32 array of the first layer
    assert monitor.peak < one_activation / 4, f"epoch 2 allocated up to {monitor.peak} bytes"


def test_the_trace_sees_a_per_batch_allocation():
    """The measurement above can fail: a callback that copies each batch's activations shows up."""

    class Copier(Callback):
        def on_batch_end(self, net, batch, logs):
            self.kept = logs["cache"]["A1"].copy()

    net = classifier(hidden=(256, 128), n_in=64)
    X, y = data(m=2048, n_in=64)
    monitor = MemoryDuringEpoch(epoch=1)
    net.fit(X, y, epochs=2, batch_size=256, callbacks=[Copier(), monitor], verbose=0)
    assert monitor.peak >= 256 * 256 * 4


def test_every_array_of_a_float32_fit_is_float32():
    seen = []

    class Collect(Callback):
        def on_batch_end(self, net, batch, logs):
            seen.extend((f"cache {k}", v) for k, v in logs["cache"].items())
            seen.extend((f"grads {k}", v) for k, v in logs["grads"].items())

    net = classifier()
    X, y = data()
    optimizer = lw.Adam()
    net.fit(X.astype(np.float64), y, epochs=1, batch_size=100, optimizer=optimizer, callbacks=[Collect()],
            verbose=0)
    state = optimizer.state_dict()["state"]["theta"]
    seen += [("theta", net.theta), ("dtheta", net.dtheta)] + [(f"adam {k}", v) for k, v in state.items()]
    assert seen and all(array.dtype == np.float32 for _, array in seen), [k for k, a in seen if a.dtype != np.float32]


def fast_and_public(net, X, Y, sample_weight=None):
    """Forward, loss and backward through workspaces (as the trainer runs them) and through the public API."""
    twin = net.copy()
    m = X.shape[0]
    ws = make_workspace(net, m)
    Xc, Yc = net.check_X(X), net.check_Y(Y, m)
    w = net.check_sample_weight(sample_weight, m)
    cache = net._forward(Xc, True, ws)
    J = net._loss(cache[f"A{net.L}"], Yc, w, ws["loss"])
    grads = net._backward(cache, Yc, w, ws)
    fast = {"J": J, "dtheta": net.dtheta.copy(), **{k: v.copy() for k, v in {**cache, **grads}.items()}}

    AL, cache = twin.forward(X, training=True)
    grads = twin.backward(cache, Y, sample_weight)
    public = {"J": twin.loss(AL, Y, sample_weight), **cache, **grads}
    public["dtheta"] = np.concatenate([grads["d" + entry.name].ravel() for entry in net.table.entries])
    return fast, public


@pytest.mark.parametrize("activation", ELEMENTWISE)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_fast_path_equals_the_public_path_for_every_activation(activation, dtype, rng):
    net = classifier(hidden=(12, 7), activation=activation, dtype=dtype, n_in=6, classes=4, l2=0.01)
    X, y = rng.standard_normal((9, 6)), rng.integers(0, 4, 9)
    fast, public = fast_and_public(net, X, y, sample_weight=rng.uniform(0.5, 2.0, 9))
    assert fast.keys() == public.keys() - {f"dW{l}" for l in (1, 2, 3)} - {f"db{l}" for l in (1, 2, 3)}
    for key, value in fast.items():
        np.testing.assert_array_equal(value, public[key], err_msg=key)


@pytest.mark.parametrize("output,loss", [("sigmoid", "binary_cross_entropy"), ("identity", "mse"),
                                         ("sigmoid", "mse"), ("softmax", "cross_entropy"), ("tanh", "huber"),
                                         ("identity", "mae")])
def test_fast_path_equals_the_public_path_for_every_output(output, loss, rng):
    layers = [lw.Dropout(0.2), lw.Dense(8, "relu"), lw.Dropout(0.3), lw.Dense(3, output)]
    net = lw.Network(layers, loss=loss, input_dim=5, seed=3, dtype="float64")
    X = rng.standard_normal((10, 5))
    Y = rng.integers(0, 3, 10) if loss == "cross_entropy" else rng.uniform(0, 1, (10, 3)).round()
    fast, public = fast_and_public(net, X, Y)
    for key, value in fast.items():
        np.testing.assert_array_equal(value, public[key], err_msg=key)


def test_public_methods_return_arrays_the_caller_owns(rng):
    net = classifier(dtype="float64")
    X1, X2, y = rng.standard_normal((8, 16)), rng.standard_normal((8, 16)), rng.integers(0, 5, 8)
    AL1, cache1 = net.forward(X1)
    kept = {key: value.copy() for key, value in cache1.items()}
    grads1 = net.backward(cache1, y)
    kept_grads = {key: value.copy() for key, value in grads1.items()}
    AL2, cache2 = net.forward(X2)
    net.backward(cache2, y)
    net.fit(X2, y, epochs=1, verbose=0)
    for key, value in kept.items():
        np.testing.assert_array_equal(cache1[key], value, err_msg=key)
    for key, value in kept_grads.items():
        np.testing.assert_array_equal(grads1[key], value, err_msg=key)
        assert not np.shares_memory(grads1[key], net.dtheta)
    assert not np.shares_memory(AL1, AL2)


class Inputs(Callback):
    def __init__(self):
        self.rows = []

    def on_batch_end(self, net, batch, logs):
        self.rows.append(logs["cache"]["A0"].copy())


@pytest.mark.parametrize("stage_bytes", [1, 3 * 40 * 16 * 4, 10**9])
def test_gathering_inputs_a_stretch_at_a_time_is_the_whole_epochs_order(stage_bytes, monkeypatch):
    X, y = data(m=230)
    reference, reference_inputs = classifier(), Inputs()
    reference.fit(X, y, epochs=2, batch_size=40, callbacks=[reference_inputs], verbose=0)
    monkeypatch.setattr(training, "STAGE_BYTES", stage_bytes)
    net, inputs = classifier(), Inputs()
    history = net.fit(X, y, epochs=2, batch_size=40, callbacks=[inputs], verbose=0)
    np.testing.assert_array_equal(net.theta, reference.theta)
    assert [b.shape[0] for b in inputs.rows] == [40] * 5 + [30] + [40] * 5 + [30]
    for epoch in (0, 1):
        seen = np.concatenate(inputs.rows[6 * epoch: 6 * epoch + 6])
        np.testing.assert_array_equal(seen, np.concatenate(reference_inputs.rows[6 * epoch: 6 * epoch + 6]))
        order = np.lexsort(seen.T)
        np.testing.assert_array_equal(seen[order], X.astype(np.float32)[np.lexsort(X.astype(np.float32).T)])
    assert 0 < history["accuracy"][1] <= 1


def test_accuracy_counts_the_predictions_made_during_the_epoch():
    X, y = data(m=90)
    seen = []

    class Predictions(Callback):
        def on_batch_end(self, net, batch, logs):
            seen.append(logs["cache"][f"A{net.L}"].argmax(axis=1))

    net = classifier(dtype="float64")
    history = net.fit(X, y, epochs=1, batch_size=32, shuffle=False, callbacks=[Predictions()], verbose=0)
    assert history["accuracy"][0] == pytest.approx(np.mean(np.concatenate(seen) == y))


def test_a_gradient_that_overflows_under_a_finite_loss_stops_training():
    # Z1 = X W1^T stays small (huge X, tiny W1) and the loss is finite, but
    # dW1 = (1/m) dZ1^T X with dZ1 ~ W2 ~ 1e10 and X ~ 1e30 overflows float32.
    net = lw.Network([lw.Dense(2, "relu"), lw.Dense(2, "softmax")], input_dim=2, seed=0)
    net.params["W1"][...] = [[1e-32, 1e-32], [1e-32, 1e-32]]
    net.params["b1"][...] = 1.0
    net.params["W2"][...] = [[1e10, -1e10], [-1e10, 1e10]]
    X = np.full((4, 2), 1e30)
    y = np.array([0, 1, 0, 1])
    before = net.theta.copy()
    with pytest.raises(TrainingDivergedError, match="gradient is not finite"):
        net.fit(X, y, epochs=1, batch_size=4, optimizer="sgd", verbose=0)
    np.testing.assert_array_equal(net.theta, before)


def test_fast_path_equals_the_public_path_with_batchnorm_and_dropout(rng):
    layers = [lw.Dense(8, "identity"), lw.BatchNorm(activation="relu"), lw.Dropout(0.3), lw.Dense(6, "tanh"),
              lw.BatchNorm(), lw.Dense(3, "softmax")]
    net = lw.Network(layers, input_dim=5, seed=3, dtype="float64", l2=0.1)
    X, y = rng.standard_normal((10, 5)), rng.integers(0, 3, 10)
    fast, public = fast_and_public(net, X, y, sample_weight=rng.uniform(0.5, 2.0, 10))
    for key, value in fast.items():
        np.testing.assert_array_equal(value, public[key], err_msg=key)
