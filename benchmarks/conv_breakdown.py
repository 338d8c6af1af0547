"""Where a convolutional network's training time goes: im2col, the matrix products, col2im, pooling.

Trains one epoch of a convolutional workload (``c1`` LeNet-5, ``c2`` the digits CNN) with a clock
around every call of the convolution and pooling functions the layers use, and times the batch's
matrix products alone as the floor does::

    python -m benchmarks.conv_breakdown c1
    python -m benchmarks.conv_breakdown c2 --epochs 5
"""

from __future__ import annotations

import argparse
import time
from collections import defaultdict

from .timing import pin_threads
from .workloads import WORKLOADS, FloorRunner, LayerwiseRunner

PHASES = {
    "im2col (with zero padding)": ("convolution", ("pad_into", "im2col")),
    "convolution matrix products (Z, dW, dcols)": ("convolution", ("conv_forward", "conv_forward_relu",
                                                                   "conv_backward")),
    "col2im": ("convolution", ("col2im",)),
    "pooling, forward and backward": ("image_kernels", ("max_pool_forward", "max_pool_backward",
                                                        "max_pool_2x2_forward", "max_pool_2x2_backward",
                                                        "avg_pool_forward", "avg_pool_backward")),
}


def breakdown(key: str, epochs: int) -> tuple[dict[str, float], float, float, int]:
    """Seconds per epoch of each phase, the epoch's total, the matrix products alone, and the batches."""
    from layerwise.ops import convolution, image_kernels, pooling

    modules = {"convolution": convolution, "image_kernels": image_kernels if image_kernels.ENABLED else pooling}
    workload = WORKLOADS[key]
    X, y = workload.load()
    runner = LayerwiseRunner(workload, X, y)
    runner.epoch(slice(0, 20 * workload.batch_size))
    totals: dict[str, float] = defaultdict(float)
    originals = []
    for phase, (module_name, names) in PHASES.items():
        module = modules[module_name]
        for name in (name for name in names if hasattr(module, name)):  # the 2x2 loops are compiled only
            original = getattr(module, name)
            originals.append((module, name, original))
            setattr(module, name, _timed(original, totals, phase))
    try:
        began = time.perf_counter()
        for _ in range(epochs):
            runner.epoch()
        total = (time.perf_counter() - began) / epochs
    finally:
        for module, name, original in originals:
            setattr(module, name, original)
    floor = FloorRunner(workload, X, y)
    floor.epoch()
    began = time.perf_counter()
    floor.epoch()
    products = time.perf_counter() - began
    return {phase: seconds / epochs for phase, seconds in totals.items()}, total, products, -(-X.shape[0] //
                                                                                               workload.batch_size)


def _timed(function, totals: dict, phase: str):
    def call(*args, **kwargs):
        began = time.perf_counter()
        result = function(*args, **kwargs)
        totals[phase] += time.perf_counter() - began
        return result

    return call


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.conv_breakdown", description=__doc__.splitlines()[0])
    parser.add_argument("workload", choices=sorted(key for key, w in WORKLOADS.items() if w.convs))
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args(argv)
    import os

    import layerwise  # noqa: F401  (loaded before pinning threads)

    pin_threads(args.threads or os.cpu_count())
    phases, total, products, batches = breakdown(args.workload, args.epochs)
    rows = list(phases.items())
    rows.append(("everything else (activations, Dense layers, loss, optimizer step, Python)",
                 total - sum(phases.values())))
    print(f"{args.workload}: {total:.3f} s per epoch of {batches} batches ({total / batches * 1e3:.2f} ms per batch); "
          f"the matrix products alone (convolutions and Dense) take {products:.3f} s")
    print("| phase | ms per batch | share of the epoch |")
    print("|---|---|---|")
    for phase, seconds in rows:
        print(f"| {phase} | {seconds / batches * 1e3:.3f} | {100 * seconds / total:.0f}% |")
    print(f"| matrix products alone, timed apart (the floor) | {products / batches * 1e3:.3f} | "
          f"{100 * products / total:.0f}% |")


if __name__ == "__main__":
    main()
