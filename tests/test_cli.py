"""The ``layerwise`` command, end to end.

Most tests call :func:`layerwise.cli.main` in-process (fast); the default
run, the bad-input table and a few others run the installed command in
subprocesses. Results are checked against references computed here with
scikit-learn, onnxruntime and NumPy.
"""

import io
import json
import os
import re
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from matplotlib.image import imread
from sklearn import datasets, metrics
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

import layerwise as lw
from layerwise import cli
from layerwise.cli.config import TrainOptions, read_config_file, resolve_train_options
from layerwise.io import model_file as lw_io

SCRIPT = shutil.which("layerwise", path=os.path.dirname(sys.executable)) or shutil.which("layerwise")
COMMAND = [SCRIPT] if SCRIPT else [sys.executable, "-m", "layerwise"]
ENV = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def run(*args, cwd, env=None, stdin=None):
    """Run the installed command."""
    return subprocess.run([*COMMAND, *map(str, args)], cwd=cwd, env={**ENV, **(env or {})}, input=stdin,
                          capture_output=True, text=True, timeout=300)


def call(capsys, *args):
    """Run ``main`` in-process; return (status, stdout, stderr)."""
    try:
        status = cli.main([str(arg) for arg in args])
    except SystemExit as exit_info:  # argparse's own exit, as the installed command would
        status = exit_info.code
    out, err = capsys.readouterr()
    return status, out, err


def iris_split(seed=0, test_size=0.25):
    X, y = datasets.load_iris(return_X_y=True)
    return train_test_split(X, y, test_size=test_size, random_state=seed, stratify=y)


@pytest.fixture(scope="module")
def iris_run(tmp_path_factory):
    """A small iris model trained by the command, shared by the tests that only read it."""
    out = tmp_path_factory.mktemp("iris") / "run"
    assert cli.main(["train", "--data", "iris", "--hidden", "16", "--epochs", "40", "--batch-size", "16",
                     "--no-early-stopping", "--out", str(out), "--quiet"]) == 0
    return out


@pytest.fixture(scope="module")
def animals(tmp_path_factory):
    """A CSV data set with string class labels, its feature-only CSV and a model trained on it."""
    folder = tmp_path_factory.mktemp("animals")
    rng = np.random.default_rng(0)
    X = rng.normal(size=(120, 3))
    labels = np.array(["cat", "dog", "emu"])[(X[:, 0] > 0).astype(int) + (X[:, 1] > 0.5)]
    rows = ["a,b,c,kind"] + [f"{x[0]:.6f},{x[1]:.6f},{x[2]:.6f},{label}" for x, label in zip(X, labels)]
    (folder / "animals.csv").write_text("\n".join(rows) + "\n")
    (folder / "features.csv").write_text("\n".join(["a,b,c"] + [row.rsplit(",", 1)[0] for row in rows[1:]]) + "\n")
    assert cli.main(["train", "--data", str(folder / "animals.csv"), "--target", "kind", "--hidden", "16",
                     "--epochs", "100", "--lr", "0.01", "--out", str(folder / "run"), "--quiet"]) == 0
    return folder


@pytest.fixture(scope="module")
def diabetes_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("diabetes") / "run"
    assert cli.main(["train", "--data", "diabetes", "--hidden", "32", "--epochs", "30", "--out", str(out),
                     "--quiet"]) == 0
    return out


# ---------------------------------------------------------------- train
def test_bare_train_command_reaches_97_percent_on_digits_and_writes_a_run(tmp_path):
    result = run("train", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    accuracy = float(re.search(r"test accuracy ([0-9.]+) on 450 examples", result.stdout).group(1))
    assert accuracy >= 0.97
    stopped = re.search(r"stopped at epoch (\d+); best epoch (\d+) \(val_loss [0-9.]+\); weights restored",
                        result.stderr)
    assert stopped, result.stderr
    (run_dir,) = (tmp_path / "runs").iterdir()
    assert {p.name for p in run_dir.iterdir()} >= {"model.safetensors", "checkpoint.safetensors", "history.csv",
                                                   "history.json", "curves.png"}
    # the printed accuracy is the real one: the same stratified 75/25 split, seed 0, by scikit-learn
    X, y = datasets.load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, random_state=0, stratify=y)
    net = lw.load(run_dir / "model.safetensors")
    predicted = net.predict(X_test)  # the saved scaler applies to the raw rows
    AL, _ = net.forward(StandardScaler().fit(X_train).transform(X_test))  # forward takes the network's inputs
    np.testing.assert_array_equal(predicted, AL.argmax(axis=1))
    assert metrics.accuracy_score(y_test, predicted) == pytest.approx(accuracy, abs=5e-5)
    history = json.loads((run_dir / "history.json").read_text())
    assert len(history["loss"]) == int(stopped.group(1)) and history["best_epoch"] == int(stopped.group(2))
    assert history["loss"][-1] < history["loss"][0]
    assert imread(run_dir / "curves.png").shape == (400, 1000, 4)


