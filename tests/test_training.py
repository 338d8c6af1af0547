import io

import numpy as np
import pytest
from conftest import small_net
from sklearn.datasets import load_digits
from sklearn.utils.class_weight import compute_sample_weight

import layerwise as lw
from layerwise.errors import ConfigError, TrainingDivergedError
from layerwise.train.callbacks import Callback, EarlyStopping


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return X[:400] / 16.0, y[:400]


def classifier(seed=0, hidden=32, dtype="float32", **kw):
    return lw.Network([lw.Dense(hidden, "relu"), lw.Dense(10, "softmax")], input_dim=64, seed=seed, dtype=dtype, **kw)


class Recorder(Callback):
    def __init__(self):
        self.events, self.batch_sizes = [], []

    def on_train_begin(self, net, logs):
        self.events.append("train_begin")

    def on_epoch_begin(self, net, epoch, logs):
        self.events.append(f"epoch_begin {epoch}")
        self.batch_sizes.append([])

    def on_batch_end(self, net, batch, logs):
        self.batch_sizes[-1].append(logs["size"])

    def on_epoch_end(self, net, epoch, logs):
        self.events.append(f"epoch_end {epoch}")

    def on_train_end(self, net, logs):
        self.events.append("train_end")


def test_history_records_every_epoch(digits):
    X, y = digits
    history = classifier().fit(X, y, epochs=3, batch_size=64, validation_split=0.2, verbose=0)
    assert history.epoch == [0, 1, 2]
    for key in ("loss", "accuracy", "val_loss", "val_accuracy", "lr", "time"):
        assert len(history[key]) == 3
    assert history["loss"][2] < history["loss"][0]
    assert all(t > 0 for t in history["time"])


def test_every_example_is_seen_each_epoch_last_partial_batch_included(digits):
    X, y = digits
    recorder = Recorder()
    classifier().fit(X, y, epochs=2, batch_size=64, callbacks=[recorder], verbose=0)
    assert recorder.batch_sizes == [[64] * 6 + [16]] * 2
    assert recorder.events == ["train_begin", "epoch_begin 0", "epoch_end 0", "epoch_begin 1", "epoch_end 1",
                               "train_end"]


def test_a_callback_can_stop_training(digits):
    X, y = digits

    class StopAfterTwo(Callback):
        def on_epoch_end(self, net, epoch, logs):
            if epoch == 1:
                net.stop_training = True

    history = classifier().fit(X, y, epochs=10, callbacks=[StopAfterTwo()], verbose=0)
    assert len(history.epoch) == 2


def test_same_seed_gives_bit_identical_parameters(digits):
    X, y = digits
    nets = [classifier(seed=3) for _ in range(2)]
    for net in nets:
        net.fit(X, y, epochs=3, batch_size=32, verbose=0, validation_split=0.1)
    np.testing.assert_array_equal(nets[0].theta, nets[1].theta)
    other = classifier(seed=4)
    other.fit(X, y, epochs=3, batch_size=32, verbose=0, validation_split=0.1)
    assert not np.array_equal(nets[0].theta, other.theta)


def test_l2_penalty_adds_lambda_over_m_times_W_and_passes_gradcheck(rng):
    X, Y = rng.standard_normal((6, 5)), rng.standard_normal((6, 2))
    plain = small_net([4], 2, loss="mse")
    penalised = small_net([4], 2, loss="mse", l2=0.3)
    g0 = plain.backward(plain.forward(X)[1], Y)
    g1 = penalised.backward(penalised.forward(X)[1], Y)
    np.testing.assert_allclose(g1["dW1"], g0["dW1"] + 0.3 / 6 * penalised.params["W1"], rtol=1e-12)
    np.testing.assert_array_equal(g1["db1"], g0["db1"])
    AL = penalised.forward(X)[0]
    weights = np.concatenate([penalised.params["W1"].ravel(), penalised.params["W2"].ravel()])
    assert penalised.loss(AL, Y) == pytest.approx(plain.loss(AL, Y) + 0.3 / 12 * weights @ weights)
    assert lw.gradcheck(penalised, X, Y).ok


