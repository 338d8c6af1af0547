"""Where layerwise's training time goes: one workload's batches, phase by phase.

Runs the steps of ``_Trainer.run_epoch`` (the same calls, in the same order)
with a clock around each, and times the batch's matrix products alone the way
the floor does, so that forward and backward split into matrix products and
the rest (element-wise work and Python)::

    python -m benchmarks.breakdown w1
    python -m benchmarks.breakdown w2 --batches 2000
"""

from __future__ import annotations

import argparse
import math
import time

import numpy as np

from .timing import pin_threads
from .workloads import WORKLOADS, LayerwiseRunner, matmul_operands, run_matmuls

PHASES = ("gather", "forward", "loss", "backward", "gradient check", "optimizer step", "accuracy")


def breakdown(key: str, batches: int) -> dict[str, float]:
    """Mean seconds per full batch of each phase, plus ``matrix products`` (timed separately)."""
    from layerwise.train.callbacks import CallbackList
    from layerwise.train.loop import _predict_into, _Trainer

    workload = WORKLOADS[key]
    X, y = workload.load()
    runner = LayerwiseRunner(workload, X, y)
    runner.epoch(slice(0, 20 * workload.batch_size))
    net, size = runner.net, workload.batch_size
    trainer = _Trainer(net, net.check_X(X), net.check_Y(y), None, size, True, runner.optimizer, None)
    trainer.run_epoch(0, CallbackList([]))
    totals = dict.fromkeys(PHASES, 0.0)
    m, done = X.shape[0], 0
    while done < batches:
        for start in range(0, m - size + 1, size):
            stop = start + size
            t0 = time.perf_counter()
            Xb, Yb = trainer.inputs(start, stop), trainer.Y_epoch[start:stop]
            ws = trainer.workspace(size)
            t1 = time.perf_counter()
            cache = net._forward(Xb, True, ws)
            t2 = time.perf_counter()
            J = net._loss(cache[f"A{net.L}"], Yb, None, ws["loss"])
            t3 = time.perf_counter()
            net._backward(cache, Yb, None, ws)
            t4 = time.perf_counter()
            math.isfinite(float(np.dot(net.dtheta, net.dtheta))) and math.isfinite(J)
            t5 = time.perf_counter()
            trainer.optimizer.step(trainer.params, trainer.grads)
            t6 = time.perf_counter()
            _predict_into(cache[f"A{net.L}"], trainer.predicted[start:stop])
            t7 = time.perf_counter()
            for phase, began, ended in zip(PHASES, (t0, t1, t2, t3, t4, t5, t6), (t1, t2, t3, t4, t5, t6, t7)):
                totals[phase] += ended - began
            done += 1
            if done == batches:
                break
    ops = matmul_operands(workload, X.shape[1], size, np.random.default_rng(1))
    run_matmuls(ops)
    began = time.perf_counter()
    for _ in range(batches):
        run_matmuls(ops)
    means = {phase: total / batches for phase, total in totals.items()}
    means["matrix products"] = (time.perf_counter() - began) / batches
    return means


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.breakdown", description=__doc__.splitlines()[0])
    parser.add_argument("workload", choices=sorted(WORKLOADS))
    parser.add_argument("--batches", type=int, default=400)
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args(argv)
    import os

    import layerwise  # noqa: F401  (loaded before pinning threads)

    pin_threads(args.threads or os.cpu_count())
    means = breakdown(args.workload, args.batches)
    products = means.pop("matrix products")
    total = sum(means.values())
    rows = [("matrix products (timed alone)", products)]
    rows.append(("forward + backward, other than the products", means["forward"] + means["backward"] - products))
    rows += [(phase, means[phase]) for phase in PHASES if phase not in ("forward", "backward")]
    print(f"{args.workload}: {total * 1e6:.0f} µs per batch of {WORKLOADS[args.workload].batch_size}")
    print("| phase | µs per batch | share |")
    print("|---|---|---|")
    for phase, seconds in rows:
        print(f"| {phase} | {seconds * 1e6:.1f} | {100 * seconds / total:.0f}% |")


if __name__ == "__main__":
    main()