def test_history_csv_matches_history_json(iris_run):
    history = json.loads((iris_run / "history.json").read_text())
    lines = (iris_run / "history.csv").read_text().splitlines()
    assert lines[0].split(",") == ["epoch", "loss", "accuracy", "lr", "time", "best"]
    assert len(lines) == 41
    last = [float(v) for v in lines[-1].split(",")]
    assert last[0] == 40 and last[1] == pytest.approx(history["loss"][-1], rel=1e-6)


def test_config_file_is_read_and_the_command_line_overrides_it(tmp_path, capsys):
    config = tmp_path / "run.toml"
    config.write_text('data = "iris"\nhidden = [8, 4]\nepochs = 2\nbatch-size = 50\nstandardize = false\n'
                      'val_split = 0.2\n')
    status, out, _ = call(capsys, "train", "--config", config, "--epochs", "3", "--out", tmp_path / "run",
                          "--quiet")
    assert status == 0 and out.startswith("test accuracy")
    saved = lw_io.read(tmp_path / "run" / "model.safetensors")
    assert [layer.units for layer in saved.network.dense] == [8, 4, 3]
    assert "scaler.mean" not in saved.tensors
    history = json.loads((tmp_path / "run" / "history.json").read_text())
    assert len(history["loss"]) == 3 and "val_loss" in history
    assert saved.metadata["cli"]["options"]["batch_size"] == 50


