"""The machine description and the Markdown tables of a benchmark run."""

from __future__ import annotations

import datetime
import os
import platform
import re
import subprocess
from pathlib import Path

BEGIN, END = "<!-- generated:begin -->", "<!-- generated:end -->"

INFERENCE_TARGETS = {1: {"PyTorch": 2.0, "JAX": 1.0, "scikit-learn": 1.0},
                     1024: {"PyTorch": 1.0, "JAX": 1.0, "scikit-learn": 1.0}}
"""Required speed-up of ``predict`` over each peer, by rows per call: one row at most half PyTorch's latency."""


def markers(threads: int) -> tuple[str, str]:
    """The markers around a run's generated section: the all-cores run has the plain ones, others name the threads."""
    if threads == os.cpu_count():
        return BEGIN, END
    return f"<!-- generated:begin threads={threads} -->", f"<!-- generated:end threads={threads} -->"


def machine() -> dict[str, str]:
    """CPU, core count, load and library versions, with the BLAS each framework uses."""
    import numpy
    import sklearn
    import torch
    from threadpoolctl import threadpool_info

    cpu = platform.processor() or "unknown"
    try:
        cpuinfo = Path("/proc/cpuinfo").read_text()
        cpu = re.search(r"^model name\s*:\s*(.+)$", cpuinfo, re.M).group(1).strip()
        flags = re.search(r"^flags\s*:\s*(.+)$", cpuinfo, re.M).group(1).split()
        family = re.search(r"^cpu family\s*:\s*(\d+)$", cpuinfo, re.M).group(1)
        model = re.search(r"^model\s*:\s*(\d+)$", cpuinfo, re.M).group(1)
        cpu += f" (family {family}, model {model}; " + ", ".join(f for f in ("avx2", "avx512f", "fma") if f in flags)
        cpu += "; " + ("hypervisor" if "hypervisor" in flags else "bare metal") + ")"
    except (OSError, AttributeError):
        pass
    blas = "; ".join(
        f"{info.get('internal_api')} {info.get('version')} ({info.get('architecture')}, "
        f"{os.path.basename(info.get('filepath', ''))})"
        for info in threadpool_info() if info.get("user_api") == "blas"
    )
    torch_blas = re.search(r"BLAS_INFO=(\w+)", torch.__config__.show())
    return {
        "layerwise": layerwise_source(),
        "CPU": cpu,
        "cores": str(os.cpu_count()),
        "Python": platform.python_version(),
        "NumPy": numpy.__version__,
        "PyTorch": torch.__version__,
        "JAX": jax_version(),
        "scikit-learn": sklearn.__version__,
        "numba (layerwise's fused optimizer step)": numba_status(),
        "BLAS (NumPy, scikit-learn)": blas,
        "BLAS (PyTorch)": torch_blas.group(1) if torch_blas else "unknown",
        "load average at start": " ".join(f"{x:.2f}" for x in os.getloadavg()),
    }


def jax_version() -> str:
    """JAX's and optax's versions, or "not installed"."""
    try:
        import jax
        import optax
    except ImportError:
        return "not installed"
    return f"{jax.__version__} (optax {optax.__version__})"


def numba_status() -> str:
    """The numba version when layerwise's fused optimizer kernels are on, or why they are off."""
    from layerwise.optim import kernels as fused

    if not fused.ENABLED:
        return "off (not installed, or LAYERWISE_NUMBA=0): NumPy optimizer step"
    import numba

    return f"{numba.__version__}, on"


def layerwise_source() -> str:
    """Where the layerwise under test was imported from, with its git commit when it has one."""
    import layerwise

    folder = Path(layerwise.__file__).resolve().parent
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=folder, capture_output=True,
                                text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "."], cwd=folder, capture_output=True,
                               text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return f"{layerwise.__version__} from {folder}"
    return f"{layerwise.__version__} from {folder}, commit {commit}" + (" with local changes" if dirty else "")


def seconds(t: float) -> str:
    """A duration with a unit that keeps three significant figures."""
    if t >= 1:
        return f"{t:.2f} s"
    if t >= 1e-3:
        return f"{t * 1e3:.3g} ms"
    return f"{t * 1e6:.3g} µs"


def verdict(value: float, target: float) -> str:
    return "yes" if value >= target else "**no**"


def discarded(result: dict) -> str:
    n = result.get("discarded", 0)
    return f" ({n} more round{'s' * (n != 1)} run and left out: the machine or its host was busy)" if n else ""


