"""MLflow tracking: runs logged to a real local file store, read back with MLflow's own client."""

import json
import subprocess
import sys

import numpy as np
import pytest

import layerwise as lw
from layerwise import cli


@pytest.fixture
def store(tmp_path, monkeypatch):
    """A fresh file store (MLflow 3 asks for MLFLOW_ALLOW_FILE_STORE to use one) and a client reading it."""
    pytest.importorskip("mlflow")
    from mlflow.tracking import MlflowClient

    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")
    uri = (tmp_path / "mlruns").as_uri()
    return uri, MlflowClient(tracking_uri=uri)


def only_run(client, experiment: str):
    found = client.get_experiment_by_name(experiment)
    assert found is not None, f"no experiment {experiment!r}"
    runs = client.search_runs([found.experiment_id])
    assert len(runs) == 1
    return runs[0]


def steps_and_values(client, run_id: str, key: str):
    history = sorted(client.get_metric_history(run_id, key), key=lambda metric: metric.step)
    return [metric.step for metric in history], [metric.value for metric in history]


@pytest.mark.parametrize("data,task_metric", [("iris", "accuracy"), ("diabetes", "r2")])
def test_train_logs_options_epochs_and_files(store, tmp_path, capsys, data, task_metric):
    uri, client = store
    config = tmp_path / "experiment.toml"
    config.write_text(f'mlflow-uri = "{uri}"\nmlflow-experiment = "everyday"\n', encoding="utf-8")
    run_dir = tmp_path / "run"
    status = cli.main(["train", "--data", data, "--hidden", "8", "--epochs", "6", "--patience", "2",
                       "--config", str(config), "--out", str(run_dir), "--quiet"])
    assert status == 0, capsys.readouterr().err
    run = only_run(client, "everyday")
    assert run.info.status == "FINISHED" and run.info.run_name == "run"
    params = run.data.params
    assert (params["data"], params["hidden"], params["epochs"], params["patience"]) == (data, "8", "6", "2")
    assert params["mlflow_experiment"] == "everyday" and params["run_dir"] == str(run_dir.resolve())

    history = json.loads((run_dir / "history.json").read_text())
    for key in ("loss", "val_loss", "lr"):  # regression losses in the targets' own units, as history.json has them
        steps, values = steps_and_values(client, run.info.run_id, key)
        assert steps == history["epoch"]
        np.testing.assert_allclose(values, history[key], rtol=1e-12)
    test_metrics = lw.io.model_file.read(run_dir / "model.safetensors").metadata["cli"]["test_metrics"]
    assert run.data.metrics[f"test_{task_metric}"] == pytest.approx(test_metrics[task_metric], rel=1e-12)

    files = sorted(path.name for path in run_dir.iterdir())
    assert sorted(item.path for item in client.list_artifacts(run.info.run_id)) == files
    copy = client.download_artifacts(run.info.run_id, "model.safetensors", str(tmp_path / "copy"))
    assert open(copy, "rb").read() == (run_dir / "model.safetensors").read_bytes()


class Boom(lw.Callback):
    def on_epoch_end(self, net, epoch, logs):
        if epoch == 1:
            raise RuntimeError("boom")


def test_library_logger_marks_a_failed_run_and_keeps_its_epochs(store):
    from layerwise.train.tracking import MLflowLogger

    uri, client = store
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(40, 3)), rng.integers(0, 2, size=40)
    net = lw.Network([lw.Dense(4, activation="tanh"), lw.Dense(2, activation="softmax")], loss="cross_entropy",
                     input_dim=3, seed=0)
    with pytest.raises(RuntimeError, match="boom"), \
            MLflowLogger(uri, "library", run_name="fails", params={"lr": 0.05, "note": None}) as tracker:
        net.fit(X, y, epochs=5, batch_size=8, optimizer=lw.SGD(lr=0.05), callbacks=[tracker, Boom()], verbose=0)
    run = only_run(client, "library")
    assert run.info.status == "FAILED" and run.info.run_name == "fails"
    assert run.data.params == {"lr": "0.05", "note": "None"}
    assert steps_and_values(client, run.info.run_id, "loss")[0] == [1, 2]


def test_a_bad_store_is_one_error_line_before_any_work(store, tmp_path, capsys):
    status = cli.main(["train", "--data", "iris", "--mlflow-uri", "nosuch://store", "--out", str(tmp_path / "run")])
    err = capsys.readouterr().err
    assert status == 2 and err.startswith("layerwise: error: MLflow tracking store nosuch://store:")
    assert len(err.strip().splitlines()) == 1 and not (tmp_path / "run").exists()


def test_without_mlflow_the_error_says_what_to_install(tmp_path):
    probe = ("import sys; sys.modules['mlflow'] = None\nfrom layerwise.cli import main\n"
             f"sys.exit(main(['train', '--data', 'iris', '--mlflow', '--out', {str(tmp_path / 'run')!r}]))")
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert result.stderr.strip() == ('layerwise: error: MLflow tracking needs the mlflow package: '
                                     'pip install "layerwise[mlflow]" (see \'layerwise train --help\')')
