import io
import json
import math
import struct
import sys

import numpy as np
import pytest
from sklearn.datasets import load_digits

import layerwise as lw
from layerwise.errors import ConfigError, DataError, TrainingDivergedError
from layerwise.inspect.detectors import Detectors, Thresholds
from layerwise.inspect.diagnostics import FIELDS, GradientMonitor
from layerwise.train.callbacks import Callback


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return (X / 16.0).astype(np.float32), y


def net_of(*layers, input_dim=64, seed=0, **kw):
    return lw.Network(list(layers), input_dim=input_dim, seed=seed, **kw)


def train(net, X, y, monitor, **kw):
    """Fit with the monitor; a diverging run ends early (its warnings must already be there)."""
    options = {"epochs": 1, "verbose": 0, **kw}
    try:
        net.fit(X, y, diagnostics=monitor, **options)
    except TrainingDivergedError:
        return False
    return True


def kinds(monitor, layer="any"):
    return {f.kind for f in monitor.findings if layer == "any" or f.layer == layer}


class WeightsAfterEachBatch(Callback):
    """Keeps a copy of the parameters after every batch (callbacks run before the monitor)."""

    def __init__(self):
        self.thetas = []

    def on_train_begin(self, net, logs):
        self.thetas.append(net.theta.copy())

    def on_batch_end(self, net, batch, logs):
        self.thetas.append(net.theta.copy())


# ------------------------------------------------------------------ records
def test_records_equal_direct_computation_with_net_backward(digits):
    X, y = digits[0][:120].astype(np.float64), digits[1][:120]
    net = net_of(lw.Dense(16, "relu"), lw.Dense(12, "tanh"), lw.Dense(10, "softmax"), dtype="float64")
    twin = net.copy()
    weights = WeightsAfterEachBatch()
    monitor = GradientMonitor(every=3, stream=None)
    net.fit(X, y, epochs=2, batch_size=40, shuffle=False, optimizer="sgd", lr=0.5, callbacks=[weights],
            diagnostics=monitor, verbose=0)
    assert [r["step"] for r in monitor.records] == [0, 3]
    assert [(r["epoch"], r["batch"]) for r in monitor.records] == [(0, 0), (1, 0)]
    for record in monitor.records:
        step = record["step"]
        before, after = weights.thetas[step], weights.thetas[step + 1]
        twin.theta[...] = before
        W_before = {l: twin.params[f"W{l}"].copy() for l in (1, 2, 3)}
        Xb, yb = X[:40], y[:40]  # without shuffling, batch 0 of every epoch
        AL, cache = twin.forward(Xb, training=True)
        grads = twin.backward(cache, yb)
        assert record["loss"] == pytest.approx(twin.loss(AL, yb), rel=1e-12)
        twin.theta[...] = after
        for l in (1, 2, 3):
            i = l - 1
            assert record["grad_norm_W"][i] == pytest.approx(np.linalg.norm(grads[f"dW{l}"]), rel=1e-10)
            assert record["grad_norm_b"][i] == pytest.approx(np.linalg.norm(grads[f"db{l}"]), rel=1e-10)
            assert record["weight_norm"][i] == pytest.approx(np.linalg.norm(twin.params[f"W{l}"]), rel=1e-10)
            update = np.linalg.norm(twin.params[f"W{l}"] - W_before[l]) / np.linalg.norm(W_before[l])
            assert record["update_ratio"][i] == pytest.approx(update, rel=1e-8)
            Z, A = cache[f"Z{l}"], cache[f"A{l}"]
            assert record["z_mean"][i] == pytest.approx(Z.mean(), rel=1e-10, abs=1e-12)
            assert record["z_std"][i] == pytest.approx(Z.std(), rel=1e-10)
            assert record["a_mean"][i] == pytest.approx(A.mean(), rel=1e-10, abs=1e-12)
            assert record["a_std"][i] == pytest.approx(A.std(), rel=1e-10)
            assert record["dz_norm"][i] == pytest.approx(np.linalg.norm(grads[f"dZ{l}"]), rel=1e-10)
        Z1 = cache["Z1"]
        assert record["dead_fraction"] == [pytest.approx(np.mean(np.all(Z1 <= 0, axis=0))), None, None]
        saturated = np.mean(np.mean(np.abs(np.tanh(cache["Z2"])) > 0.99, axis=0) >= 0.9)
        assert record["saturated_fraction"] == [None, pytest.approx(saturated), None]
        gains = [np.linalg.norm(grads[f"dZ{l}"]) / np.linalg.norm(grads[f"dZ{l + 1}"]) for l in (1, 2)]
        assert record["backward_gain"][:2] == pytest.approx(gains, rel=1e-10)
        assert record["backward_gain"][2] is None


