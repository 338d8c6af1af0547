"""Training runs for tests/test_distributed.py, started under ``mpiexec -n N`` (and, for reference, in-process).

``python tests/_mpi_worker.py SCENARIO OUT_DIR``: every rank trains; each rank writes its final parameters
to ``OUT_DIR/<run>-rank<r>.npy``, rank 0 also the history as JSON.
"""

from __future__ import annotations

import json
import os
import signal
import sys
from pathlib import Path

import numpy as np

import layerwise as lw

PLAIN = dict(early_stopping=None, schedule=None)  # runs that are checkpointed and resumed
M, B = 97, 16  # 97 = 6 * 16 + 1: uneven shards, and a last batch of one example (an idle rank for N >= 2)


def problem(dtype: str, m: int = M):
    """A classifier with dropout on the input and a hidden layer, and the data, weights and options of its fit."""
    rng = np.random.default_rng(7)
    X_all = rng.standard_normal((m + 40, 6))
    y_all = (X_all[:, 0] + 0.5 * X_all[:, 1] ** 2 + 0.3 * rng.standard_normal(m + 40) > 0.4).astype(int)
    y_all += X_all[:, 2] > 0.8
    X, y, X_val, y_val = X_all[:m], y_all[:m], X_all[m:], y_all[m:]
    net = lw.Network([lw.Dropout(0.1), lw.Dense(12, activation="tanh"), lw.Dropout(0.3), lw.Dense(8),
                      lw.Dense(3, activation="softmax")], input_dim=6, seed=3, dtype=dtype)
    options = dict(epochs=12, batch_size=B, optimizer="adam", lr=0.005, class_weight={0: 1.0, 1: 2.0, 2: 0.5},
                   sample_weight=rng.uniform(0.2, 2.0, m), l2=0.01, clip_norm=0.5,
                   schedule=lw.get_schedule("plateau", patience=1, factor=0.5),
                   validation_data=(X_val, y_val), early_stopping=lw.EarlyStopping(patience=3, min_delta=1e-3),
                   verbose=0)
    return net, X, y, options


def batchnorm_problem(dtype: str):
    """:func:`problem` through BatchNorms: one on the inputs (nothing below it), one between Dense layers.

    98 = 6 * 16 + 2: the last batch holds two examples, one rank's shard is empty under 3 ranks; the
    inputs' mean is far from 0 against their spread, where a one-pass variance would lose digits. The
    Dense layer between them is nonlinear: a bias that feeds a BatchNorm directly has a gradient of
    exactly 0, whose rounding noise Adam would scale up into steps (in one process as in several).
    """
    net, X, y, options = problem(dtype, m=M + 1)
    X_val, y_val = options["validation_data"]
    net = lw.Network([lw.BatchNorm(momentum=0.2), lw.Dense(12, activation="tanh"), lw.BatchNorm(activation="relu"),
                      lw.Dropout(0.2), lw.Dense(3, activation="softmax")], input_dim=6, seed=3, dtype=dtype)
    options["validation_data"] = (X_val * 0.5 + 20, y_val)
    return net, X * 0.5 + 20, y, options


def cnn_problem(dtype: str):
    """Images: a convolution, BatchNorm per channel (N = m H W), dropout on (C, H, W) examples, pooling.

    50 = 3 * 16 + 2: the last batch leaves one of 3 ranks without rows.
    """
    rng = np.random.default_rng(0)
    X = rng.standard_normal((50, 1, 8, 8))
    y = (X[:, 0, :4].mean(axis=(1, 2)) > 0).astype(int)
    net = lw.Network([lw.Conv2D(4, 3, padding=1, activation="tanh"), lw.BatchNorm(activation="relu"), lw.Dropout(0.2),
                      lw.MaxPool2D(2), lw.Flatten(), lw.Dense(2, activation="softmax")], input_shape=(1, 8, 8), seed=1,
                     dtype=dtype)
    return net, X, y, dict(epochs=3, batch_size=B, sample_weight=rng.uniform(0.2, 2.0, 50), verbose=0)


