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


def wait_for_quiet(limit: float = FOREIGN_LIMIT, max_wait: float | None = None) -> float:
    """Sleep in quarter seconds until other processes use less than ``limit`` cores, for at most ``max_wait``
    seconds (default :data:`MAX_WAIT`); return the last reading."""
    deadline = time.monotonic() + (MAX_WAIT if max_wait is None else max_wait)
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
        self.run()  # warm-up; the best is taken from runs between tasks, where caches and threads are as in a round
        self.best = float("inf")

    def run(self) -> float:
        """Seconds the probe's work takes now."""
        import numpy as np

        began = time.perf_counter()
        for _ in range(4):
            np.matmul(self.a, self.b, out=self.product)
        np.copyto(self.target, self.source)
        return time.perf_counter() - began

    def measure(self) -> float:
        """The better of two runs now (one run alone jitters by up to 20%); :attr:`best` keeps the best ever."""
        seconds = min(self.run(), self.run())
        self.best = min(self.best, seconds)
        return seconds


def interleaved(tasks: dict[str, Callable[[], object]], repeats: int, noisy: list | None = None,
                limit: float = FOREIGN_LIMIT) -> dict[str, list[float]]:
    """Time each task ``repeats`` times, in rounds whose order rotates.

    Interleaving spreads a busy spell of the machine over all the tasks
    instead of one; rotating the order keeps any task from always running
    right after the same neighbour. Before each round the machine is given a
    chance to fall quiet (:func:`wait_for_quiet`). A round is disturbed when
    other processes used more than ``limit`` cores during it, or when the
    :class:`HostProbe`, run before each task and after the last, was slowed
    by more than its tolerance. Rounds are run until ``repeats`` of them are
    undisturbed, or ``3 * repeats`` in all; then the least disturbed rounds
    are kept (ranked by the probe's slowest run, over the best it ever ran),
    chosen by the probe alone and never by the tasks' own times. The foreign
    load or the probe's slowdown of every round left out is appended to
    ``noisy``.
    """
    names = list(tasks)
    probe = HostProbe()
    rounds = []  # (foreign load, the probe's slowest seconds, the tasks' seconds)
    while sum(_undisturbed(r, probe, limit) for r in rounds) < repeats and len(rounds) < 3 * repeats:
        shift = len(rounds) % len(names)
        wait_for_quiet(limit)
        sample, probes = {}, []
        with CpuMeter() as meter:
            for name in names[shift:] + names[:shift]:
                probes.append(probe.measure())
                gc.collect()
                began = time.perf_counter()
                tasks[name]()
                sample[name] = time.perf_counter() - began
            probes.append(probe.measure())
        rounds.append((meter.foreign, max(probes), sample))
    ranked = sorted(rounds, key=lambda r: (not _undisturbed(r, probe, limit), r[1]))
    for foreign, slowest, _ in ranked[repeats:]:
        if noisy is not None:
            noisy.append(foreign if foreign > limit else slowest / probe.best)
    return {name: [sample[name] for _, _, sample in ranked[:repeats]] for name in names}


def _undisturbed(round_: tuple, probe: HostProbe, limit: float) -> bool:
    foreign, slowest, _ = round_
    return foreign <= limit and slowest <= probe.best * (1 + probe.tolerance)


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
