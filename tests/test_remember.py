"""Remember what you know: resume with the run's own options, absolute data paths, evaluate's default split
and its predicted-versus-true figure for regression."""

import json
import os

import numpy as np
import pytest
from matplotlib.image import imread

import layerwise as lw
from layerwise import cli

WINE = ["--data", "wine", "--hidden", "8", "--no-early-stopping", "--seed", "2"]


def call(capsys, *args):
    try:
        status = cli.main([str(arg) for arg in args])
    except SystemExit as exit_info:
        status = exit_info.code
    out, err = capsys.readouterr()
    return status, out, err


@pytest.fixture(scope="module")
def wine_runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("wine")
    assert cli.main(["train", *WINE, "--epochs", "4", "--out", str(root / "straight"), "--quiet"]) == 0
    assert cli.main(["train", *WINE, "--epochs", "2", "--out", str(root / "first"), "--quiet"]) == 0
    return root


def test_resume_continues_with_the_runs_own_data_and_options(wine_runs, tmp_path, capsys):
    status, _, err = call(capsys, "train", "--epochs", "4", "--resume", wine_runs / "first" / "checkpoint.safetensors",
                          "--out", tmp_path / "resumed")  # the note comes once the checkpoint is restored
    assert status == 0, err
    assert "with the run's own options (data wine" in err and "overriding: epochs 4 (was 2)" in err
    straight = lw.load(wine_runs / "straight" / "model.safetensors")
    np.testing.assert_array_equal(lw.load(tmp_path / "resumed" / "model.safetensors").theta, straight.theta)


@pytest.mark.parametrize("option,message", [
    (["--lr", "0.5"], "--lr cannot change when resuming: the optimizer continues from the checkpoint's state and "
                      "schedule (the run used adam's default rate)"),
    (["--hidden", "3"], "--hidden cannot change when resuming: the run used 8, received 3"),
    (["--data", "iris"], "--data cannot change when resuming: the run used wine"),
    (["--epochs", "1"], "has 2 epochs done, more than the 1 asked for in all"),
])
def test_resume_refuses_what_it_cannot_honour(wine_runs, tmp_path, capsys, option, message):
    status, _, err = call(capsys, "train", "--resume", wine_runs / "first" / "checkpoint.safetensors", *option,
                          "--out", tmp_path / "x", "--quiet")
    assert status == 2 and message in err


def test_a_data_file_is_recorded_by_its_absolute_path(tmp_path, capsys, monkeypatch):
    from sklearn.datasets import load_iris

    X, y = load_iris(return_X_y=True)
    np.savetxt(tmp_path / "flowers.csv", np.column_stack([X, y]), delimiter=",", header="a,b,c,d,kind", comments="")
    monkeypatch.chdir(tmp_path)
    assert call(capsys, "train", "--data", "flowers.csv", "--epochs", "2", "--out", "run", "--quiet")[0] == 0
    source = lw.io.model_file.read(tmp_path / "run" / "model.safetensors").metadata["cli"]["data"]["source"]
    assert source == os.path.join(str(tmp_path), "flowers.csv")
    assert json.loads((tmp_path / "run" / "run.json").read_text())["options"]["data"] == source


@pytest.fixture(scope="module")
def diabetes_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("diabetes") / "run"
    assert cli.main(["train", "--data", "diabetes", "--hidden", "8", "--epochs", "3", "--out", str(out),
                     "--quiet"]) == 0
    return out


def test_evaluate_defaults_to_the_held_out_test_split_and_says_so(diabetes_run, capsys):
    status, out, _ = call(capsys, "evaluate", diabetes_run / "model.safetensors", "--no-plot", "--json")
    metrics = json.loads(out)
    assert status == 0 and metrics["split"] == "test" and metrics["examples"] == 111  # ceil(0.25 * 442)
    recorded = lw.io.model_file.read(diabetes_run / "model.safetensors").metadata["cli"]["test_metrics"]
    assert metrics["r2"] == pytest.approx(recorded["r2"])
    status, out, _ = call(capsys, "evaluate", diabetes_run / "model.safetensors", "--no-plot", "--split", "all")
    assert status == 0 and out.startswith("diabetes: ") and "on 442 examples" in out


def test_evaluate_plot_of_a_regression_is_predicted_versus_true(diabetes_run, tmp_path, capsys):
    status, out, _ = call(capsys, "evaluate", diabetes_run / "model.safetensors", "--plot", tmp_path / "p.png")
    assert status == 0 and f"predicted versus true: {tmp_path / 'p.png'}" in out
    image = imread(tmp_path / "p.png")
    assert image.shape == (400, 450, 4) and float(np.mean(image[..., :3].min(axis=-1) < 0.95)) > 0.01