def test_dead_fraction_on_a_hand_built_network():
    # Z = X @ W.T + b for X in [0, 1]^2: units 1 and 2 are negative on every example, unit 3 on some, unit 4 never.
    X = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [1.0, 1.0], [0.5, 0.5]])
    y = np.zeros((5, 1))
    net = net_of(lw.Dense(4, "relu"), lw.Dense(1, "identity"), input_dim=2, dtype="float64")
    net.params["W1"][...] = [[1.0, 1.0], [-1.0, 0.0], [1.0, -1.0], [0.5, 0.5]]
    net.params["b1"][...] = [-3.0, -0.1, 0.0, 1.0]
    monitor = GradientMonitor(stream=None)
    train(net, X, y, monitor, batch_size=5, optimizer="sgd", lr=1e-3)
    assert monitor.records[0]["dead_fraction"] == [0.5, None]


def test_saturated_fraction_counts_units_saturated_on_nine_in_ten_examples():
    # Z of unit k on example i is x_i * w_k: x has 9 (then 8) of 10 entries beyond atanh(0.99) = 2.647.
    x = np.array([3.0] * 8 + [2.7, 0.1])
    X = x.reshape(-1, 1)
    net = net_of(lw.Dense(4, "tanh"), lw.Dense(1, "identity"), input_dim=1, dtype="float64")
    net.params["W1"][...] = [[1.0], [-1.0], [0.95], [0.1]]  # 9/10, 9/10, 8/10 (2.565 < 2.647), 0/10 saturated
    net.params["b1"][...] = 0
    monitor = GradientMonitor(stream=None)
    train(net, X, np.zeros(10), monitor, batch_size=10, optimizer="sgd", lr=1e-6)
    assert monitor.records[0]["saturated_fraction"] == [0.5, None]


def test_a_shortcut_output_layer_is_not_checked_for_saturation(digits):
    X, y = digits
    monitor = GradientMonitor(every=1, stream=None)
    train(net_of(lw.Dense(8, "sigmoid"), lw.Dense(1, "sigmoid")), X[:64], (y[:64] > 4).astype(float), monitor)
    assert monitor.records[0]["saturated_fraction"][1] is None
    assert monitor.records[0]["saturated_fraction"][0] is not None


def test_only_every_kth_batch_is_sampled_across_epochs(digits):
    X, y = digits
    monitor = GradientMonitor(every=4, stream=None)
    net_of(lw.Dense(16), lw.Dense(10, "softmax")).fit(X[:200], y[:200], epochs=2, batch_size=20, diagnostics=monitor,
                                                      verbose=0)
    assert [r["step"] for r in monitor.records] == [0, 4, 8, 12, 16]
    assert [(r["epoch"], r["batch"]) for r in monitor.records] == [(0, 0), (0, 4), (0, 8), (1, 2), (1, 6)]
    assert all(r["update_ratio"][0] is not None for r in monitor.records)
    assert monitor.series("grad_norm_W").shape == (5, 2)