def test_dropout_gradcheck_with_a_fixed_mask_and_off_at_prediction(rng):
    net = lw.Network([lw.Dropout(0.2), lw.Dense(6, "tanh"), lw.Dropout(0.5), lw.Dense(3, "softmax")],
                     input_dim=5, seed=1, dtype="float64")
    X, y = rng.standard_normal((8, 5)), rng.integers(0, 3, 8)
    report = lw.gradcheck(net, X, y, training=True)
    assert report.ok, str(report)
    _, cache = net.forward(X, training=True)
    assert set(np.unique(cache["D1"])) <= {0.0, 2.0} and "D0" in cache
    np.testing.assert_array_equal(net.predict_proba(X), net.predict_proba(X))
    plain = lw.Network([lw.Dense(6, "tanh"), lw.Dense(3, "softmax")], input_dim=5, dtype="float64")
    plain.theta[...] = net.theta
    np.testing.assert_allclose(net.predict_proba(X), plain.predict_proba(X), rtol=1e-12)  # plain's pass is compiled


def test_sigmoid_hidden_layer_under_dropout_passes_gradcheck(rng):
    net = lw.Network([lw.Dense(6, "sigmoid"), lw.Dropout(0.3), lw.Dense(2, "identity")], input_dim=4, seed=2,
                     dtype="float64")
    assert lw.gradcheck(net, rng.standard_normal((7, 4)), rng.standard_normal((7, 2)), training=True).ok


def test_sample_weights_equal_repeating_examples_and_pass_gradcheck(rng):
    net = small_net([5], 3, out_act="softmax", loss="cross_entropy")
    X, y = rng.standard_normal((4, 5)), np.array([0, 1, 2, 1])
    w = np.array([1.0, 3.0, 2.0, 1.0])
    repeated = np.repeat(np.arange(4), w.astype(int))
    _, cache = net.forward(X)
    weighted = net.backward(cache, y, sample_weight=w)
    _, cache_r = net.forward(X[repeated])
    plain = net.backward(cache_r, y[repeated])
    for key in ("dW1", "db1", "dW2", "db2"):
        np.testing.assert_allclose(weighted[key], plain[key], rtol=1e-12)
    assert net.loss(net.forward(X)[0], y, sample_weight=w) == pytest.approx(net.loss(net.forward(X[repeated])[0],
                                                                                     y[repeated]))
    assert lw.gradcheck(net, X, y, sample_weight=w).ok


def test_a_batch_whose_weights_are_all_zero_leaves_the_parameters_alone(rng):
    """With plain SGD a zero-weight batch is a zero step: training equals training without its rows."""
    X, y = rng.standard_normal((96, 5)), rng.integers(0, 3, 96)
    weights = np.r_[np.zeros(32), rng.uniform(0.5, 2.0, 64)]
    options = {"epochs": 3, "batch_size": 32, "shuffle": False, "optimizer": "sgd", "lr": 0.1, "verbose": 0}
    weighted = small_net([6], 3, out_act="softmax", loss="cross_entropy")
    history = weighted.fit(X, y, sample_weight=weights, **options)
    without = small_net([6], 3, out_act="softmax", loss="cross_entropy")
    without.fit(X[32:], y[32:], sample_weight=weights[32:], **options)
    assert np.isfinite(history["loss"]).all()
    np.testing.assert_array_equal(weighted.theta, without.theta)
    assert not np.array_equal(weighted.theta, small_net([6], 3, out_act="softmax", loss="cross_entropy").theta)


def test_balanced_class_weight_matches_scikit_learn(digits):
    from layerwise.train.examples import example_weights

    X, y = digits
    y = np.where(y < 3, y, 3)
    net = lw.Network([lw.Dense(4), lw.Dense(4, "softmax")], input_dim=64, dtype="float64")
    weights = example_weights(net, net.check_Y(y), None, "balanced")
    np.testing.assert_allclose(weights, compute_sample_weight("balanced", y), rtol=1e-12)
    custom = example_weights(net, net.check_Y(y), np.full(len(y), 2.0), {0: 5.0})
    np.testing.assert_allclose(custom, np.where(y == 0, 10.0, 2.0))


def test_early_stopping_restores_the_best_weights(digits):
    X, y = digits
    snapshots = {}

    class Snapshot(Callback):
        def on_epoch_end(self, net, epoch, logs):
            snapshots[epoch] = (logs["val_loss"], net.theta.copy())

    stopper = EarlyStopping(patience=2, min_delta=0.0)
    net = classifier(hidden=64)
    history = net.fit(X, y, epochs=200, lr=0.05, batch_size=16, validation_split=0.3, callbacks=[Snapshot()],
                      early_stopping=stopper, verbose=0)
    assert len(history.epoch) < 200
    best = min(snapshots, key=lambda e: snapshots[e][0])
    assert stopper.best_epoch == best and len(history.epoch) == best + 1 + 3
    np.testing.assert_array_equal(net.theta, snapshots[best][1])


