"""Say what happened: early-stopping summary, the best epoch in the history files and curves, 80-column
progress lines, regression losses in the target's units, and one epoch numbering in history.json and .csv."""

import csv
import io
import json
import re

import numpy as np
import pytest
from matplotlib.image import imread
from sklearn.datasets import load_diabetes
from sklearn.model_selection import train_test_split

import layerwise as lw
from layerwise import cli
from layerwise.cli.model import build_network
from layerwise.inspect import plots
from layerwise.preprocessing import Standardize
from layerwise.train.callbacks import ProgressBar, epoch_lines

LONG = {"loss": 1.234567e-5, "accuracy": 0.99123, "val_loss": 2.345678e-5, "val_accuracy": 0.98333,
        "lr": 1.23456e-5, "time": 0.5}


def test_an_epoch_line_fits_80_columns_and_keeps_the_validation_metrics():
    lines = epoch_lines(199, 200, LONG)
    assert all(len(line) <= 80 for line in lines)
    text = " ".join(lines)
    for part in ("epoch 200/200", "loss 1.235e-05", "acc 0.9912", "val_loss 2.346e-05", "val_acc 0.9833",
                 "lr 1.23e-05"):
        assert part in text
    assert "0.5" not in text  # the time per epoch stays in the history files
    assert epoch_lines(2, 20, {"loss": 0.5, "val_loss": 0.6, "lr": 0.001}) == [
        "epoch 3/20  loss 0.5  val_loss 0.6  lr 0.001"]


def test_the_learning_rate_is_shown_first_and_when_it_changes(rng):
    stream = io.StringIO()
    net = lw.Network([lw.Dense(3, "softmax")], input_dim=2, seed=0)
    X, y = rng.standard_normal((20, 2)), rng.integers(0, 3, 20)
    net.fit(X, y, epochs=4, optimizer=lw.SGD(lr=0.1), schedule=lw.get_schedule("step", step_size=2, gamma=0.5),
            verbose=0, callbacks=[ProgressBar(4, 1, stream=stream, live=False)])
    lines = stream.getvalue().splitlines()
    assert [line.split("  lr ")[-1] if "  lr " in line else None for line in lines] == ["0.1", None, "0.05", None]


def test_the_live_bar_fits_80_columns_without_a_rate(rng):
    stream = io.StringIO()
    net = lw.Network([lw.Dense(4, "relu"), lw.Dense(3, "softmax")], input_dim=5, seed=0)
    X, y = rng.standard_normal((200, 5)), rng.integers(0, 3, 200)
    net.fit(X, y, epochs=2, batch_size=4, validation_split=0.2, verbose=0,
            callbacks=[ProgressBar(2, 40, stream=stream, live=True)])
    segments = [part for part in re.split(r"[\r\n]", stream.getvalue()) if part.strip()]
    assert segments and all(len(part.rstrip()) <= 80 for part in segments)
    assert not any("it/s" in part or "s/it" in part for part in segments)
    assert any("val_loss" in part for part in segments)


@pytest.fixture(scope="module")
def stopped_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("stop") / "run"
    stderr = io.StringIO()
    import contextlib

    with contextlib.redirect_stderr(stderr):
        assert cli.main(["train", "--data", "iris", "--hidden", "8", "--epochs", "30", "--early-stopping",
                         "--patience", "2", "--min-delta", "100", "--out", str(out)]) == 0
    return out, stderr.getvalue()


def test_early_stopping_says_where_it_stopped_and_which_epoch_was_best(stopped_run):
    out, err = stopped_run
    history = json.loads((out / "history.json").read_text())
    expected = f"stopped at epoch 4; best epoch 1 (val_loss {history['val_loss'][0]:.4g}); weights restored"
    assert expected in err
    assert history["best_epoch"] == 1


def test_history_json_and_csv_number_epochs_alike_and_mark_the_best(stopped_run):
    out, _ = stopped_run
    history = json.loads((out / "history.json").read_text())
    with open(out / "history.csv", newline="") as stream:
        rows = list(csv.DictReader(stream))
    assert [int(row["epoch"]) for row in rows] == history["epoch"] == [1, 2, 3, 4]
    assert [row["best"] for row in rows] == ["1", "0", "0", "0"]
    assert [float(row["val_loss"]) for row in rows] == pytest.approx(history["val_loss"], rel=1e-7)


def test_curves_mark_the_best_epoch(tmp_path):
    history = {"epoch": [0, 1, 2, 3], "loss": [1.2, 0.8, 0.5, 0.4], "val_loss": [1.3, 0.9, 0.7, 0.75]}
    plots.training_curves(history, tmp_path / "plain.png")
    plots.training_curves(history, tmp_path / "marked.png", best_epoch=2)
    assert not np.array_equal(imread(tmp_path / "plain.png"), imread(tmp_path / "marked.png"))


def test_regression_losses_are_reported_in_the_targets_units(tmp_path):
    out = tmp_path / "diabetes"
    assert cli.main(["train", "--data", "diabetes", "--hidden", "8", "--epochs", "3", "--val-split", "0.2",
                     "--dtype", "float64", "--out", str(out), "--quiet"]) == 0
    history = json.loads((out / "history.json").read_text())
    X, y = load_diabetes(return_X_y=True)
    train, _ = train_test_split(np.arange(len(y)), test_size=0.25, random_state=0)
    train = np.sort(train)
    net = build_network((8,), "relu", "identity", 1, "mse", 10, 0, "float64")
    standardised = net.fit(Standardize.fit(X[train]).transform(X[train]), (y[train] - y[train].mean()) / y[train].std(),
                           epochs=3, validation_split=0.2, verbose=0)
    assert history["val_loss"] == pytest.approx(np.multiply(standardised["val_loss"], y[train].var()), rel=1e-9)
    assert history["loss"] == pytest.approx(np.multiply(standardised["loss"], y[train].var()), rel=1e-9)