def test_dropout_and_single_layer_networks_are_measured(digits):
    X, y = digits
    monitor = GradientMonitor(every=1, stream=None)
    net = net_of(lw.Dense(64, "relu"), lw.Dropout(0.5), lw.Dense(10, "softmax"))
    train(net, X[:320], y[:320], monitor)
    dead = monitor.series("dead_fraction")[:, 0]
    assert np.all(dead < 0.5)  # measured on Z, before dropout zeroes half of A
    assert np.all(monitor.series("a_std")[:, 0] > 0)
    single = GradientMonitor(every=1, stream=None)
    train(net_of(lw.Dense(10, "softmax")), X[:320], y[:320], single)
    assert single.records[0]["backward_gain"] == [None]
    assert single.warnings == []


# ---------------------------------------------------------------- detectors
def test_healthy_adam_relu_network_on_digits_raises_no_warning(digits):
    X, y = digits
    stream = io.StringIO()
    monitor = GradientMonitor(every=1, stream=stream)
    net = net_of(lw.Dense(128, "relu"), lw.Dense(10, "softmax"))
    history = net.fit(X, y, epochs=6, batch_size=32, optimizer="adam", diagnostics=monitor, verbose=0)
    assert history["loss"][-1] < 0.3 < history["loss"][0]
    assert monitor.warnings == []
    assert stream.getvalue() == ""


def test_deep_sigmoid_network_has_vanishing_gradients_in_its_first_layers(digits):
    X, y = digits
    monitor = GradientMonitor(every=1, stream=None)
    net = net_of(*[lw.Dense(32, "sigmoid") for _ in range(8)], lw.Dense(10, "softmax"))
    train(net, X[:640], y[:640], monitor, optimizer="sgd", lr=0.1)
    assert "vanishing" in kinds(monitor, layer=1)
    assert "vanishing" not in kinds(monitor, layer=8)
    gain = monitor.series("backward_gain")[:, :7]
    assert np.all(gain < 0.5)  # each sigmoid layer shrinks the signal: its slope is at most 1/4
    message = next(f.message for f in monitor.findings if f.kind == "vanishing" and f.layer == 1)
    assert message.startswith("Dense layer 1: vanishing gradients")
    assert "relu" in message and "He initialisation" in message


def test_very_high_learning_rate_warns_of_exploding_before_training_diverges(digits):
    X, y = digits
    monitor = GradientMonitor(every=10, stream=None)
    net = net_of(lw.Dense(128, "relu"), lw.Dense(64, "relu"), lw.Dense(10, "softmax"))
    train(net, X, y, monitor, optimizer="sgd", lr=30.0)
    assert {"exploding", "lr_high"} <= kinds(monitor)
    exploding = next(f for f in monitor.findings if f.kind == "exploding")
    assert exploding.layer is None and "exploding loss" in exploding.message
    assert "clip_norm" in exploding.message
    assert monitor.records[1]["step"] == 1  # the loss jump was sampled at once, not at the next 10th batch


def test_large_initial_weights_in_a_deep_relu_network_explode_across_layers(digits):
    X, y = digits
    net = net_of(*[lw.Dense(64, "relu", init="he") for _ in range(8)], lw.Dense(10, "softmax", init="glorot"))
    for l in range(1, 9):  # four times He's scale
        net.params[f"W{l}"][...] *= 4
    monitor = GradientMonitor(every=1, stream=None)
    train(net, X[:64], y[:64], monitor, optimizer="sgd", lr=1e-6)
    assert "exploding" in kinds(monitor, layer=1)
    message = next(f.message for f in monitor.findings if f.kind == "exploding" and f.layer == 1)
    assert "initialisation" in message and "clip_norm" in message


def test_weights_that_overflow_are_reported_as_nan_onset(digits):
    X, y = digits
    monitor = GradientMonitor(every=1, stream=None)
    assert not train(net_of(lw.Dense(32), lw.Dense(10, "softmax")), X, y, monitor, optimizer="sgd", lr=1e39)
    assert [(f.kind, f.layer, f.batch) for f in monitor.findings] == [("nan", 1, 0)]
    assert "weights W" in monitor.warnings[0]


