"""W1 trained data-parallel over MPI: 1 process x 2 threads against 2 processes x 1 thread.

``python -m benchmarks.distributed [epochs]`` starts itself under ``mpiexec``
three times on W1 (784-512-256-10, batch 128, Adam, 60,000 x 784 float32):
1 process x 1 thread, 1 process x 2 threads (BLAS threads) and 2 processes x
1 thread (``fit(..., distributed="mpi")``). Each run trains ``epochs`` epochs
(default 3) and reports the median epoch after the first, and for the MPI run
the time spent inside ``Allreduce`` (which includes waiting for the slower
rank). Then it times a few batches of a network ten times W1's size in one
thread and prints the cost model of :func:`cost_model`: gradient bytes per
batch, ring-allreduce time at 10 and 100 Gb/s, compute per batch, and the
number of nodes at which a global batch's allreduce takes as long as its
compute (parallel efficiency 50%), where adding nodes stops paying.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

LATENCY = 25e-6
"""Seconds per message hop assumed for the cost model (a TCP or RoCE network between nodes)."""
BANDWIDTHS = {"10 Gb/s": 10e9 / 8, "100 Gb/s": 100e9 / 8}
BATCHES = (128, 1024, 8192)


class TimedComm:
    """An mpi4py communicator whose ``Allreduce`` calls are timed."""

    def __init__(self, comm):
        self.inner, self.seconds = comm, 0.0

    def Allreduce(self, *args):
        began = time.perf_counter()
        self.inner.Allreduce(*args)
        self.seconds += time.perf_counter() - began

    def __getattr__(self, name):
        return getattr(self.inner, name)


def worker(epochs: int, threads: int) -> None:
    """Train W1 on this rank (data parallel when started with several ranks); rank 0 prints one JSON line."""
    from threadpoolctl import threadpool_limits

    import layerwise as lw
    from layerwise.distributed.mpi import MPICommunicator

    from .workloads import WORKLOADS

    threadpool_limits(threads)
    workload = WORKLOADS["w1"]
    X, y = workload.load()
    comm = MPICommunicator()
    timed = comm.comm = TimedComm(comm.comm)
    seconds = []

    class AllreduceClock(lw.Callback):
        def on_epoch_begin(self, net, epoch, logs):
            timed.seconds = 0.0

        def on_epoch_end(self, net, epoch, logs):
            seconds.append(timed.seconds)

    net = lw.Network([lw.Dense(512), lw.Dense(256), lw.Dense(10, activation="softmax")], input_dim=784, seed=0,
                     dtype=workload.dtype)
    history = net.fit(X, y, epochs=epochs, batch_size=workload.batch_size, optimizer="adam", lr=1e-3, verbose=0,
                      callbacks=[AllreduceClock()], distributed=comm if comm.size > 1 else None)
    if comm.root:
        print(json.dumps({"epoch": history["time"][1:], "allreduce": seconds[1:], "params": int(net.n_params),
                          "batches": -(-X.shape[0] // workload.batch_size), "ranks": comm.size}))


def launch(processes: int, threads: int, epochs: int) -> dict:
    """Run :func:`worker` under ``mpiexec -n processes`` with ``threads`` BLAS threads each."""
    launcher = Path(sys.executable).with_name("mpiexec")
    env = {**os.environ, **{name: str(threads) for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS",
                                                              "MKL_NUM_THREADS")}}
    command = [str(launcher if launcher.exists() else "mpiexec"), "-n", str(processes), sys.executable, "-m",
               "benchmarks.distributed", "--worker", str(epochs), str(threads)]
    run = subprocess.run(command, capture_output=True, text=True, env=env, cwd=Path(__file__).parent.parent,
                         check=False)
    if run.returncode:
        raise SystemExit(f"{' '.join(command)} failed:\n{run.stderr}")
    return json.loads(run.stdout.strip().splitlines()[-1])


def compute_per_example(hidden: tuple[int, ...], rows: int = 1024, batch: int = 128) -> tuple[float, int]:
    """Seconds of forward, backward and step per example in one thread, and the parameter count."""
    from threadpoolctl import threadpool_limits

    import layerwise as lw

    rng = np.random.default_rng(0)
    X = rng.uniform(-0.5, 0.5, (rows, 784)).astype(np.float32)
    y = rng.integers(0, 10, rows)
    net = lw.Network([*(lw.Dense(units) for units in hidden), lw.Dense(10, activation="softmax")], input_dim=784,
                     seed=0)
    with threadpool_limits(1):
        net.fit(X[:batch], y[:batch], epochs=1, batch_size=batch, verbose=0)
        history = net.fit(X, y, epochs=2, batch_size=batch, verbose=0)
    return min(history["time"]) / rows, int(net.n_params)


def ring_allreduce(nbytes: float, nodes: int, bandwidth: float) -> float:
    """Seconds of a ring allreduce: ``2 (N-1)/N`` of the buffer over each link, and ``2 (N-1)`` latencies."""
    return 2 * (nodes - 1) / nodes * nbytes / bandwidth + 2 * (nodes - 1) * LATENCY


def break_even(per_example: float, nbytes: float, batch: int, bandwidth: float) -> int:
    """The fewest nodes at which a batch's allreduce takes at least as long as each node's share of its compute."""
    nodes = 2
    while nodes < 100_000 and ring_allreduce(nbytes, nodes, bandwidth) < batch * per_example / nodes:
        nodes += 1
    return nodes


def cost_model(networks: dict) -> list[str]:
    """Markdown lines: per network the bytes, allreduce times, compute and break-even node counts."""
    lines = ["| network | params | gradient per batch | allreduce 10 / 100 Gb/s (2 nodes) | compute per example |"
             " nodes at 50% efficiency, 10 Gb/s (B = " + " / ".join(map(str, BATCHES)) + ") | same, 100 Gb/s |",
             "|---|---|---|---|---|---|---|"]
    for name, (per_example, params) in networks.items():
        nbytes = 4 * params
        times = " / ".join(f"{ring_allreduce(nbytes, 2, bw) * 1e3:.2f} ms" for bw in BANDWIDTHS.values())
        counts = [" / ".join(str(break_even(per_example, nbytes, b, bw)) for b in BATCHES)
                  for bw in BANDWIDTHS.values()]
        lines.append(f"| {name} | {params:,} | {nbytes / 1e6:.2f} MB | {times} | {per_example * 1e6:.0f} us |"
                     f" {counts[0]} | {counts[1]} |")
    return lines


def main(epochs: int = 3) -> None:
    runs = {"1 process x 1 thread": launch(1, 1, epochs), "1 process x 2 threads": launch(1, 2, epochs),
            "2 processes x 1 thread": launch(2, 1, epochs)}
    base = statistics.median(runs["1 process x 1 thread"]["epoch"])
    print("| W1, per epoch | median | speed-up over 1 x 1 | in Allreduce |\n|---|---|---|---|")
    for name, run in runs.items():
        median = statistics.median(run["epoch"])
        share = statistics.median(a / e for a, e in zip(run["allreduce"], run["epoch"])) if run["ranks"] > 1 else 0
        print(f"| {name} | {median:.2f} s | {base / median:.2f}x | {share:.1%} |")
    w1 = runs["2 processes x 1 thread"]
    print(f"\nW1: {w1['params']:,} parameters, {w1['batches']} batches per epoch; "
          f"1 x 1 thread computes {base / w1['batches'] * 1e3:.1f} ms per batch of 128\n")
    print("\n".join(cost_model({"W1 784-512-256-10": compute_per_example((512, 256)),
                                "10x: 784-2048-2048-10": compute_per_example((2048, 2048))})))


if __name__ == "__main__":
    if sys.argv[1:2] == ["--worker"]:
        worker(int(sys.argv[2]), int(sys.argv[3]))
    else:
        main(*(int(arg) for arg in sys.argv[1:2]))
