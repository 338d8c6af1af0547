"""Timing helpers: thread pinning, interleaved repeats, per-call latency."""

from __future__ import annotations

import gc
import os
import statistics
import sys
import time
from collections.abc import Callable

FOREIGN_LIMIT = 0.1
"""Most CPU, in cores, that other processes may use during a round for it to count."""

MAX_WAIT = 60.0
"""Seconds to wait for a quiet machine before a round is run anyway."""


def pin_threads(threads: int) -> None:
    """Limit every loaded BLAS / OpenMP pool, and PyTorch's, to ``threads`` threads.

    threadpoolctl acts on the libraries loaded when it is called, so call this
    after importing NumPy, PyTorch and scikit-learn.
    """
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=threads)
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(threads)


class CpuMeter:
    """CPU time used by other processes (and stolen by the hypervisor) while a block runs.

    Reads the machine's busy time from ``/proc/stat`` and subtracts this
    process's own CPU time; ``foreign`` is the difference in cores (CPU
    seconds per wall-clock second). Without ``/proc/stat`` it reads 0.
    """

    def __enter__(self) -> CpuMeter:
        self.began, self.busy, self.own = time.perf_counter(), _machine_busy(), _own_cpu()
        return self

    def __exit__(self, *exc) -> None:
        wall = max(time.perf_counter() - self.began, 1e-9)
        self.foreign = max(0.0, (_machine_busy() - self.busy) - (_own_cpu() - self.own)) / wall


def _machine_busy() -> float:
    try:
        with open("/proc/stat") as stat:
            fields = [int(x) for x in stat.readline().split()[1:9]]
    except (OSError, ValueError):
        return 0.0
    user, nice, system, _idle, _iowait, irq, softirq, steal = fields
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def _own_cpu() -> float:
    times = os.times()
    return times.user + times.system


def wait_for_quiet(limit: float = FOREIGN_LIMIT, max_wait: float = MAX_WAIT) -> float:
    """Sleep in quarter seconds until other processes use less than ``limit`` cores; return the last reading."""
    deadline = time.monotonic() + max_wait
    while True:
        with CpuMeter() as meter:
            time.sleep(0.25)
        if meter.foreign < limit or time.monotonic() > deadline:
            return meter.foreign


def interleaved(tasks: dict[str, Callable[[], object]], repeats: int, noisy: list | None = None,
                limit: float = FOREIGN_LIMIT) -> dict[str, list[float]]:
    """Time each task ``repeats`` times, in rounds whose order rotates.

    Interleaving spreads a busy spell of the machine over all the tasks
    instead of one; rotating the order keeps any task from always running
    right after the same neighbour. Before each round the machine is given a
    chance to fall quiet (:func:`wait_for_quiet`), and a round during which
    other processes used more than ``limit`` cores is run again, up to
    ``2 * repeats`` extra rounds; the foreign load of every discarded round is
    appended to ``noisy``.
    """
    names = list(tasks)
    times = {name: [] for name in names}
    kept, attempts = 0, 0
    while kept < repeats:
        shift = attempts % len(names)
        attempts += 1
        wait_for_quiet(limit)
        sample = {}
        with CpuMeter() as meter:
            for name in names[shift:] + names[:shift]:
                gc.collect()
                began = time.perf_counter()
                tasks[name]()
                sample[name] = time.perf_counter() - began
        if meter.foreign > limit and attempts < 3 * repeats:
            if noisy is not None:
                noisy.append(meter.foreign)
            continue
        kept += 1
        for name, seconds in sample.items():
            times[name].append(seconds)
    return times


def calls_for(fn: Callable[[], object], budget: float) -> int:
    """How many calls of ``fn`` fill about ``budget`` seconds (at least 1)."""
    fn()
    n, elapsed = 1, 0.0
    while elapsed < budget / 4:
        n *= 2
        began = time.perf_counter()
        for _ in range(n):
            fn()
        elapsed = time.perf_counter() - began
    return max(1, int(n * budget / elapsed))


def per_call(fn: Callable[[], object], n: int) -> Callable[[], float]:
    """A task that runs ``fn`` ``n`` times; divide its time by ``n`` for the latency."""

    def task() -> None:
        for _ in range(n):
            fn()

    return task


def summary(samples: list[float]) -> dict[str, float]:
    """Median, minimum and maximum of timing samples."""
    return {"median": statistics.median(samples), "min": min(samples), "max": max(samples)}
