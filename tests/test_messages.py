"""Messages that tell the truth, failed writes that leave nothing behind, and evaluate's trust rule."""

import os
import resource
import shutil
import subprocess
import sys

import numpy as np
import pytest

import layerwise as lw
from layerwise import cli
from layerwise.errors import ConfigError, DataError, OutputError, TrainingDivergedError
from layerwise.inspect import plots

SCRIPT = shutil.which("layerwise", path=os.path.dirname(sys.executable)) or shutil.which("layerwise")
COMMAND = [SCRIPT] if SCRIPT else [sys.executable, "-m", "layerwise"]
ENV = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
FILE_LIMIT = 10_000  # bytes: the small model files fit, a PNG figure (20-40 kB) does not


def run(*args, cwd, stdin=None, file_limit=None):
    """The installed command; with ``file_limit``, no file it writes may grow past that many bytes (a full disk)."""
    def limit():
        resource.setrlimit(resource.RLIMIT_FSIZE, (file_limit, file_limit))

    return subprocess.run([*COMMAND, *map(str, args)], cwd=cwd, env=ENV, input=stdin, capture_output=True,
                          timeout=300, preexec_fn=limit if file_limit else None)


def error_lines(result):
    return result.stderr.decode().strip().splitlines()


def leftovers(folder):
    """Temporary files of atomic writes still lying around."""
    return [name for name in os.listdir(folder) if name.startswith(".")]


@pytest.fixture(scope="module")
def iris_model(tmp_path_factory):
    folder = tmp_path_factory.mktemp("iris")
    assert cli.main(["train", "--data", "iris", "--hidden", "4", "--epochs", "2", "--out", str(folder / "run"),
                     "--quiet"]) == 0
    return folder / "run" / "model.safetensors"


# ---------------------------------------------------------------- too large for float32
def test_finite_values_too_large_for_float32_are_named_as_such():
    X = np.array([[1.0, 2.0], [1e39, 3.0], [0.5, 1e40]])
    net = lw.Network([lw.Dense(1)], input_dim=2)
    with pytest.raises(DataError, match=r"X contains 2 value\(s\) too large for float32 .* index \(1, 0\) \(1e\+39\)"):
        net.fit(X, [1.0, 2.0, 3.0], epochs=1, verbose=0)
    with pytest.raises(DataError, match=r"Y contains 1 value\(s\) too large for float32"):
        net.fit(np.ones((3, 2)), [1.0, 1e39, 3.0], epochs=1, verbose=0)
    X[0, 0] = np.nan  # a NaN among them is reported as what it is
    with pytest.raises(DataError, match=r"X contains 1 NaN or infinite value\(s\); the first is at index \(0, 0\)"):
        net.fit(X, [1.0, 2.0, 3.0], epochs=1, verbose=0)
    X[0, 0] = 1.0
    wide = lw.Network([lw.Dense(1)], input_dim=2, dtype="float64")
    assert wide.check_X(X)[1, 0] == 1e39


def test_the_command_says_too_large_for_float32(tmp_path):
    (tmp_path / "big.csv").write_text("a,b,y\n" + "".join(f"{k},{1e39 if k == 3 else k},{k % 2}\n" for k in range(12)))
    result = run("train", "--data", "big.csv", "--no-standardize", "--out", "r", cwd=tmp_path)
    assert result.returncode == 2
    (line,) = error_lines(result)
    assert line.startswith("layerwise: error: ") and "too large for float32" in line and "NaN" not in line


# ---------------------------------------------------------------- divergence
def diverge(X, **kwargs):
    y = np.arange(len(X)) % 2
    net = lw.Network([lw.Dense(8, "relu"), lw.Dense(2, "softmax")], input_dim=X.shape[1], seed=0)
    with pytest.raises(TrainingDivergedError) as info:
        net.fit(X, y, epochs=30, verbose=0, **kwargs)
    return str(info.value)


def test_divergence_from_huge_inputs_does_not_blame_the_learning_rate():
    X = np.random.default_rng(0).standard_normal((40, 3)) * 1e30
    message = diverge(X)
    assert "the inputs reach 2.33e+30" in message and "standardise" in message
    assert "learning rate" not in message.replace("whatever the learning rate", "")


def test_divergence_from_a_large_learning_rate_suggests_a_lower_one():
    X = np.random.default_rng(0).standard_normal((40, 3))
    assert "try a lower learning rate (now 1e+08)" in diverge(X, optimizer="sgd", lr=1e8)


def test_infinite_or_overflowing_class_weights_are_refused_before_training():
    X, y = np.random.default_rng(0).standard_normal((40, 3)), np.arange(40) % 2
    net = lw.Network([lw.Dense(2, "softmax")], input_dim=3)
    with pytest.raises(ConfigError, match=r"class_weight for class 0 must be a number in \[0.0, inf\), received"):
        net.fit(X, y, class_weight={0: float("inf")}, verbose=0)
    with pytest.raises(ConfigError, match="class_weight for class 1 is 1e\\+39, too large for float32"):
        net.fit(X, y, class_weight={1: 1e39}, verbose=0)
    with pytest.raises(DataError, match="example weights .* sum to 6e\\+39, too large for float32; scale them down"):
        net.fit(X, y, class_weight={0: 3e38}, verbose=0)


