"""Overhead of gradient diagnostics on W1: the same epochs with and without a GradientMonitor.

``python -m benchmarks.diagnostics_overhead [repeats]`` trains W1's network
(784-512-256-10, batch 128, Adam, 60,000 x 784 float32) one epoch at a time,
alternating a plain network and one watched by ``GradientMonitor(every=10)``
after a warm-up epoch each, and prints the median epoch times and their ratio.
Interleaving puts both under the same load of a shared machine.
"""

from __future__ import annotations

import statistics
import sys
import time

from .workloads import WORKLOADS, LayerwiseRunner


def main(repeats: int = 5) -> None:
    from layerwise.inspect.diagnostics import GradientMonitor

    workload = WORKLOADS["w1"]
    X, y = workload.load()
    plain, watched = LayerwiseRunner(workload, X, y), LayerwiseRunner(workload, X, y)
    monitor = GradientMonitor(every=10, stream=None)
    times = {"plain": [], "diagnostics every 10 batches": []}

    def epoch(runner, options):
        began = time.perf_counter()
        runner.net.fit(X, y, epochs=1, batch_size=workload.batch_size, optimizer=runner.optimizer, verbose=0,
                       **options)
        return time.perf_counter() - began

    epoch(plain, {})
    epoch(watched, {"diagnostics": monitor})
    for _ in range(repeats):
        times["plain"].append(epoch(plain, {}))
        times["diagnostics every 10 batches"].append(epoch(watched, {"diagnostics": monitor}))
    base = statistics.median(times["plain"])
    for name, values in times.items():
        median = statistics.median(values)
        print(f"{name:<30} median {median:.3f} s per epoch ({median / base:.3f}x plain)")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 5)
