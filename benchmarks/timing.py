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

PROBE_TOLERANCE = 0.25
"""How much slower than its best the host probe may run for a round to count."""


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


class HostProbe:
    """A fixed piece of work (matrix products and a large copy) whose time tells whether the host is busy.

    On a virtual machine, other tenants of the host take memory bandwidth and
    cache without showing in ``/proc/stat``; on the machine these results come
    from, that slows single epochs by up to 2x. The probe runs between tasks:
    a round in which it took more than ``1 + tolerance`` times its best time
    ran on a busy host.
    """

    def __init__(self, tolerance: float = PROBE_TOLERANCE):
        import numpy as np

        rng = np.random.default_rng(3)
        self.a, self.b = rng.random((384, 384), dtype=np.float32), rng.random((384, 384), dtype=np.float32)
        self.product = np.empty((384, 384), dtype=np.float32)
        self.source = rng.random(1 << 23, dtype=np.float32)  # 32 MiB: larger than the caches
        self.target = np.empty_like(self.source)
        self.tolerance = tolerance
        self.best = min(self.run() for _ in range(5))

    def run(self) -> float:
        """Seconds the probe's work takes now."""
        import numpy as np

        began = time.perf_counter()
        for _ in range(4):
            np.matmul(self.a, self.b, out=self.product)
        np.copyto(self.target, self.source)
        return time.perf_counter() - began

    def slowdown(self) -> float:
        """The better of two runs now over the best so far (one run alone jitters by up to 20%)."""
        seconds = min(self.run(), self.run())
        self.best = min(self.best, seconds)
        return seconds / self.best


def interleaved(tasks: dict[str, Callable[[], object]], repeats: int, noisy: list | None = None,
                limit: float = FOREIGN_LIMIT) -> dict[str, list[float]]:
    """Time each task ``repeats`` times, in rounds whose order rotates.

    Interleaving spreads a busy spell of the machine over all the tasks
    instead of one; rotating the order keeps any task from always running
    right after the same neighbour. Before each round the machine is given a
    chance to fall quiet (:func:`wait_for_quiet`). A round is run again, up to
    ``2 * repeats`` extra rounds, when other processes used more than
    ``limit`` cores during it, or when the :class:`HostProbe`, run before each
    task and after the last, was slowed by more than its tolerance; the
    foreign load or the probe's slowdown of every discarded round is appended
    to ``noisy``.
    """
    names = list(tasks)
    times = {name: [] for name in names}
    probe = HostProbe()
    kept, attempts = 0, 0
    while kept < repeats:
        shift = attempts % len(names)
        attempts += 1
        wait_for_quiet(limit)
        sample, slowdowns = {}, []
        with CpuMeter() as meter:
            for name in names[shift:] + names[:shift]:
                slowdowns.append(probe.slowdown())
                gc.collect()
                began = time.perf_counter()
                tasks[name]()
                sample[name] = time.perf_counter() - began
            slowdowns.append(probe.slowdown())
        busy_host = max(slowdowns) > 1 + probe.tolerance
        if (meter.foreign > limit or busy_host) and attempts < 3 * repeats:
            if noisy is not None:
                noisy.append(max(slowdowns) if busy_host else meter.foreign)
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