def test_config_values_are_checked_like_the_command_line(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text('hidden = "32,16"\nearly-stopping = true\nlr = 0.01\ntarget = 2\n')
    assert read_config_file(path) == {"hidden": (32, 16), "early_stopping": True, "lr": 0.01, "target": "2"}
    options = resolve_train_options({"lr": 0.5, "epochs": None}, path)
    assert options.lr == 0.5 and options.epochs == TrainOptions().epochs and options.hidden == (32, 16)
    for text, message in [("epochs = 0", "positive integer"), ("early_stopping = 1", "true or false"),
                          ("optimizer = 'adamx'", "expected one of"), ("epoch = 3", "unknown option 'epoch'"),
                          ("epochs = ", "not valid TOML"), ("[train]\nepochs = 3", "unknown option 'train'")]:
        path.write_text(text + "\n")
        with pytest.raises(lw.ConfigError, match=re.escape(message)):
            read_config_file(path)


def test_resume_from_a_checkpoint_continues_bit_identically(tmp_path, capsys):
    common = ["train", "--data", "iris", "--hidden", "8", "--quiet", "--seed", "3"]
    assert call(capsys, *common, "--epochs", "4", "--out", tmp_path / "straight")[0] == 0
    assert call(capsys, *common, "--epochs", "2", "--out", tmp_path / "first")[0] == 0
    assert call(capsys, *common, "--epochs", "4", "--resume", tmp_path / "first" / "checkpoint.safetensors",
                "--out", tmp_path / "resumed")[0] == 0
    straight = lw.load(tmp_path / "straight" / "model.safetensors")
    resumed = lw.load(tmp_path / "resumed" / "model.safetensors")
    np.testing.assert_array_equal(straight.theta, resumed.theta)
    assert len(json.loads((tmp_path / "resumed" / "history.json").read_text())["loss"]) == 4


def test_early_stopping_dropout_schedule_and_threads(tmp_path, capsys):
    status, out, _ = call(capsys, "train", "--data", "wine", "--hidden", "16", "--dropout", "0.2", "--epochs", "200",
                          "--early-stopping", "--patience", "2", "--schedule", "cosine", "--optimizer", "adamw",
                          "--lr", "0.01", "--threads", "1", "--dtype", "float64", "--out", tmp_path, "--quiet")
    assert status == 0
    history = json.loads((tmp_path / "history.json").read_text())
    assert "val_loss" in history and len(history["loss"]) < 200
    net = lw.load(tmp_path / "model.safetensors")
    assert [type(layer).__name__ for layer in net.layers] == ["Dense", "Dropout", "Dense"]
    assert net.dtype == np.float64
    assert float(re.search(r"accuracy ([0-9.]+)", out).group(1)) > 0.85


def test_binary_cross_entropy_uses_one_sigmoid_unit_and_keeps_the_labels(tmp_path, capsys):
    assert call(capsys, "train", "--data", "breast_cancer", "--loss", "binary_cross_entropy", "--epochs", "3",
                "--hidden", "8", "--out", tmp_path, "--quiet")[0] == 0
    X, _ = datasets.load_breast_cancer(return_X_y=True)
    np.save(tmp_path / "x.npy", X[:20])
    status, out, _ = call(capsys, "predict", tmp_path / "model.safetensors", tmp_path / "x.npy", "--proba")
    lines = out.splitlines()
    assert status == 0 and lines[0] == "prediction,proba_malignant,proba_benign"
    for line in lines[1:]:
        label, p0, p1 = line.split(",")
        assert float(p0) + float(p1) == pytest.approx(1, abs=1e-5)
        assert label == ("benign" if float(p1) > 0.5 else "malignant")


# ---------------------------------------------------------------- evaluate
def test_evaluate_test_split_reproduces_the_training_split(iris_run, capsys):
    status, out, _ = call(capsys, "evaluate", iris_run / "model.safetensors", "--split", "test", "--json")
    assert status == 0
    report = json.loads(out)
    X_train, X_test, _, y_test = iris_split()
    net = lw.load(iris_run / "model.safetensors")
    names = list(datasets.load_iris().target_names)
    predicted = np.array([names.index(label) for label in net.predict(X_test)])
    np.testing.assert_array_equal(predicted, net.forward(StandardScaler().fit(X_train).transform(X_test))[0].argmax(1))
    assert report["examples"] == 38
    assert report["accuracy"] == pytest.approx(metrics.accuracy_score(y_test, predicted))
    precision, recall, f1, support = metrics.precision_recall_fscore_support(y_test, predicted, zero_division=0)
    assert [row["class"] for row in report["per_class"]] == names
    np.testing.assert_allclose([row["precision"] for row in report["per_class"]], precision)
    np.testing.assert_allclose([row["recall"] for row in report["per_class"]], recall)
    np.testing.assert_allclose([row["f1"] for row in report["per_class"]], f1)
    assert report["confusion_matrix"] == metrics.confusion_matrix(y_test, predicted).tolist()
    assert imread(report["confusion_png"]).shape == (500, 600, 4)


def test_evaluate_text_report_on_all_the_data(iris_run, tmp_path, capsys):
    status, out, _ = call(capsys, "evaluate", iris_run / "model.safetensors", "--data", "iris", "--plot",
                          tmp_path / "cm.png")
    assert status == 0
    assert re.match(r"iris: accuracy 0\.\d{4} on 150 examples", out)
    assert re.search(r"^virginica\s+[0-9.]+\s+[0-9.]+\s+[0-9.]+\s+50$", out, re.M)
    assert "macro avg" in out and (tmp_path / "cm.png").exists()


def test_regression_metrics_and_predictions_on_the_targets_scale(diabetes_run, tmp_path, capsys):
    status, out, _ = call(capsys, "evaluate", diabetes_run / "model.safetensors", "--split", "test", "--json",
                          "--no-plot")
    report = json.loads(out)
    X, y = datasets.load_diabetes(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, random_state=0)
    saved = lw_io.read(diabetes_run / "model.safetensors")
    predicted = saved.network.forward(StandardScaler().fit(X_train).transform(X_test))[0].ravel()
    predicted = predicted * y_train.std() + y_train.mean()
    np.testing.assert_allclose(saved.network.predict(X_test).ravel(), predicted, rtol=1e-5)
    assert report["task"] == "regression" and report["examples"] == len(y_test)
    assert report["mse"] == pytest.approx(metrics.mean_squared_error(y_test, predicted), rel=1e-5)
    assert report["mae"] == pytest.approx(metrics.mean_absolute_error(y_test, predicted), rel=1e-5)
    assert report["r2"] == pytest.approx(metrics.r2_score(y_test, predicted), rel=1e-4)
    assert report["r2"] > 0.2
    np.save(tmp_path / "x.npy", X_test)
    status, out, _ = call(capsys, "predict", diabetes_run / "model.safetensors", tmp_path / "x.npy")
    values = np.loadtxt(io.StringIO(out), delimiter=",", skiprows=1)
    np.testing.assert_allclose(values, predicted, rtol=1e-5)


# ---------------------------------------------------------------- predict
def test_predict_returns_the_string_labels_from_csv_npz_npy_and_stdin(animals, tmp_path, capsys, monkeypatch):
    model = animals / "run" / "model.safetensors"
    features = np.loadtxt(animals / "features.csv", delimiter=",", skiprows=1)
    np.save(tmp_path / "f.npy", features)
    np.savez(tmp_path / "f.npz", X=features)
    outputs = []
    for source in (animals / "features.csv", tmp_path / "f.npy", tmp_path / "f.npz"):
        status, out, _ = call(capsys, "predict", model, source)
        assert status == 0
        outputs.append(out)
    monkeypatch.setattr(sys, "stdin", io.StringIO((animals / "features.csv").read_text()))
    outputs.append(call(capsys, "predict", model, "-")[1])
    assert outputs[0] == outputs[1] == outputs[2] == outputs[3]
    labels = outputs[0].splitlines()
    assert labels[0] == "prediction" and set(labels[1:]) == {"cat", "dog", "emu"} and len(labels) == 121
    truth = [row.rsplit(",", 1)[1] for row in (animals / "animals.csv").read_text().splitlines()[1:]]
    assert np.mean(np.array(labels[1:]) == np.array(truth)) > 0.8


def test_predict_probabilities_to_a_file(animals, tmp_path, capsys):
    out_file = tmp_path / "p.csv"
    status, out, _ = call(capsys, "predict", animals / "run" / "model.safetensors", animals / "features.csv",
                          "--proba", "--output", out_file)
    assert status == 0 and out == ""
    lines = out_file.read_text().splitlines()
    assert lines[0] == "prediction,proba_cat,proba_dog,proba_emu"
    for line in lines[1:]:
        label, *p = line.split(",")
        p = np.array(p, dtype=float)
        assert p.sum() == pytest.approx(1, abs=1e-5) and label == ["cat", "dog", "emu"][int(p.argmax())]


def test_stdin_through_the_installed_command(animals, tmp_path):
    result = run("predict", animals / "run" / "model.safetensors", "-", cwd=tmp_path,
                 stdin=(animals / "features.csv").read_text())
    assert result.returncode == 0, result.stderr
    assert set(result.stdout.splitlines()[1:]) <= {"cat", "dog", "emu"}


# ---------------------------------------------------------------- info, export
def test_info_table_and_json(iris_run, capsys):
    status, out, _ = call(capsys, "info", iris_run / "model.safetensors")
    assert status == 0
    assert re.search(r"^1\s+Dense\s+\(16,\)\s+\(16, 4\)\s+\(16,\)\s+relu\s+80$", out, re.M)
    assert re.search(r"^2\s+Dense\s+\(3,\)\s+\(3, 16\)\s+\(3,\)\s+softmax\s+51$", out, re.M)
    assert "total parameters: 131" in out and "file format version: 2" in out
    assert "classes: setosa, versicolor, virginica" in out
    description = json.loads(call(capsys, "info", iris_run / "model.safetensors", "--json")[1])
    assert description["parameters"] == 131 and description["layers"][0]["W"] == [16, 4]



def test_info_shows_what_loading_the_model_describes(iris_run, diabetes_run):
    from layerwise.cli.info import model_description, recorded_description
    from layerwise.cli.model import load_model

    for run_dir in (iris_run, diabetes_run):
        recorded = recorded_description(run_dir / "model.safetensors")
        assert recorded is not None and recorded == model_description(load_model(run_dir / "model.safetensors"))
    assert recorded["standardized_targets"] and recorded["classes"] is None

def test_onnx_export_folds_the_scaler_and_matches_predict(iris_run, diabetes_run, tmp_path, capsys):
    import onnxruntime

    for run_dir, X in ((iris_run, datasets.load_iris().data), (diabetes_run, datasets.load_diabetes().data)):
        np.save(tmp_path / "x.npy", X)
        assert call(capsys, "export", run_dir / "model.safetensors", "--onnx", tmp_path / "m.onnx")[0] == 0
        session = onnxruntime.InferenceSession(str(tmp_path / "m.onnx"), providers=["CPUExecutionProvider"])
        onnx_out = session.run(None, {"X": X.astype(np.float32)})[0]
        classifier = run_dir == iris_run
        option = ["--proba"] if classifier else []
        out = call(capsys, "predict", run_dir / "model.safetensors", tmp_path / "x.npy", *option)[1]
        columns = slice(1, None) if classifier else slice(0, None)
        expected = np.array([line.split(",")[columns] for line in out.splitlines()[1:]], dtype=float)
        np.testing.assert_allclose(onnx_out.reshape(expected.shape), expected, rtol=1e-4, atol=1e-5)


# ---------------------------------------------------------------- gradcheck, explain
def test_gradcheck_passes_and_fails_with_exit_status(capsys):
    status, out, _ = call(capsys, "gradcheck", "--hidden", "6,5", "--activation", "tanh", "--loss", "mse")
    assert status == 0 and re.search(r"^W1\s+\d+\s+0\s+\d\.\d+e-\d+$", out, re.M) and "OK: max relative" in out
    status, out, _ = call(capsys, "gradcheck", "--tolerance", "1e-300")
    assert status == 1 and "FAILED" in out


def test_explain_prints_live_shapes_and_gradient_norms(capsys):
    status, out, _ = call(capsys, "explain", "--hidden", "64", "--inputs", "20", "--outputs", "10", "--batch", "32",
                          "--run")
    assert status == 0
    assert "dW2 (10, 64) = (1/m) dZ2^T (10, 32) . A1 (32, 64)" in out
    assert "Z1 (32, 64) = A0 (32, 20) . W1^T (20, 64) + b1 (64,)" in out
    assert "softmax + cross_entropy is a shortcut pair" in out
    norms = re.findall(r"^\s+([12])\s+(\S+)\s+(\S+)\s+(\S+)\s+(\S+)$", out, re.M)
    assert [row[0] for row in norms] == ["2", "1"] and all(float(v) > 0 for row in norms for v in row[1:])


def test_explain_a_saved_model_on_real_data(iris_run, capsys):
    status, out, _ = call(capsys, "explain", iris_run / "model.safetensors", "--batch", "16", "--run", "--data",
                          "iris")
    assert status == 0 and "dW1 (16, 4) = (1/m) dZ1^T (16, 16) . A0 (16, 4)" in out and "J = " in out


# ---------------------------------------------------------------- diagnose
def test_diagnose_writes_and_rereads_the_diagnostics(tmp_path, capsys):
    status, out, _ = call(capsys, "train", "--data", "iris", "--hidden", "8,8", "--epochs", "3", "--diagnose",
                          "--no-early-stopping", "--tensorboard", tmp_path / "tb", "--out", tmp_path / "run", "--quiet")
    assert status == 0 and "gradient diagnostics:" in out
    document = json.loads((tmp_path / "run" / "diagnostics.json").read_text())
    assert len(document["records"]) >= 10 and len(document["layers"]) == 3
    assert imread(tmp_path / "run" / "diagnostics.png").shape[2] == 4
    assert any(name.startswith("events.out.tfevents") for name in os.listdir(tmp_path / "tb"))
    (tmp_path / "run" / "diagnostics.png").unlink()
    status, out, _ = call(capsys, "diagnose", tmp_path / "run")
    assert status == 0 and re.search(r"^\s+3\s+softmax\s+3\s", out, re.M)
    assert (tmp_path / "run" / "diagnostics.png").exists()


def test_diagnose_a_fresh_short_training(tmp_path, capsys):
    status, out, _ = call(capsys, "diagnose", "--data", "iris", "--hidden", "8", "--out", tmp_path, "--quiet")
    assert status == 0 and "gradient diagnostics:" in out
    assert len(json.loads((tmp_path / "history.json").read_text())["loss"]) == 5


# ---------------------------------------------------------------- help
def test_help_of_every_command_has_an_example_and_version(tmp_path):
    commands = ["train", "evaluate", "predict", "info", "gradcheck", "explain", "export", "diagnose"]
    for command in commands:
        with pytest.raises(SystemExit) as exit_info:
            cli.main([command, "--help"])
        assert exit_info.value.code == 0
    result = run("--version", cwd=tmp_path)
    assert result.returncode == 0 and result.stdout.strip() == f"layerwise {lw.__version__}"
    bare = run(cwd=tmp_path)
    assert bare.returncode == 0 and all(command in bare.stdout for command in commands)


@pytest.mark.parametrize("command", ["train", "evaluate", "predict", "info", "gradcheck", "explain", "export",
                                     "diagnose"])
def test_help_text_shows_examples(command, capsys):
    with pytest.raises(SystemExit):
        cli.main([command, "--help"])
    out = capsys.readouterr().out
    assert f"usage: layerwise {command}" in out and f"examples:\n  layerwise {command}" in out


# ---------------------------------------------------------------- bad input
@pytest.fixture(scope="module")
def bad_files(tmp_path_factory, iris_run):
    folder = tmp_path_factory.mktemp("bad")
    model = iris_run / "model.safetensors"
    data = model.read_bytes()
    (folder / "truncated.safetensors").write_bytes(data[: len(data) // 2])
    (folder / "junk.safetensors").write_bytes(bytes(range(256)) * 4)
    (folder / "empty.safetensors").write_bytes(b"")
    (folder / "inf.csv").write_text("1,2,3\n4,inf,6\n7,8,9\n1,2,3\n")
    (folder / "two.csv").write_text("1,2\n3,4\n")
    (folder / "text.csv").write_text("a,b,c,d\n1,x,3,4\n")
    (folder / "notes.txt").write_text("hello\n")
    (folder / "unknown.toml").write_text("epoch = 3\n")
    (folder / "broken.toml").write_text("epochs = [\n")
    (folder / "a_file").write_text("")
    (folder / "mnist_cache").mkdir()
    np.save(folder / "nan.npy", np.array([[1.0, np.nan, 2.0, 3.0]]))
    X, y = datasets.load_iris(return_X_y=True)
    np.save(folder / "iris.npy", X[:5])
    rows = [",".join(map(str, [*x, label])) for x, label in zip(X, y)]
    (folder / "other_iris.csv").write_text("\n".join(rows[:-1]) + "\n")
    (folder / "other_labels.csv").write_text("\n".join(row + "0" for row in rows) + "\n")
    return folder, model


def installed_bad_inputs(folder, model):
    """(arguments, environment) pairs run through the installed command: each must fail cleanly with status 2."""
    offline = {"LAYERWISE_DATA": str(folder / "mnist_cache"), "LAYERWISE_MNIST_URL": "http://127.0.0.1:9/"}
    cases = [
        ["nonsense"], ["train", "--bogus"], ["train", "--epochs", "0"], ["train", "--epochs", "ten"],
        ["train", "--hidden", "12,x"], ["train", "--activation", "swish2"], ["train", "--optimizer", "adamx"],
        ["train", "--loss", "hinge"], ["train", "--lr", "-0.1"], ["train", "--data", "missing.csv"],
        ["train", "--data", folder / "notes.txt"], ["train", "--data", folder / "inf.csv"],
        ["train", "--config", folder / "missing.toml"], ["train", "--config", folder / "unknown.toml"],
        ["train", "--config", folder / "broken.toml"], ["train", "--out", folder / "a_file" / "run"],
        ["train", "--resume", folder / "missing.safetensors"], (["train", "--data", "mnist"], offline),
        ["evaluate", folder / "missing.safetensors"], ["evaluate", folder / "junk.safetensors"],
        ["evaluate", folder / "truncated.safetensors"], ["evaluate", folder / "empty.safetensors"],
        ["predict", model], ["predict", model, folder / "inf.csv"], ["predict", model, folder / "two.csv"],
        ["predict", model, folder / "missing.csv"],
        ["predict", model, folder / "iris.npy", "--output", folder / "no_dir" / "out.csv"],
        ["info", folder / "notes.txt"], ["export", model, "--onnx", folder / "no_dir" / "m.onnx"],
        ["gradcheck", "--hidden", "0"], ["explain", model, "--hidden", "4"], ["diagnose", folder],
    ]
    return [case if isinstance(case, tuple) else (case, None) for case in cases]


def in_process_bad_inputs(folder, model):
    """More bad inputs, run in-process: the same error path without the cost of starting Python each time."""
    return [
        ["train", "--lr", "nan"], ["train", "--dropout", "1"], ["train", "--val-split", "1.5"],
        ["train", "--task", "ranking"], ["train", "--data", folder / "text.csv"],
        ["train", "--data", folder / "nan.npy"], ["train", "--out", folder / "a_file"],
        ["evaluate", model, "--split", "validation"], ["evaluate", folder / "inf.csv"], ["info", folder],
        ["predict", model, folder / "nan.npy"], ["export", model], ["gradcheck", "--batch", "-1"],
        ["explain", "--batch", "0"], ["explain", "--run", "--data", "iris"], ["diagnose", folder / "junk.safetensors"],
        ["train", "--data", "iris", "--target", "0"], ["train", "--data", "iris", "--loss", "mse"],
        ["train", "--data", "iris", "--loss", "binary_cross_entropy"],
        ["train", "--data", "diabetes", "--loss", "cross_entropy"],
        ["train", "--data", "iris", "--resume", model, "--out", folder / "resume_run"],
        ["train", "--data", "iris", "--test-split", "0.999"],
        ["evaluate", model, "--data", "digits"], ["evaluate", model, "--data", "wine", "--split", "test"],
        ["evaluate", model, "--data", folder / "other_iris.csv", "--split", "test"],
        ["evaluate", model, "--data", folder / "other_labels.csv"],
    ]


COMMANDS = ("train", "evaluate", "predict", "info", "gradcheck", "explain", "export", "diagnose")


def one_error_line(status: int, err: str, args) -> bool:
    """Status 2 and one line ``layerwise: error: ...`` ending, as argparse's errors do, with the hint to the
    ``--help`` of the command ``args`` ran (the program's own for an unknown command)."""
    command = f"layerwise {args[0]}" if args[0] in COMMANDS else "layerwise"
    lines = err.strip().splitlines()
    return (status == 2 and len(lines) == 1 and lines[0].startswith("layerwise: error: ")
            and lines[0].endswith(f" (see '{command} --help')"))


def test_bad_input_to_the_installed_command_gives_one_error_line_and_status_2(bad_files):
    folder, model = bad_files
    cases = installed_bad_inputs(folder, model)
    assert len(cases) >= 25
    with ThreadPoolExecutor(max_workers=3) as pool:
        results = list(pool.map(lambda case: run(*case[0], cwd=folder, env=case[1]), cases))
    failures = []
    for (args, _), result in zip(cases, results):
        if not one_error_line(result.returncode, result.stderr, args):
            failures.append(f"{' '.join(map(str, args))}: status {result.returncode}, stderr {result.stderr!r}")
    assert not failures, "\n".join(failures)
    mnist = results[[case[0] for case in cases].index(["train", "--data", "mnist"])]
    assert "could not download mnist" in mnist.stderr


def test_bad_input_found_in_the_data_gives_one_error_line_and_status_2(bad_files, capsys):
    folder, model = bad_files
    failures = []
    for args in in_process_bad_inputs(folder, model):
        status, out, err = call(capsys, *args)
        if not one_error_line(status, err, args):
            failures.append(f"{' '.join(map(str, args))}: status {status}, stderr {err!r}")
    assert not failures, "\n".join(failures)
    assert not (folder / "resume_run").exists()


def test_debug_shows_the_traceback(bad_files):
    folder, _ = bad_files
    result = run("evaluate", folder / "junk.safetensors", "--debug", cwd=folder)
    assert result.returncode == 2 and "Traceback" in result.stderr
    assert result.stderr.strip().splitlines()[-1].startswith("layerwise: error: ")
