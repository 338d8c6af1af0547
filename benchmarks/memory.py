"""Peak training memory of one framework on one workload, measured in a fresh interpreter.

``tracemalloc`` sees only NumPy's allocations, not PyTorch's, so memory is
read from the operating system instead: each measurement is a new Python
process that reports its own peak resident set size as it finishes, from
``VmHWM`` in ``/proc/self/status`` (the high-water mark of the process's own
address space). ``getrusage``'s ``ru_maxrss`` is the fallback where there is
no ``/proc``; on Linux it is not used first because a child started by a
large parent inherits the parent's resident size at ``fork`` into its
``ru_maxrss`` (and ``RUSAGE_CHILDREN`` reports that same figure), which
would hide the child's own peak behind the benchmark runner's. A *baseline*
process imports the framework and loads the data and nothing more; a
*training* process does the same and then trains one full epoch (after a
short first call that builds the model). For layerwise both first load its
compiled optimizer step (numba's, when installed), a library cost like
PyTorch's import. After loading, both reset their peak to the current size
(``/proc/self/clear_refs``, where Linux allows it), so that the transients of
loading, such as LLVM's or the data generator's, do not hide a smaller
training peak. The training memory reported is the difference of the two
peaks, so the interpreter, the libraries and the data set, which every
framework shares, cancel out.

Used by ``python -m benchmarks``; by hand::

    python -m benchmarks.memory w1 PyTorch --baseline
    python -m benchmarks.memory w1 PyTorch
"""

from __future__ import annotations

import argparse
import importlib
import json
import re
import resource
import subprocess
import sys
from pathlib import Path

from .timing import pin_threads
from .workloads import RUNNERS, WORKLOADS

IMPORTS = {"layerwise": "layerwise", "PyTorch": "torch", "JAX": "jax", "scikit-learn": "sklearn.neural_network"}
"""The module each framework's adapter imports; the baseline imports it too."""

ROOT = Path(__file__).resolve().parent.parent


def peak_rss_mib() -> float:
    """This process's peak resident set size in MiB."""
    try:
        status = Path("/proc/self/status").read_text()
        return int(re.search(r"^VmHWM:\s*(\d+) kB", status, re.M).group(1)) / 1024
    except (OSError, AttributeError):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def measure(workload: str, framework: str, threads: int) -> dict:
    """Run the baseline and the training process; return both peaks and their difference, in MiB."""
    peaks = {}
    for mode in ("baseline", "training"):
        command = [sys.executable, "-m", "benchmarks.memory", workload, framework, "--threads", str(threads)]
        if mode == "baseline":
            command.append("--baseline")
        done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=True)
        peaks[mode] = json.loads(done.stdout.strip().splitlines()[-1])["peak_rss_mib"]
    return {**peaks, "training_mib": peaks["training"] - peaks["baseline"]}


def load_fused_kernels(dtype: str) -> None:
    """Load layerwise's compiled optimizer step (numba and LLVM), as importing torch loads torch's kernels.

    The kernels are compiled, or read from numba's disk cache, on the first
    step; that memory belongs to the library, like PyTorch's, so both the
    baseline and the training process pay it before they are compared.
    """
    import numpy as np

    import layerwise
    from layerwise.optim import kernels

    if kernels.ENABLED:
        layerwise.Adam().step({"w": np.zeros(1, dtype)}, {"dw": np.zeros(1, dtype)})


def reset_peak_rss() -> None:
    """Set this process's peak resident size (``VmHWM``) to its current size, where Linux allows it."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        pass


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.memory", description=__doc__.splitlines()[0])
    parser.add_argument("workload", choices=sorted(WORKLOADS))
    parser.add_argument("framework", choices=list(RUNNERS))
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--baseline", action="store_true", help="import and load the data only")
    args = parser.parse_args(argv)

    importlib.import_module(IMPORTS[args.framework])
    pin_threads(args.threads)
    workload = WORKLOADS[args.workload]
    if args.framework == "layerwise":
        load_fused_kernels(workload.dtype)
    X, y = workload.load()
    reset_peak_rss()  # the transients of loading (LLVM's, the data generator's) would hide a small training peak
    if not args.baseline:
        runner = RUNNERS[args.framework](workload, X, y)
        runner.epoch(slice(0, 4 * workload.batch_size))
        runner.epoch()
    print(json.dumps({"peak_rss_mib": peak_rss_mib()}))


if __name__ == "__main__":
    main()
