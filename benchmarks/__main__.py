"""``python -m benchmarks``: run the workloads side by side and report ratios.

Examples
--------
::

    python -m benchmarks                     # all workloads; writes benchmarks/RESULTS.md
    python -m benchmarks -w w1 w3 -r 3       # a selection, printed only
    python -m benchmarks -w w2 -o out.md     # a selection, written to out.md
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import numpy as np

from . import report, timing
from .timing import calls_for, interleaved, per_call, pin_threads, summary, wait_for_quiet
from .workloads import (
    INFERENCE_BATCHES,
    RUNNERS,
    WORKLOADS,
    FloorRunner,
    FloorWithStepRunner,
    NumPyStepsRunner,
    matmul_peak_gflops,
)

INFERENCE = "w3"
ORDER = ["w1", "w2", INFERENCE, "w4", "w5", "w6", "w1-f64", "c1", "c2"]
RESULTS = Path(__file__).resolve().parent / "RESULTS.md"
WARM_UP_BATCHES = 20


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def run_training(key: str, repeats: int, threads: int, memory: bool) -> dict:
    """Time one epoch of every framework (and of the matrix products alone), interleaved."""
    from .memory import measure

    workload = WORKLOADS[key]
    X, y = workload.load()
    runners = {name: cls(workload, X, y) for name, cls in RUNNERS.items() if name in workload.frameworks}
    from layerwise.optim import kernels as fused

    if fused.ENABLED:  # what the fused optimizer step buys, measured in the same rounds
        runners[NumPyStepsRunner.name] = NumPyStepsRunner(workload, X, y)
    runners[FloorRunner.name] = FloorRunner(workload, X, y)
    if not workload.convs:
        runners[FloorWithStepRunner.name] = FloorWithStepRunner(workload, X, y)
    warm = slice(0, WARM_UP_BATCHES * workload.batch_size)
    for runner in runners.values():
        runner.epoch(warm)
    log(f"{key}: timing {repeats} epochs of {', '.join(runners)}")
    noisy = []
    times = interleaved({name: runner.epoch for name, runner in runners.items()}, repeats, noisy)
    flops = workload.flops_per_epoch(X.shape[0], int(np.prod(X.shape[1:])))
    result = {
        "kind": "training", "key": key, "title": workload.title, "repeats": repeats, "targets": workload.targets,
        "floor_target": workload.floor_target,
        "epoch_gflop": flops / 1e9, "dtype": workload.dtype, "discarded": len(noisy),
        "times": {name: {**summary(t), "gflops": flops / 1e9 / summary(t)["median"]} for name, t in times.items()},
    }
    if memory:
        log(f"{key}: measuring peak memory in fresh processes")
        result["memory"] = {name: measure(key, name, threads) for name in workload.frameworks}
    return result


def run_inference(repeats: int) -> dict:
    """``predict`` latency on W1's network for each batch size in ``INFERENCE_BATCHES``."""
    workload = WORKLOADS["w1"]
    X, y = workload.load()
    runners = {name: cls(workload, X, y) for name, cls in RUNNERS.items()}
    for runner in runners.values():
        runner.epoch(slice(0, WARM_UP_BATCHES * workload.batch_size))
    times, noisy = {}, []
    for n in INFERENCE_BATCHES:
        rows = X[:n]
        predicts = {name: (lambda r=runner, x=rows: r.predict(x)) for name, runner in runners.items()}
        predicts["matrix products alone"] = products_alone(runners["layerwise"].net, rows)
        calls = {name: calls_for(predict, 0.05) for name, predict in predicts.items()}
        tasks = {name: per_call(predict, calls[name]) for name, predict in predicts.items()}
        log(f"{INFERENCE}: timing predict on {n} row(s), {repeats} rounds")
        raw = interleaved(tasks, repeats, noisy)
        times[n] = {name: summary([t / calls[name] for t in samples]) for name, samples in raw.items()}
    return {"kind": "inference", "key": INFERENCE, "repeats": repeats, "batches": list(INFERENCE_BATCHES),
            "discarded": len(noisy),
            "title": "W3 inference: predict with W1's network (784-512-256-10, float32)", "times": times}


def products_alone(net, rows: np.ndarray):
    """A call that runs ``net``'s forward matrix products on ``rows`` into buffers made once: predict's floor."""
    weights = [layer.W.T for layer in net.dense]
    outputs = [np.empty((rows.shape[0], W.shape[1]), rows.dtype) for W in weights]

    def call() -> None:
        A = rows
        for W, out in zip(weights, outputs):
            A = np.matmul(A, W, out=out)

    return call


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.splitlines()[0])
    parser.add_argument("-w", "--workloads", nargs="+", choices=ORDER, metavar="W",
                        help=f"workloads to run, from {', '.join(ORDER)} (default: all)")
    parser.add_argument("-r", "--repeats", type=int, default=5, help="timed repeats per framework (default 5)")
    parser.add_argument("-t", "--threads", type=int, default=os.cpu_count(),
                        help="threads per framework (default: all cores; fewer pins the process to as many cores)")
    parser.add_argument("--no-memory", action="store_true", help="skip the peak-memory subprocesses")
    parser.add_argument("--max-wait", type=float, default=timing.MAX_WAIT,
                        help=f"seconds to wait for a quiet machine before each round (default {timing.MAX_WAIT:g})")
    parser.add_argument("-o", "--output", type=Path,
                        help="Markdown file to update (default: benchmarks/RESULTS.md when running all workloads)")
    args = parser.parse_args(argv)
    selected = args.workloads or ORDER
    output = args.output or (RESULTS if args.workloads is None else None)
    try:
        import jax  # noqa: F401  (an optional peer: the bench extra installs it)
    except ImportError:
        RUNNERS.pop("JAX")
        log("JAX is not installed: its rows are left out (pip install -e '.[bench]')")

    if args.threads < os.cpu_count():  # before JAX sizes its thread pool from the cores it may use
        os.sched_setaffinity(0, sorted(os.sched_getaffinity(0))[: args.threads])
    import sklearn.neural_network  # noqa: F401  (loaded before pinning threads)
    import torch  # noqa: F401

    import layerwise  # noqa: F401

    pin_threads(args.threads)
    timing.MAX_WAIT = args.max_wait
    info = report.machine()
    dtypes = sorted({"float32"} | {WORKLOADS[key].dtype for key in selected if key != INFERENCE})
    wait_for_quiet()
    peaks = {dtype: matmul_peak_gflops(dtype) for dtype in dtypes}
    results = []
    for key in selected:
        if key == INFERENCE:
            results.append(run_inference(args.repeats))
        else:
            results.append(run_training(key, args.repeats, args.threads, not args.no_memory))
    wait_for_quiet()
    peaks = {dtype: max(peaks[dtype], matmul_peak_gflops(dtype)) for dtype in dtypes}  # best of start and end
    command = "python -m benchmarks" + ("" if args.workloads is None else " -w " + " ".join(args.workloads))
    command += f" -r {args.repeats}" if args.repeats != 5 else ""
    command += f" -t {args.threads}" if args.threads != os.cpu_count() else ""
    command += f" --max-wait {args.max_wait:g}" if args.max_wait != 60 else ""
    settings = {"command": command, "threads": args.threads, "repeats": args.repeats, "peaks": peaks}
    section = report.markdown(results, info, settings)
    print(section)
    if output is not None:
        report.write(output, section, args.threads)
        log(f"wrote {output}")


if __name__ == "__main__":
    main()
