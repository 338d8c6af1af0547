"""Data-parallel training under a real ``mpiexec``: N ranks give the parameters of one process."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import layerwise as lw
from layerwise.distributed.mpi import MPICommunicator
from layerwise.train.checkpoint import restore

sys.path.insert(0, str(Path(__file__).parent))
import _mpi_worker as worker  # noqa: E402

WORKER = Path(__file__).with_name("_mpi_worker.py")
PLAIN = worker.PLAIN


def mpiexec(n: int, *command, timeout: float = 120, cwd=None) -> subprocess.CompletedProcess:
    """Run ``command`` on ``n`` ranks on this machine; a hang fails the test at ``timeout`` seconds."""
    launcher = Path(sys.executable).with_name("mpiexec")
    launcher = str(launcher) if launcher.exists() else shutil.which("mpiexec")
    env = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    return subprocess.run([launcher, "-n", str(n), *map(str, command)], capture_output=True, text=True,
                          timeout=timeout, env=env, cwd=cwd)


def relative_error(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.max(np.abs(a.astype(np.float64) - b)) / np.max(np.abs(b)))


def ranks_agree(out: Path, name: str, n: int) -> np.ndarray:
    """The parameters of run ``name``, checked to be bit-identical on all ``n`` ranks."""
    thetas = [np.load(out / f"{name}-rank{r}.npy") for r in range(n)]
    for r, theta in enumerate(thetas[1:], start=1):
        assert np.array_equal(theta, thetas[0]), f"{name}: rank {r} ends with other parameters than rank 0"
    return thetas[0]


def test_mpi_training_equals_one_process(tmp_path):
    reference = {dtype: worker.train(dtype) for dtype in ("float64", "float32")}
    epochs_run = len(reference["float64"][1].epoch)
    assert 3 < epochs_run < 12, "early stopping should end the reference run after several epochs"
    assert len(set(reference["float64"][1]["lr"])) > 1, "the plateau schedule should have lowered the rate"
    full4, _ = worker.train("float64", epochs=4, **PLAIN)
    worker.train("float64", epochs=2, checkpoint=tmp_path / "ckpt-single.safetensors", **PLAIN)

    for n in (2, 3):
        run = mpiexec(n, sys.executable, WORKER, "equivalence", tmp_path)
        assert run.returncode == 0, run.stderr
        for dtype, tolerance in (("float64", 1e-12), ("float32", 1e-5)):
            theta = ranks_agree(tmp_path, dtype, n)
            net, history = reference[dtype]
            assert relative_error(theta, net.theta) < tolerance, (n, dtype, relative_error(theta, net.theta))
            mine = json.loads((tmp_path / f"{dtype}-history.json").read_text())
            assert mine["epoch"] == history.epoch and mine["lr"] == history["lr"]  # stopped and scheduled alike
            for key in ("loss", "accuracy", "val_loss", "val_accuracy"):
                np.testing.assert_allclose(mine[key], history[key], rtol=100 * tolerance, err_msg=key)
        own = ranks_agree(tmp_path, "full4", n)
        assert relative_error(own, full4.theta) < 1e-12
        # resumed on the same number of ranks: bit for bit; from one process or 2 ranks: as close as above
        assert np.array_equal(ranks_agree(tmp_path, "resumed-own", n), own)
        assert relative_error(ranks_agree(tmp_path, "resumed-single", n), full4.theta) < 1e-12
        if n == 3:
            assert relative_error(ranks_agree(tmp_path, "resumed-n2", n), full4.theta) < 1e-12
        alone, _ = worker.train("float64", epochs=4, resume_from=tmp_path / f"ckpt-n{n}.safetensors", **PLAIN)
        assert relative_error(alone.theta, full4.theta) < 1e-12


@pytest.mark.parametrize("how", ["raise", "kill"])
def test_a_failing_rank_stops_every_rank(tmp_path, how):
    run = mpiexec(2, sys.executable, WORKER, how, tmp_path, timeout=60)
    assert run.returncode != 0
    if how == "raise":
        assert "layerwise: error: rank 1 of 2 failed while training (RuntimeError: injected failure at epoch 2)" \
            in run.stderr
    checkpoint = tmp_path / "ckpt.safetensors"
    net = worker.problem("float64")[0]
    epochs_done, history, _ = restore(checkpoint, net, lw.get_optimizer("adam"), lw.get_schedule("constant"))
    assert epochs_done in (1, 2) and len(history.epoch) == epochs_done
    assert lw.load(checkpoint).n_params == net.n_params


def test_a_rank_failing_before_training_under_layerwise_train_stops_every_rank(tmp_path):
    # MPMD: rank 0 trains on iris, rank 1 is given a data file its node lacks; rank 0 must not wait for it
    train = [sys.executable, "-m", "layerwise", "train", "--epochs", "2", "--quiet", "--out", tmp_path / "run",
             "--data"]
    run = mpiexec(1, *train, "iris", ":", "-n", "1", *train, tmp_path / "absent.csv", timeout=60)
    assert run.returncode == 2
    assert "layerwise: error: rank 1 of 2 failed while running layerwise train (" in run.stderr
    assert "absent.csv" in run.stderr and "Traceback" not in run.stderr


def test_shards_cover_each_batch_once_with_sizes_differing_by_at_most_one():
    comm = MPICommunicator()
    for size in (2, 3, 5):
        for m in (0, 1, 2, 7, 16):
            comm.size = size
            parts = []
            for comm.rank in range(size):
                parts.append(comm.shard(10, 10 + m))
            assert [lo for lo, _ in parts] == [10] + [hi for _, hi in parts[:-1]] and parts[-1][1] == 10 + m
            sizes = [hi - lo for lo, hi in parts]
            assert max(sizes) - min(sizes) <= 1


def test_layerwise_train_under_mpiexec_writes_one_run_like_one_process(tmp_path):
    from layerwise.cli import main

    args = ["train", "--data", "digits", "--epochs", "3", "--hidden", "32", "--dropout", "0.2", "--l2", "0.001",
            "--batch-size", "50", "--dtype", "float64"]
    assert main([*args, "--out", str(tmp_path / "one"), "--quiet"]) == 0
    run = mpiexec(2, sys.executable, "-m", "layerwise", *args, "--out", tmp_path / "two", cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    assert run.stdout.count("test accuracy") == 1 and run.stderr.count("wrote ") == 1  # rank 0 alone reports
    files = {"model.safetensors", "checkpoint.safetensors", "run.json", "history.csv", "history.json", "curves.png"}
    assert {path.name for path in (tmp_path / "two").iterdir()} == files
    one, two = lw.load(tmp_path / "one" / "model.safetensors"), lw.load(tmp_path / "two" / "model.safetensors")
    assert two.dtype == np.float64 and relative_error(two.theta, one.theta) < 1e-12


def test_under_mpiexec_the_default_run_directory_is_named_once_by_rank_0(tmp_path):
    run = mpiexec(3, sys.executable, "-m", "layerwise", "train", "--data", "iris", "--epochs", "1", "--hidden", "4",
                  "--quiet", cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    (run_dir,) = (tmp_path / "runs").iterdir()  # one directory, although the ranks may start in different seconds
    assert (run_dir / "model.safetensors").is_file() and run.stdout.count("test accuracy") == 1


def test_batchnorm_under_mpi_normalises_by_the_global_batch_as_one_process_does(tmp_path):
    bn = worker.batchnorm_problem
    reference = {dtype: worker.train(dtype, make=bn) for dtype in ("float64", "float32")}
    assert len(reference["float64"][1].epoch) > 3
    full4, _ = worker.train("float64", make=bn, epochs=4, **PLAIN)
    cnn, _ = worker.train("float64", make=worker.cnn_problem)
    for n in (2, 3):
        run = mpiexec(n, sys.executable, WORKER, "batchnorm", tmp_path)
        assert run.returncode == 0, run.stderr
        assert relative_error(ranks_agree(tmp_path, "cnn", n), cnn.theta) < 1e-12
        assert relative_error(ranks_agree(tmp_path, "cnn-state", n), cnn.state) < 1e-12
        for dtype, tolerance in (("float64", 1e-12), ("float32", 1e-5)):
            net, history = reference[dtype]
            theta, state = ranks_agree(tmp_path, f"bn-{dtype}", n), ranks_agree(tmp_path, f"bn-{dtype}-state", n)
            assert relative_error(theta, net.theta) < tolerance, (n, dtype, relative_error(theta, net.theta))
            assert relative_error(state, net.state) < tolerance, (n, dtype, relative_error(state, net.state))
            mine = json.loads((tmp_path / f"bn-{dtype}-history.json").read_text())
            assert mine["epoch"] == history.epoch and mine["lr"] == history["lr"]
            np.testing.assert_allclose(mine["val_loss"], history["val_loss"], rtol=100 * tolerance)
        # a checkpoint written by n ranks, resumed in one process
        alone, _ = worker.train("float64", make=bn, epochs=4, resume_from=tmp_path / f"ckpt-bn-n{n}.safetensors",
                                **PLAIN)
        assert relative_error(alone.theta, full4.theta) < 1e-12
        assert relative_error(alone.state, full4.state) < 1e-12


def test_one_allreduce_per_batch_carries_gradient_and_loss(tmp_path):
    run = mpiexec(2, sys.executable, WORKER, "count", tmp_path)
    assert run.returncode == 0, run.stderr
    epochs, batches = 3, -(-worker.M // worker.B)
    dense = json.loads((tmp_path / "count-dense.json").read_text())
    # per batch the gradient with the loss; per epoch the training accuracy and the validation sums
    assert dense["Allreduce"] == epochs * batches + 2 * epochs, dense
    assert dense["allreduce"] == 0
    # BatchNorm adds its forward sums of X and (X - mu)^2 (both layers) and its backward sums (layer 3 alone)
    bn = json.loads((tmp_path / "count-bn.json").read_text())
    assert bn["Allreduce"] == epochs * -(-(worker.M + 1) // worker.B) * (1 + 2 * 2 + 1) + 2 * epochs, bn