def test_divergence_stops_with_a_clear_error_and_finite_parameters(digits):
    X, y = digits
    net = lw.Network([lw.Dense(64, "relu"), lw.Dense(64, "relu"), lw.Dense(10, "softmax")], input_dim=64, seed=0)
    with pytest.raises(TrainingDivergedError, match=r"epoch \d+, batch \d+.*lower learning rate"):
        net.fit(X * 1e4, y, epochs=50, optimizer="sgd", lr=1e3, verbose=0)
    assert np.isfinite(net.theta).all()


def test_gradient_clipping_limits_the_step():
    X = np.ones((4, 1))
    y = np.full(4, 100.0)
    for clip, expected in ((None, 0.01 * 100 * 1), (1.0, 0.01)):
        net = lw.Network([lw.Dense(1, "identity")], input_dim=1, dtype="float64")
        net.params["W1"][...] = 0
        net.fit(X, y, epochs=1, batch_size=4, optimizer="sgd", lr=0.01, clip_norm=clip, shuffle=False, verbose=0)
        assert abs(net.params["W1"][0, 0]) == pytest.approx(expected / (np.sqrt(2) if clip else 1), rel=1e-6)


def test_progress_lines_and_silence(digits, capsys):
    X, y = digits
    classifier().fit(X, y, epochs=2, verbose=0)
    assert capsys.readouterr().err == ""
    stream = io.StringIO()
    from layerwise.train.callbacks import ProgressBar

    classifier().fit(X, y, epochs=2, verbose=0, callbacks=[ProgressBar(2, 13, stream=stream)])
    lines = stream.getvalue().splitlines()
    assert len(lines) == 2 and lines[0].startswith("epoch 1/2") and "acc " in lines[0]


def test_float32_fit_keeps_every_array_float32(digits):
    from layerwise.train.loop import _Trainer

    X, y = digits
    net = classifier()
    net.fit(X.astype(np.float64), y, epochs=1, verbose=0)
    assert net.theta.dtype == np.float32 and net.dtheta.dtype == np.float32
    from layerwise.optim.optimizers import get_optimizer
    from layerwise.train.callbacks import CallbackList

    trainer = _Trainer(net, net.check_X(X), net.check_Y(y), None, 32, True, get_optimizer("adam"), None)
    trainer.run_epoch(0, CallbackList([]))
    for ws in trainer.workspaces.values():
        assert all(a.dtype == np.float32 for a in ws.values())
    assert trainer.X_epoch.dtype == np.float32 and trainer.Y_epoch.dtype == np.float32


@pytest.mark.parametrize("kwargs,match", [
    ({"epochs": 0}, "epochs must be a positive integer"),
    ({"batch_size": -1}, "batch_size must be a positive integer"),
    ({"validation_split": 1.5}, r"validation_split must be a number in \(0.0, 1.0\)"),
    ({"class_weight": "even"}, "class_weight must be a dict or 'balanced'"),
    ({"class_weight": {12: 1.0}}, "class 12"),
    ({"l2": -1.0}, r"l2 must be a number in \[0.0, inf\)"),
    ({"validation_data": [1, 2, 3]}, "validation_data must be a tuple"),
])
def test_bad_fit_arguments(digits, kwargs, match):
    X, y = digits
    with pytest.raises(ConfigError, match=match):
        classifier().fit(X, y, verbose=0, **kwargs)


def test_validation_split_is_stratified_for_classifiers():
    from layerwise.train.examples import split

    y = np.array([0] * 80 + [1] * 20)
    X = np.arange(100, dtype=float)[:, None]
    net = lw.Network([lw.Dense(2, "softmax")], input_dim=1, seed=5)
    X_train, Y_train, _, X_val, Y_val = split(net, X, net.check_Y(y), None, 0.2)
    assert len(X_val) == 20 and Y_val.argmax(axis=1).sum() == 4
    assert len(set(X_train.ravel()) | set(X_val.ravel())) == 100