def train(dtype: str, distributed=None, make=problem, **changes):
    net, X, y, options = make(dtype)
    options.update(changes)
    history = net.fit(X, y, distributed=distributed, **options)
    return net, history


class Counting:
    """The real communicator, counting the collective calls made through it (every call reaches MPI)."""

    COLLECTIVES = ("Allreduce", "allreduce", "Bcast", "bcast")

    def __init__(self, comm):
        self.comm, self.calls = comm, dict.fromkeys(self.COLLECTIVES, 0)

    def __getattr__(self, name):
        if name in self.COLLECTIVES:
            self.calls[name] += 1
        return getattr(self.comm, name)


class FailAt(lw.Callback):
    """Fail on one rank at the end of an epoch: raise, or die at once (SIGKILL)."""

    def __init__(self, rank: int, epoch: int, how: str):
        self.rank, self.epoch, self.how = rank, epoch, how

    def on_epoch_end(self, net, epoch, logs):
        from mpi4py import MPI

        if MPI.COMM_WORLD.rank == self.rank and epoch == self.epoch:
            if self.how == "kill":
                os.kill(os.getpid(), signal.SIGKILL)
            raise RuntimeError(f"injected failure at epoch {epoch + 1}")


def main(scenario: str, out: Path) -> None:
    from mpi4py import MPI

    rank = MPI.COMM_WORLD.rank

    def record(name, net, history=None):
        np.save(out / f"{name}-rank{rank}.npy", net.theta)
        np.save(out / f"{name}-state-rank{rank}.npy", net.state)
        if history is not None and rank == 0:
            (out / f"{name}-history.json").write_text(json.dumps(history.to_dict()))

    if scenario == "equivalence":
        for dtype in ("float64", "float32"):
            record(dtype, *train(dtype, "mpi"))
        n = MPI.COMM_WORLD.size
        plain = PLAIN
        record("full4", *train("float64", "mpi", epochs=4, diagnostics=True, **plain))  # rank 1 idles in 1 batch
        train("float64", "mpi", epochs=2, checkpoint=out / f"ckpt-n{n}.safetensors", **plain)
        record("resumed-own", *train("float64", "mpi", epochs=4, resume_from=out / f"ckpt-n{n}.safetensors", **plain))
        record("resumed-single", *train("float64", "mpi", epochs=4, resume_from=out / "ckpt-single.safetensors",
                                        **plain))
        if n != 2 and (out / "ckpt-n2.safetensors").exists():
            record("resumed-n2", *train("float64", "mpi", epochs=4, resume_from=out / "ckpt-n2.safetensors", **plain))
    elif scenario == "batchnorm":
        for dtype in ("float64", "float32"):
            record(f"bn-{dtype}", *train(dtype, "mpi", make=batchnorm_problem))
        record("cnn", *train("float64", "mpi", make=cnn_problem))
        checkpoint = out / f"ckpt-bn-n{MPI.COMM_WORLD.size}.safetensors"
        train("float64", "mpi", make=batchnorm_problem, epochs=2, checkpoint=checkpoint, **PLAIN)
    elif scenario == "count":
        from layerwise.distributed.mpi import MPICommunicator

        for name, make in (("dense", problem), ("bn", batchnorm_problem)):
            counting = Counting(MPI.COMM_WORLD)
            train("float32", MPICommunicator(counting), make=make, epochs=3, **PLAIN)
            if rank == 0:
                (out / f"count-{name}.json").write_text(json.dumps(counting.calls))
    elif scenario in ("raise", "kill"):
        train("float64", "mpi", epochs=4, checkpoint=out / "ckpt.safetensors", callbacks=[FailAt(1, 1, scenario)],
              **PLAIN)
    else:
        raise SystemExit(f"unknown scenario {scenario}")


if __name__ == "__main__":
    main(sys.argv[1], Path(sys.argv[2]))