def test_large_negative_bias_kills_relu_units(digits):
    X, y = digits
    net = net_of(lw.Dense(64, "relu"), lw.Dense(32, "relu"), lw.Dense(10, "softmax"))
    net.params["b1"][...] = -10
    monitor = GradientMonitor(every=1, stream=None)
    train(net, X[:320], y[:320], monitor)
    dead = [f for f in monitor.findings if f.kind == "dead_relu"]
    assert [f.layer for f in dead] == [1]
    assert dead[0].message.startswith("Dense layer 1: 100% of its 64 ReLU units are dead")
    assert "leaky_relu" in dead[0].message
    assert "vanishing" not in kinds(monitor)  # a zero signal below dead units is reported as dead, not vanishing
    assert monitor.records[-1]["dead_fraction"][:2] == [1.0, 1.0]  # layer 2 only sees zeros: not its fault


@pytest.mark.parametrize("activation", ["tanh", "sigmoid"])
def test_unscaled_inputs_saturate_tanh_and_sigmoid_units(digits, activation):
    X, y = digits
    monitor = GradientMonitor(every=1, stream=None)
    train(net_of(lw.Dense(32, activation), lw.Dense(10, "softmax")), X[:320] * 16 * 100, y[:320], monitor)
    assert "saturation" in kinds(monitor, layer=1)
    message = next(f.message for f in monitor.findings if f.kind == "saturation")
    assert activation in message and "standardised inputs" in message


def test_learning_rate_far_too_high_is_reported_on_the_first_batch(digits):
    X, y = digits
    monitor = GradientMonitor(every=10, stream=None)
    train(net_of(lw.Dense(64), lw.Dense(10, "softmax")), X, y, monitor, optimizer="adam", lr=1.0)
    first = [f for f in monitor.findings if f.kind == "lr_high"]
    assert {f.layer for f in first} == {1, 2} and all(f.batch == 0 for f in first)
    assert "(now 1; try 0.1)" in first[0].message


def test_learning_rate_persistently_too_high(digits):
    X, y = digits
    monitor = GradientMonitor(every=1, stream=None)
    train(net_of(lw.Dense(64), lw.Dense(10, "softmax")), X[:320], y[:320], monitor, optimizer="adam", lr=0.05)
    assert "lr_high" in kinds(monitor, layer=1)
    ratios = monitor.series("update_ratio")[:, 0]
    assert np.all(ratios[:3] > 0.1) and np.all(ratios[:3] < 1)


def test_learning_rate_too_low(digits):
    X, y = digits
    monitor = GradientMonitor(every=1, stream=None)
    train(net_of(lw.Dense(64), lw.Dense(10, "softmax")), X[:320], y[:320], monitor, optimizer="sgd", lr=1e-7)
    assert kinds(monitor) == {"lr_low"}
    assert {f.layer for f in monitor.findings} == {1, 2}
    assert "a higher learning rate (now 1e-07; try 1e-06)" in monitor.warnings[0]


def test_loss_plateau_is_reported_once_after_enough_epochs(digits):
    X, y = digits
    net = net_of(lw.Dense(32, "relu"), lw.Dense(10, "softmax"))
    net.params["b1"][...] = -10  # no signal reaches the output: the loss stalls at the class prior's entropy
    monitor = GradientMonitor(stream=None)
    train(net, X[:320], y[:320], monitor, epochs=8)
    plateau = [f for f in monitor.findings if f.kind == "plateau"]
    assert len(plateau) == 1 and plateau[0].layer is None and plateau[0].epoch == 5
    assert plateau[0].message.startswith("loss plateau")


def test_plateau_rule_ignores_a_loss_that_is_already_small():
    detectors = Detectors(Thresholds(plateau_epochs=2), [{"units": 1, "activation": "identity"}])
    assert detectors.check_epoch(3, [1.0, 0.05, 0.05, 0.05]) == []
    assert detectors.check_epoch(3, [1.0, 0.6, 0.55, 0.5]) == []  # still improving
    found = detectors.check_epoch(3, [1.0, 0.5, 0.5, 0.5])
    assert [(f.kind, f.layer, f.epoch, f.batch) for f in found] == [("plateau", None, 3, None)]
    assert detectors.check_epoch(4, [1.0, 0.5, 0.5, 0.5, 0.5]) == []  # once only