def training_table(result: dict, peaks: dict) -> list[str]:
    """Rows for one training workload: every framework and the matrix-product floor."""
    rows, lw = result["times"], result["times"]["layerwise"]["median"]
    memory = result.get("memory", {})
    lines = [
        f"### {result['title']}",
        "",
        f"{result['epoch_gflop']:.1f} GFLOP of matrix products per epoch; {result['repeats']} timed epochs each"
        f"{discarded(result)}.",
        "",
        "| | time per epoch (median) | min – max | layerwise speed-up | GFLOP/s | % of matmul peak "
        "| training memory (MiB) |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, t in rows.items():
        speedup = "—" if name == "layerwise" else f"{t['median'] / lw:.2f}x"
        if name.startswith("matrix products"):
            speedup = f"layerwise takes {lw / t['median']:.2f}x this"
        mem = memory.get(name)
        mem_text = f"{max(mem['training_mib'], 0.0):.0f}" if mem else "—"
        lines.append(
            f"| {name} | {seconds(t['median'])} | {seconds(t['min'])} – {seconds(t['max'])} | {speedup} "
            f"| {t['gflops']:.1f} | {100 * t['gflops'] / peaks[result['dtype']]:.0f}% | {mem_text} |"
        )
    return lines + [""]


def inference_table(result: dict) -> list[str]:
    lines = [
        f"### {result['title']}",
        "",
        "Latency of one `predict` call (class labels from NumPy input), median of "
        f"{result['repeats']} interleaved rounds{discarded(result)}.",
        "",
        "| | " + " | ".join(f"{n:,} example{'s' * (n > 1)}" for n in result["batches"]) + " |",
        "|---|" + "---|" * len(result["batches"]),
    ]
    first = result["times"][result["batches"][0]]
    for name in first:
        cells = []
        for n in result["batches"]:
            t, lw = result["times"][n][name]["median"], result["times"][n]["layerwise"]["median"]
            cells.append(seconds(t) + ("" if name == "layerwise" else f" ({t / lw:.2f}x layerwise)"))
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return lines + [""]


def summary_rows(results: list[dict]) -> list[str]:
    lines = ["Ratios of medians decide; the ratio of the best (fastest) repeats, which a busy host disturbs "
             "least, is given beside them.", "",
             "| workload | compared with | target | measured: medians (best) | met |", "|---|---|---|---|---|"]
    for result in results:
        key, times = result["key"].upper(), result["times"]
        if result["kind"] == "training":
            lw = times["layerwise"]
            for peer, target in result["targets"].items():
                if peer not in times:
                    continue
                ratio = times[peer]["median"] / lw["median"]
                lines.append(f"| {key} | {peer} (time per epoch) | ≥ {target:g}x faster | {ratio:.2f}x "
                             f"({times[peer]['min'] / lw['min']:.2f}x) | {verdict(ratio, target)} |")
            floor, most = times["matrix products alone"], result["floor_target"]
            if most is not None:
                ratio = lw["median"] / floor["median"]
                lines.append(f"| {key} | its matrix products alone | within {most:g}x | {ratio:.2f}x "
                             f"({lw['min'] / floor['min']:.2f}x) | {'yes' if ratio <= most else '**no**'} |")
            memory = result.get("memory")
            if memory and result["key"] == "w1":
                ours, theirs = memory["layerwise"]["training_mib"], memory["PyTorch"]["training_mib"]
                lines.append(f"| {key} | PyTorch (training memory) | no more | {ours:.0f} vs {theirs:.0f} MiB "
                             f"| {'yes' if ours <= theirs else '**no**'} |")
        else:
            for n in result["batches"]:
                lw = times[n]["layerwise"]
                for peer, target in INFERENCE_TARGETS.get(n, {}).items():
                    if peer not in times[n]:
                        continue
                    ratio = times[n][peer]["median"] / lw["median"]
                    wanted = "lower latency" if target == 1.0 else f"≤ 1/{target:g} of its latency"
                    lines.append(f"| {key} | {peer} (predict, {n:,} rows) | {wanted} | {ratio:.2f}x "
                                 f"({times[n][peer]['min'] / lw['min']:.2f}x) | {verdict(ratio, target)} |")
    return lines + [""]


def markdown(results: list[dict], info: dict, settings: dict) -> str:
    """The generated section of RESULTS.md."""
    stamp = datetime.datetime.now().strftime("%Y-%m-%d %H:%M")
    begin, end = markers(settings["threads"])
    lines = [begin, "", f"Generated {stamp} by `{settings['command']}`; {settings['threads']} thread(s) for every "
             f"framework, {settings['repeats']} timed repeats after a warm-up.", ""]
    lines += [f"- **{key}**: {value}" for key, value in info.items()]
    lines += [f"- **matrix-multiply peak** ({n}x{n} NumPy matmul, best at the start and the end): " + ", ".join(
        f"{dtype} {gflops:.0f} GFLOP/s" for dtype, gflops in settings["peaks"].items()) for n in (2048,)]
    lines += ["", "#### Targets", ""] + summary_rows(results)
    for result in results:
        lines += training_table(result, settings["peaks"]) if result["kind"] == "training" else inference_table(result)
    return "\n".join(lines + [end, ""])


def write(path: Path, section: str, threads: int) -> None:
    """Replace the generated section of ``path`` for ``threads``, keeping the hand-written text around it."""
    begin, end = markers(threads)
    text = path.read_text() if path.exists() else "# Benchmark results\n\n"
    if begin in text and end in text:
        head, rest = text.split(begin, 1)
        tail = rest.split(end, 1)[1].lstrip("\n")
        text = head + section + ("\n" + tail if tail else "")
    else:
        text = text.rstrip("\n") + "\n\n" + section
    path.write_text(text)
