"""Parquet dataset folders: read by row groups, and ``layerwise train --data FOLDER`` streamed, in bounded memory."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")

from layerwise.cli import main  # noqa: E402
from layerwise.cli.stream import _split_groups, _streamed_scalers  # noqa: E402
from layerwise.data.parquet import ParquetFolder  # noqa: E402
from layerwise.preprocessing import Standardize  # noqa: E402

PEAK = """import sys
import numpy as np
import pyarrow.parquet as pq
from layerwise.cli import main
from layerwise.cli import stream
from layerwise.inspect import plots
import matplotlib.pyplot
with open("/proc/self/clear_refs", "w") as handle:
    handle.write("5")  # reset the peak resident set size: count what the run adds after the imports
if sys.argv[1] == "whole":  # the control: the same folder read whole
    table = np.column_stack([c.to_numpy() for c in pq.read_table(sys.argv[2]).columns])
    status = 0
else:
    status = main(sys.argv[1:])
peak = [line for line in open("/proc/self/status") if line.startswith("VmHWM")][0].split()[1]
print("peak", peak)
sys.exit(status)
"""


def write_folder(folder, rows: int, files: int, group_rows: int, features: int = 6, seed: int = 0, regression=False):
    """A folder of Parquet files (in a sub-folder, as partitioned data sets are); returns the whole table."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((rows, features)) * np.arange(1, features + 1) + 3.0
    score = X[:, 0] / 1.0 - X[:, 1] / 2.0
    y = score + 0.1 * rng.standard_normal(rows) if regression else (score > 3.0 - 1.5).astype(np.int64) * 10
    (folder / "part").mkdir(parents=True)
    for f, rows_f in enumerate(np.array_split(np.arange(rows), files)):
        table = pa.table({**{f"x{j}": X[rows_f, j] for j in range(features)}, "target": y[rows_f]})
        pq.write_table(table, folder / "part" / f"{f}.parquet", row_group_size=group_rows)
    return X, y


def test_the_row_groups_are_the_table_in_order(tmp_path):
    X, y = write_folder(tmp_path / "data", rows=1000, files=3, group_rows=150)
    folder = ParquetFolder(tmp_path / "data")
    assert folder.target == "target" and folder.features == [f"x{j}" for j in range(6)]
    assert folder.n_rows == 1000 and len(folder.groups) == 3 * 3  # 334 / 333 / 333 rows: three groups each
    parts = [folder.read(index) for index in range(len(folder.groups))]
    np.testing.assert_array_equal(np.concatenate([p[0] for p in parts]), X)
    np.testing.assert_array_equal(np.concatenate([p[1] for p in parts]), y)


def test_the_streamed_scaler_equals_the_scaler_of_the_whole_training_part(tmp_path):
    write_folder(tmp_path / "data", rows=2000, files=2, group_rows=170, regression=True)
    folder = ParquetFolder(tmp_path / "data")
    train, test = _split_groups(len(folder.groups), 0.25, seed=0)
    assert len(test) == 3 and sorted(train + test) == list(range(len(folder.groups)))
    features, targets = _streamed_scalers(folder, train, "regression", True)
    X = np.concatenate([folder.read(g)[0] for g in train])
    y = np.concatenate([folder.read(g)[1] for g in train]).reshape(-1, 1)
    for streamed, whole in ((features, Standardize.fit(X)), (targets, Standardize.fit(y))):
        np.testing.assert_allclose(streamed.mean, whole.mean, rtol=1e-12)
        np.testing.assert_allclose(streamed.scale, whole.scale, rtol=1e-12)


@pytest.mark.parametrize("regression", [False, True])
def test_train_on_a_parquet_folder_learns_and_writes_the_run(tmp_path, regression):
    write_folder(tmp_path / "data", rows=3000, files=2, group_rows=250, regression=regression)
    assert main(["train", "--data", str(tmp_path / "data"), "--epochs", "15", "--hidden", "16", "--lr", "0.01",
                 "--no-early-stopping", "--out", str(tmp_path / "run"), "--quiet"]) == 0
    info = json.loads((tmp_path / "run" / "history.json").read_text())
    assert len(info["loss"]) == 15 and info["loss"][-1] < info["loss"][0]
    from layerwise.cli.model import load_model

    model = load_model(tmp_path / "run" / "model.safetensors")
    metrics = model.info["test_metrics"]
    assert model.info["tested_on"] == "test" and metrics["examples"] == 750  # 3 of the 12 row groups
    assert (metrics["r2"] > 0.9) if regression else (metrics["accuracy"] > 0.9 and model.net.classes == [0, 10])


def test_a_large_folder_is_streamed_in_bounded_memory(tmp_path):
    """Peak resident memory of ``layerwise train`` on folders of 60,000 and 240,000 rows in row groups of 4,000:
    four times the data, about the same peak, while reading the folders whole grows by the data."""
    features, sizes = 16, {"small": 60_000, "big": 240_000}
    for name, rows in sizes.items():
        write_folder(tmp_path / name, rows=rows, files=rows // 30_000, group_rows=4000, features=features)
    peaks = {}
    for name in sizes:
        for mode in ("train", "whole"):
            args = ["train", "--data", str(tmp_path / name), "--epochs", "1", "--hidden", "8", "--batch-size", "256",
                    "--no-early-stopping", "--out", str(tmp_path / f"run-{name}"), "--quiet"]
            args = args if mode == "train" else ["whole", str(tmp_path / name)]
            run = subprocess.run([sys.executable, "-c", PEAK, *args], capture_output=True, text=True, timeout=300)
            assert run.returncode == 0, run.stderr
            peaks[name, mode] = int(run.stdout.split("peak")[-1]) * 1024  # VmHWM is in kB
    more_data = (sizes["big"] - sizes["small"]) * (features + 1) * 8
    train = peaks["big", "train"] - peaks["small", "train"]
    whole = peaks["big", "whole"] - peaks["small", "whole"]
    print(f"peak RSS training: {peaks['small', 'train'] / 2**20:.1f} MiB on 60,000 rows, "
          f"{peaks['big', 'train'] / 2**20:.1f} MiB on 240,000 (+{train / 2**20:.1f} MiB for "
          f"{more_data / 2**20:.1f} MiB more data); reading whole: +{whole / 2**20:.1f} MiB")
    assert whole > 0.9 * more_data  # the measure sees data held whole
    assert train < 0.25 * whole, (peaks, more_data)  # streaming grows by a small part of that (allocator noise aside)


def test_a_streamed_folder_defaults_to_twenty_epochs_without_early_stopping(tmp_path, capsys):
    write_folder(tmp_path / "data", rows=400, files=1, group_rows=100, regression=False)
    assert main(["train", "--data", str(tmp_path / "data"), "--hidden", "4", "--out", str(tmp_path / "run"),
                 "--quiet"]) == 0
    assert len(json.loads((tmp_path / "run" / "history.json").read_text())["loss"]) == 20
    assert "early stopping" not in capsys.readouterr().err