# ---------------------------------------------------------------- standard input
def test_non_utf8_on_stdin_gets_the_message_a_file_gets(iris_model, tmp_path):
    data = b"5.1,3.5,1.4,0.2\n6.0,\xff\xfe,4.0,1.0\n"
    (tmp_path / "bad.csv").write_bytes(data)
    from_file = run("predict", iris_model, "bad.csv", cwd=tmp_path)
    from_stdin = run("predict", iris_model, "-", cwd=tmp_path, stdin=data)
    assert from_file.returncode == from_stdin.returncode == 2
    (file_line,), (stdin_line,) = error_lines(from_file), error_lines(from_stdin)
    assert "is not UTF-8 text" in file_line
    assert stdin_line.replace("<stdin>", "bad.csv") == file_line


# ---------------------------------------------------------------- failed writes
def test_a_failed_figure_write_names_the_path_and_leaves_no_file(tmp_path):
    blocker = tmp_path / "not_a_directory"
    blocker.write_text("a file where a directory should be")
    with pytest.raises(OutputError, match=f"cannot save to {blocker / 'curves.png'}: the directory {blocker} is not"):
        plots.training_curves({"epoch": [0, 1], "loss": [1.0, 0.5]}, blocker / "curves.png")
    assert blocker.read_text() == "a file where a directory should be"


def test_curves_png_on_a_full_disk_is_reported_and_not_left_empty(tmp_path):
    result = run("train", "--data", "iris", "--hidden", "4", "--epochs", "1", "--out", "run", "--quiet",
                 cwd=tmp_path, file_limit=FILE_LIMIT)
    assert result.returncode == 2
    (line,) = error_lines(result)
    assert line.startswith(f"layerwise: error: could not write {os.path.join('run', 'curves.png')}: File too large")
    written = sorted(os.listdir(tmp_path / "run"))
    assert "curves.png" not in written and leftovers(tmp_path / "run") == []
    assert {"checkpoint.safetensors", "history.csv", "history.json", "model.safetensors"} <= set(written)


def test_predictions_that_cannot_be_written_leave_no_file(iris_model, tmp_path):
    (tmp_path / "x.csv").write_text("5.1,3.5,1.4,0.2\n" * 2000)
    result = run("predict", iris_model, "x.csv", "--output", "out.csv", cwd=tmp_path, file_limit=FILE_LIMIT)
    assert result.returncode == 2
    (line,) = error_lines(result)
    assert line == ("layerwise: error: could not write out.csv: File too large; the previous file, if any, is "
                    "unchanged (see 'layerwise predict --help')")
    assert not (tmp_path / "out.csv").exists() and leftovers(tmp_path) == []


def test_evaluate_prints_its_metrics_before_reporting_the_plot_it_could_not_write(iris_model, tmp_path):
    model = tmp_path / "model.safetensors"
    shutil.copy(iris_model, model)
    result = run("evaluate", model, "--split", "test", cwd=tmp_path, file_limit=FILE_LIMIT)
    assert result.returncode == 2
    assert "accuracy" in result.stdout.decode()
    (line,) = error_lines(result)
    assert line.startswith(f"layerwise: error: the confusion-matrix plot was not written: could not write "
                           f"{tmp_path / 'confusion.png'}: File too large")
    assert sorted(os.listdir(tmp_path)) == ["model.safetensors"]
    listed = run("evaluate", model, "--split", "test", "--json", "--plot", tmp_path / "model.safetensors" / "c.png",
                 cwd=tmp_path)
    assert listed.returncode == 2 and '"accuracy"' in listed.stdout.decode()
    assert "confusion_png" not in listed.stdout.decode()


@pytest.mark.skipif(os.geteuid() == 0, reason="permissions do not bind root")
def test_evaluate_in_a_read_only_directory_prints_its_metrics(iris_model, tmp_path):
    folder = tmp_path / "ro"
    folder.mkdir()
    shutil.copy(iris_model, folder / "model.safetensors")
    folder.chmod(0o555)
    try:
        result = run("evaluate", folder / "model.safetensors", "--split", "test", cwd=tmp_path)
    finally:
        folder.chmod(0o755)
    assert result.returncode == 2 and "accuracy" in result.stdout.decode()
    (line,) = error_lines(result)
    assert "confusion.png" in line


# ---------------------------------------------------------------- trust
def test_evaluate_uses_recorded_data_only_when_it_is_a_built_in_data_set(iris_model, tmp_path, capsys):
    assert cli.main(["evaluate", str(iris_model), "--split", "test", "--no-plot"]) == 0
    assert "accuracy" in capsys.readouterr().out
    X, y = np.random.default_rng(0).standard_normal((30, 3)), np.arange(30) % 2
    table = tmp_path / "private data.csv"
    table.write_text("a,b,c,label\n" + "".join(f"{a},{b},{c},{t}\n" for (a, b, c), t in zip(X, y)))
    assert cli.main(["train", "--data", str(table), "--target", "label", "--epochs", "1", "--out",
                     str(tmp_path / "run"), "--quiet"]) == 0
    capsys.readouterr()
    model = tmp_path / "run" / "model.safetensors"
    table.rename(tmp_path / "moved.csv")  # had evaluate read the recorded path, it would now fail to find it
    status = cli.main(["evaluate", str(model), "--no-plot"])
    out, err = capsys.readouterr()
    assert status == 2 and out == ""
    assert err == (f"layerwise: error: {model} was trained on {str(table)!r}, which is not a built-in data set; "
                   f"without --data this would read the file {table}; to evaluate on it, give --data "
                   f"'{table}' --target label (see 'layerwise evaluate --help')\n")
    (tmp_path / "moved.csv").rename(table)
    assert cli.main(["evaluate", str(model), "--data", str(table), "--target", "label", "--no-plot"]) == 0
