"""``python -m benchmarks.defaults``: the command line's default training against scikit-learn's defaults.

For every bundled data set, on the command line's own split (stratified 75/25, seeds 0, 1, 2), it
trains ``layerwise train`` with a few candidate settings and scikit-learn's ``MLPClassifier`` /
``MLPRegressor`` with their defaults (after a ``StandardScaler``, as layerwise standardises by
default), and a linear model as a floor. It writes the mean test accuracy (R² for diabetes), the
mean number of epochs and the mean wall time to ``benchmarks/DEFAULTS.md``. One thread, about six
minutes on a busy two-core machine.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

CANDIDATES = {
    "20 epochs, no early stopping, no L2 (0.1.0)": {"epochs": 20, "early_stopping": False},
    "**early stop (patience 10, val 0.2, min_delta 1e-4), no L2 (default)**": {},
    "early stop, l2 0.3": {"l2": 0.3},
    "early stop, l2 1": {"l2": 1.0},
    "early stop, l2 3": {"l2": 3.0},
}
"""Settings over the command line's defaults (early stopping on, at most 500 epochs, patience 10, min_delta 1e-4,
no L2 penalty)."""
SEEDS = (0, 1, 2)
DATA = ("iris", "wine", "breast_cancer", "digits", "diabetes")


def layerwise_run(data: str, seed: int, options: dict) -> tuple[float, int, float]:
    """Test score, epochs trained and seconds of one ``layerwise train`` with ``options`` over the defaults."""
    from layerwise.cli.config import TrainOptions
    from layerwise.cli.train import train_run

    with tempfile.TemporaryDirectory() as out, contextlib.redirect_stderr(io.StringIO()):
        opts = TrainOptions(**{**options, "data": data, "seed": seed, "out": out, "quiet": True})
        began = time.perf_counter()
        model, metrics, run_dir, _ = train_run(opts)
        seconds = time.perf_counter() - began
        import json

        epochs = len(json.loads((Path(run_dir) / "history.json").read_text())["epoch"])
    return metrics.get("accuracy", metrics.get("r2")), epochs, seconds


def sklearn_run(data: str, seed: int, kind: str) -> tuple[float, int, float]:
    """Test score, iterations and seconds of scikit-learn's default MLP (or a linear model) on the same split."""
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LinearRegression, LogisticRegression
    from sklearn.neural_network import MLPClassifier, MLPRegressor
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from layerwise.cli.data import split_indices
    from layerwise.data.datasets import load_dataset

    dataset = load_dataset(data)
    train, test = split_indices(dataset.y, dataset.task, 0.25, seed)
    classify = dataset.task == "classification"
    if kind == "mlp":
        model = (MLPClassifier if classify else MLPRegressor)(random_state=seed)
    else:
        model = LogisticRegression(max_iter=1000) if classify else LinearRegression()
    pipeline = make_pipeline(StandardScaler(), model)
    began = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        pipeline.fit(dataset.X[train], dataset.y[train])
    seconds = time.perf_counter() - began
    return pipeline.score(dataset.X[test], dataset.y[test]), model.n_iter_ if kind == "mlp" else 0, seconds


def table(seeds=SEEDS) -> str:
    rows = {name: {} for name in [*CANDIDATES, "scikit-learn MLP defaults", "linear model"]}
    for data in DATA:
        for name, options in CANDIDATES.items():
            rows[name][data] = np.mean([layerwise_run(data, seed, options) for seed in seeds], axis=0)
        rows["scikit-learn MLP defaults"][data] = np.mean([sklearn_run(data, seed, "mlp") for seed in seeds], axis=0)
        rows["linear model"][data] = np.mean([sklearn_run(data, seed, "linear") for seed in seeds], axis=0)
    header = "| setting | " + " | ".join(f"{data} ({'R²' if data == 'diabetes' else 'accuracy'})"
                                          for data in DATA) + " |"
    lines = [header, "|" + "---|" * (len(DATA) + 1)]
    for name, cells in rows.items():
        parts = []
        for data in DATA:
            score, epochs, seconds = cells[data]
            ran = f"{epochs:.0f} ep, " if epochs else ""
            parts.append(f"{score:.3f} ({ran}{seconds:.2f} s)")
        lines.append(f"| {name} | " + " | ".join(parts) + " |")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.defaults", description=__doc__.splitlines()[0])
    parser.add_argument("-o", "--output", default=str(Path(__file__).with_name("DEFAULTS.md")))
    args = parser.parse_args(argv)
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1):
        text = table()
    document = (f"# Command-line defaults against scikit-learn's\n\n`python -m benchmarks.defaults`: mean over seeds "
                f"{', '.join(map(str, SEEDS))} of the test score on the command line's 75/25 split, with the mean "
                "epochs (iterations for scikit-learn) and wall time of the training, one thread.\n\n" + text + "\n")
    Path(args.output).write_text(document, encoding="utf-8")
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