# --------------------------------------------------------------- reporting
def test_each_warning_is_printed_once_to_the_stream(digits):
    X, y = digits
    net = net_of(lw.Dense(32, "relu"), lw.Dense(10, "softmax"))
    net.params["b1"][...] = -10
    stream = io.StringIO()
    monitor = GradientMonitor(every=1, stream=stream)
    train(net, X[:320], y[:320], monitor, epochs=2)
    lines = stream.getvalue().splitlines()
    assert lines == [f"layerwise diagnostics: {message}" for message in monitor.warnings]
    assert len(lines) == len({(f.kind, f.layer) for f in monitor.findings}) >= 1


def test_diagnostics_true_prints_warnings_to_stderr_by_default(digits, capsys):
    X, y = digits
    net = net_of(lw.Dense(32, "relu"), lw.Dense(10, "softmax"))
    net.params["b1"][...] = -10
    history = net.fit(X, y, epochs=1, diagnostics=True, verbose=0)  # sampled every 10 of 57 batches
    captured = capsys.readouterr()
    assert "Dense layer 1: 100% of its 32 ReLU units are dead" in captured.err
    assert captured.out == ""
    assert any(finding.kind == "dead_relu" for finding in history.diagnostics.findings)


def test_stream_none_is_silent(digits, capsys):
    X, y = digits
    net = net_of(lw.Dense(32, "relu"), lw.Dense(10, "softmax"))
    net.params["b1"][...] = -10
    monitor = GradientMonitor(every=1, stream=None)
    train(net, X[:320], y[:320], monitor)
    assert monitor.warnings
    assert capsys.readouterr() == ("", "")


def test_table_lists_every_layer_with_its_warnings(digits):
    X, y = digits
    net = net_of(lw.Dense(32, "relu"), lw.Dense(16, "tanh"), lw.Dense(10, "softmax"))
    net.params["b1"][...] = -10
    monitor = GradientMonitor(every=1, stream=None)
    train(net, X[:320], y[:320], monitor)
    lines = monitor.table().splitlines()
    assert lines[0].startswith("gradient diagnostics: 10 sampled batches (every 1)")
    assert lines[1].split()[:3] == ["layer", "activation", "units"]
    rows = [line.split() for line in lines[2:5]]
    assert [row[:3] for row in rows] == [["1", "relu", "32"], ["2", "tanh", "16"], ["3", "softmax", "10"]]
    assert [row[-3:] for row in rows] == [["100%", "-", "dead_relu"], ["-", "0%", "-"], ["-", "-", "-"]]
    assert float(rows[0][3]) == pytest.approx(monitor.records[-1]["grad_norm_W"][0], rel=1e-2, abs=1e-12)
    assert GradientMonitor().table() == "gradient diagnostics: no sampled batches recorded"


def test_to_dict_from_dict_round_trip_through_strict_json(digits):
    X, y = digits
    net = net_of(lw.Dense(32, "relu"), lw.Dense(10, "softmax"))
    net.params["b1"][...] = -10  # dead units: gains of 0/0 are NaN, update ratios of a dead layer are 0
    monitor = GradientMonitor(every=2, stream=None, thresholds=Thresholds(patience=2))
    train(net, X[:320], y[:320], monitor, epochs=2)
    text = json.dumps(monitor.to_dict(), allow_nan=False)
    again = GradientMonitor.from_dict(json.loads(text))
    assert again.to_dict() == monitor.to_dict()
    assert again.thresholds == Thresholds(patience=2) and again.every == 2
    assert again.warnings == monitor.warnings and again.findings == monitor.findings
    assert again.table() == monitor.table()
    for key in FIELDS:
        np.testing.assert_array_equal(again.series(key), monitor.series(key))


