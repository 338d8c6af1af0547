"""The options people reach for: optimizer and schedule settings on the command line, min_delta, fit and evaluate."""

import inspect

import numpy as np
import pytest
from sklearn import metrics

import layerwise as lw
from layerwise import cli
from layerwise.cli.model import build_network
from layerwise.data.datasets import load_dataset

PLAIN = ["--data", "iris", "--test-split", "0", "--no-standardize", "--hidden", "8", "--epochs", "3",
         "--dtype", "float64", "--seed", "0", "--no-early-stopping", "--quiet"]


def train(tmp_path, name, *options):
    out = tmp_path / name
    assert cli.main(["train", *PLAIN, "--out", str(out), *options]) == 0
    return lw.load(out / "model.safetensors"), out


def library_run(optimizer, schedule=None):
    data = load_dataset("iris")
    net = build_network((8,), "relu", "softmax", 3, "cross_entropy", 4, 0, "float64")
    history = net.fit(data.X, data.y, epochs=3, batch_size=32, optimizer=optimizer, schedule=schedule, verbose=0)
    return net, history


def test_sgd_momentum_nesterov_weight_decay_and_a_step_schedule_reach_the_optimizer(tmp_path):
    model, out = train(tmp_path, "sgd", "--optimizer", "sgd", "--momentum", "0.5", "--nesterov", "--weight-decay",
                       "0.01", "--schedule", "step", "--step-size", "1", "--gamma", "0.5")
    net, history = library_run(lw.SGD(lr=0.01, momentum=0.5, nesterov=True, weight_decay=0.01),
                               lw.get_schedule("step", step_size=1, gamma=0.5))
    np.testing.assert_array_equal(model.theta, net.theta)
    assert history["lr"] == pytest.approx([0.01, 0.005, 0.0025])
    plain, _ = library_run(lw.SGD(lr=0.01))
    assert not np.array_equal(plain.theta, net.theta)


def test_adam_betas_and_a_cosine_warmup_reach_the_optimizer(tmp_path):
    model, _ = train(tmp_path, "adam", "--beta1", "0.5", "--beta2", "0.9", "--schedule", "cosine", "--warmup", "1",
                     "--min-lr", "0.0001")
    net, _ = library_run(lw.Adam(lr=1e-3, betas=(0.5, 0.9)),
                         lw.get_schedule("cosine", warmup=1, min_lr=0.0001))
    np.testing.assert_array_equal(model.theta, net.theta)
    default, _ = library_run(lw.Adam(lr=1e-3), lw.get_schedule("cosine", warmup=1, min_lr=0.0001))
    assert not np.array_equal(default.theta, net.theta)


def test_the_options_come_from_a_config_file_too(tmp_path):
    config = tmp_path / "run.toml"
    config.write_text('optimizer = "sgd"\nmomentum = 0.5\nnesterov = true\nweight-decay = 0.01\n'
                      'schedule = "step"\nstep-size = 1\ngamma = 0.5\n')
    model, _ = train(tmp_path, "toml", "--config", str(config))
    net, _ = library_run(lw.SGD(lr=0.01, momentum=0.5, nesterov=True, weight_decay=0.01),
                         lw.get_schedule("step", step_size=1, gamma=0.5))
    np.testing.assert_array_equal(model.theta, net.theta)


@pytest.mark.parametrize("options,message", [
    (["--beta1", "0.8", "--optimizer", "sgd"], "--beta1 applies to the optimizer adam, adamw"),
    (["--momentum", "0.8"], "--momentum applies to the optimizer sgd"),
    (["--step-size", "3"], "--step-size applies to the schedule step; this run uses --schedule constant"),
])
def test_an_option_the_optimizer_or_schedule_does_not_take_is_refused(tmp_path, capsys, options, message):
    assert cli.main(["train", *PLAIN, "--out", str(tmp_path / "x"), *options]) == 2
    assert message in capsys.readouterr().err


def test_min_delta_decides_what_counts_as_an_improvement(tmp_path):
    import json

    epochs = {}
    for delta in ("0", "100"):
        _, out = train(tmp_path, f"delta{delta}", "--early-stopping", "--patience", "1", "--min-delta", delta,
                       "--epochs", "10")
        epochs[delta] = len(json.loads((out / "history.json").read_text())["epoch"])
    assert epochs == {"0": 10, "100": 3}  # after the first epoch none improves by 100: patience 1 allows one more


def test_fit_shows_its_parameters_to_help():
    parameters = inspect.signature(lw.Network.fit).parameters
    assert not any(p.kind == p.VAR_KEYWORD for p in parameters.values())
    from layerwise.train.loop import fit

    assert set(parameters) >= set(inspect.signature(fit).parameters) - {"net"}


def test_evaluate_gives_the_loss_and_scikit_learns_regression_metrics(rng):
    X, Y, w = rng.standard_normal((60, 4)), rng.standard_normal((60, 2)), rng.uniform(0.1, 2, 60)
    net = lw.Network([lw.Dense(5, "tanh"), lw.Dense(2)], loss="mse", input_dim=4, seed=0, dtype="float64", l2=0.5)
    P = net.predict(X)
    result = net.evaluate(X, Y, sample_weight=w)
    assert result["r2"] == pytest.approx(metrics.r2_score(Y, P, sample_weight=w))
    assert result["mse"] == pytest.approx(metrics.mean_squared_error(Y, P, sample_weight=w))
    assert result["mae"] == pytest.approx(metrics.mean_absolute_error(Y, P, sample_weight=w))
    assert result["loss"] == pytest.approx(np.average(0.5 * np.square(P - Y).sum(axis=1), weights=w))


def test_evaluate_gives_the_accuracy_of_a_classifier(rng):
    X, y = rng.standard_normal((40, 3)), rng.integers(0, 3, 40)
    net = lw.Network([lw.Dense(6, "relu"), lw.Dense(3, "softmax")], input_dim=3, seed=1, dtype="float64")
    result = net.evaluate(X, y)
    assert result["accuracy"] == pytest.approx(metrics.accuracy_score(y, net.predict(X)))
    P = net.predict_proba(X)
    assert result["loss"] == pytest.approx(metrics.log_loss(y, P, labels=[0, 1, 2]))


def test_unrecognised_arguments_point_at_the_sub_commands_help(capsys):
    with pytest.raises(SystemExit):
        cli.main(["info", "--jsn", "model.safetensors"])
    assert "(see 'layerwise info --help')" in capsys.readouterr().err


@pytest.mark.parametrize("command,shown", [("gradcheck", ["(default: 5,4)", "(default: relu)",
                                                          "(default: cross_entropy)", "(default: 1e-6)"]),
                                           ("explain", ["(default: 64,32)", "(default: relu)"])])
def test_gradcheck_and_explain_show_their_defaults(capsys, command, shown):
    with pytest.raises(SystemExit):
        cli.main([command, "--help"])
    text = " ".join(capsys.readouterr().out.split())
    for default in shown:
        assert default in text