def test_non_finite_values_survive_the_round_trip():
    monitor = GradientMonitor.from_dict({
        "format": "layerwise-diagnostics", "version": 1, "every": 1, "thresholds": {}, "epoch_losses": [],
        "layers": [{"units": 2, "activation": "relu"}], "findings": [],
        "records": [{"step": 0, "epoch": 0, "batch": 0, "loss": "inf",
                     **{key: [None] for key in FIELDS}, "grad_norm_W": ["nan"], "weight_norm": ["-inf"]}],
    })
    assert math.isinf(monitor.records[0]["loss"]) and math.isnan(monitor.records[0]["grad_norm_W"][0])
    assert monitor.to_dict()["records"][0]["weight_norm"] == ["-inf"]


@pytest.mark.parametrize("data, match", [
    ([], "expected layerwise diagnostics data"),
    ({"format": "something else"}, "expected layerwise diagnostics data"),
    ({"format": "layerwise-diagnostics", "version": 99}, "version 99 is not supported"),
    ({"format": "layerwise-diagnostics", "version": 1, "every": 1}, "incomplete or malformed"),
    ({"format": "layerwise-diagnostics", "version": 1, "every": 1, "thresholds": {}, "findings": [],
      "layers": [{"units": 2, "activation": "relu"}], "epoch_losses": [], "records": [{"step": 0, "loss": 1.0}]},
     "does not hold 1 value"),
    ({"format": "layerwise-diagnostics", "version": 1, "every": 1, "thresholds": {"dead": 2, "colour": 1},
      "layers": [], "findings": [], "epoch_losses": [], "records": []}, "unknown threshold"),
])
def test_from_dict_rejects_bad_data(data, match):
    with pytest.raises((DataError, ConfigError), match=match):
        GradientMonitor.from_dict(data)


def test_plot_writes_a_decodable_png_of_the_expected_size(digits, tmp_path):
    from PIL import Image

    X, y = digits
    monitor = GradientMonitor(every=1, stream=None)
    net = net_of(lw.Dense(32, "relu"), lw.Dense(16, "tanh"), lw.Dense(10, "softmax"))
    train(net, X[:320], y[:320], monitor)
    for dpi, size in ((100, (900, 1000)), (50, (450, 500))):
        path = tmp_path / f"diagnostics_{dpi}.png"
        monitor.plot(path, dpi=dpi)
        with Image.open(path) as image:
            assert image.format == "PNG" and image.size == size
            pixels = np.asarray(image.convert("RGB"))
        assert pixels.std() > 0  # not a blank canvas
    with pytest.raises(DataError, match="nothing to plot"):
        GradientMonitor().plot(tmp_path / "empty.png")


# --------------------------------------------------------------- tensorboard
def read_tensorboard_scalars(folder) -> dict:
    """``{tag: [(step, value), ...]}`` from the TFRecord event files in ``folder``.

    A TFRecord file is a sequence of records: an 8-byte little-endian length,
    a 4-byte checksum of the length, the payload (a serialised ``Event``) and
    a 4-byte checksum of the payload.
    """
    from tensorboardX.proto import event_pb2

    scalars = {}
    files = sorted(folder.glob("events.out.tfevents.*"))
    assert files, f"no event file in {folder}"
    for path in files:
        data = path.read_bytes()
        offset = 0
        while offset < len(data):
            (length,) = struct.unpack_from("<Q", data, offset)
            payload = data[offset + 12: offset + 12 + length]
            assert len(payload) == length, "truncated event record"
            offset += 12 + length + 4
            event = event_pb2.Event.FromString(payload)
            for value in event.summary.value:
                if value.HasField("simple_value"):
                    scalars.setdefault(value.tag, []).append((event.step, value.simple_value))
    return scalars


def test_tensorboard_event_files_hold_the_recorded_scalars(digits, tmp_path):
    X, y = digits
    monitor = GradientMonitor(every=5, tensorboard_dir=tmp_path, stream=None)
    net = net_of(lw.Dense(32, "relu"), lw.Dense(10, "softmax"))
    net.fit(X[:320], y[:320], epochs=2, diagnostics=monitor, verbose=0)
    scalars = read_tensorboard_scalars(tmp_path)
    for key in ("grad_norm_W", "update_ratio", "z_std", "dz_norm"):
        for l in (1, 2):
            expected = [(r["step"], r[key][l - 1]) for r in monitor.records]
            steps, values = zip(*scalars[f"{key}/layer_{l}"])
            assert list(steps) == [step for step, _ in expected]
            np.testing.assert_allclose(values, [value for _, value in expected], rtol=1e-6)
    assert "dead_fraction/layer_1" in scalars and "dead_fraction/layer_2" not in scalars
    assert [step for step, _ in scalars["loss/batch"]] == [r["step"] for r in monitor.records]
    assert len(scalars["loss/epoch"]) == 2


def test_missing_tensorboardx_is_a_clear_error(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "tensorboardX", None)
    with pytest.raises(ConfigError, match=r'pip install "layerwise\[tensorboard\]"'):
        GradientMonitor(tensorboard_dir=tmp_path)


# -------------------------------------------------------------- bad input
@pytest.mark.parametrize("kwargs, match", [
    ({"every": 0}, "every must be a positive integer, received 0"),
    ({"every": 2.5}, "every must be a positive integer"),
    ({"thresholds": {"dead": 0.5}}, "thresholds must be a Thresholds instance, received dict"),
    ({"tensorboard_dir": 3}, "tensorboard_dir must be a path, received int"),
])
def test_bad_arguments_are_config_errors(kwargs, match):
    with pytest.raises(ConfigError, match=match):
        GradientMonitor(**kwargs)


@pytest.mark.parametrize("kwargs, match", [
    ({"dead": -0.5}, r"Thresholds.dead must be a number in \(0, inf\), received -0.5"),
    ({"patience": 0}, "Thresholds.patience must be a positive integer, received 0"),
    ({"update_low": 1.0}, "update_low .* must be below update_high"),
])
def test_bad_thresholds_are_config_errors(kwargs, match):
    with pytest.raises(ConfigError, match=match):
        Thresholds(**kwargs)


def test_a_monitor_cannot_mix_records_of_different_networks(digits):
    X, y = digits
    monitor = GradientMonitor(stream=None)
    train(net_of(lw.Dense(16), lw.Dense(10, "softmax")), X[:64], y[:64], monitor)
    train(net_of(lw.Dense(16), lw.Dense(10, "softmax"), seed=1), X[:64], y[:64], monitor)  # same layers: continues
    assert [r["step"] for r in monitor.records] == [0]
    with pytest.raises(ConfigError, match=r"layers \[1 Dense 16 relu, 2 Dense 10 softmax\], received a network "
                                          r"with \[1 Dense 8 relu"):
        train(net_of(lw.Dense(8), lw.Dense(10, "softmax")), X[:64], y[:64], monitor)


def test_layers_are_numbered_as_the_network_numbers_them(digits):
    """A BatchNorm takes number 2, so the dead ReLU layer after it is layer 3, in findings, table and messages."""
    X, y = digits
    net = net_of(lw.Dense(16, "identity"), lw.BatchNorm(), lw.Dense(32, "relu"), lw.Dropout(0.1),
                 lw.Dense(10, "softmax"))
    net.params["b3"][...] = -10  # BatchNorm's outputs are near 0: every unit of layer 3 is dead
    monitor = GradientMonitor(every=1, stream=None)
    train(net, X[:320], y[:320], monitor)
    assert [(layer["l"], layer["type"]) for layer in monitor.layers] == [(1, "Dense"), (3, "Dense"), (4, "Dense")]
    dead = [f for f in monitor.findings if f.kind == "dead_relu"]
    assert [f.layer for f in dead] == [3]
    assert dead[0].message.startswith("Dense layer 3: 100% of its 32 ReLU units are dead")
    rows = [line.split() for line in monitor.table().splitlines()[2:5]]
    assert [row[:3] for row in rows] == [["1", "identity", "16"], ["3", "relu", "32"], ["4", "softmax", "10"]]
    np.testing.assert_allclose(monitor.records[-1]["weight_norm"][1], np.linalg.norm(net.params["W3"]), rtol=1e-6)
