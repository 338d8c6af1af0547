"""Commands that use a saved model: evaluate and predict."""

from __future__ import annotations

import csv
import io
import json
import sys
from pathlib import Path

import numpy as np

from ..errors import ConfigError, OutputError
from ..io.atomic import write_output
from .data import evaluation_data
from .metrics import format_metrics, measure, predicted_index, probabilities
from .model import Model, load_model


def cmd_evaluate(args) -> int:
    """``layerwise evaluate``: metrics of a saved model on labelled data."""
    model = load_model(args.model)
    split = args.split or default_split(model, args.data)
    X, y, description = evaluation_data(model, args.data, args.target, split, args.timeout)
    metrics = measure(model, X, y)
    metrics["data"], metrics["split"] = description, split
    unwritten = None
    if not args.no_plot:
        from ..inspect import plots

        try:  # the metrics are still worth having when the figure cannot be written: print them, then report
            if metrics["task"] == "classification":
                figure = "confusion-matrix plot"
                path = Path(args.plot) if args.plot else model.path.parent / "confusion.png"
                plots.confusion_matrix(metrics["confusion_matrix"], model.labels, path, title=f"{description}")
                metrics["confusion_png"] = str(path)
            else:
                figure = "predicted-versus-true plot"
                path = Path(args.plot) if args.plot else model.path.parent / "predicted.png"
                predicted = model.net.predict(X).astype(np.float64)
                plots.predicted_vs_true(y.reshape(predicted.shape), predicted, path, title=f"{description}")
                metrics["predicted_png"] = str(path)
        except OutputError as exc:
            unwritten = f"the {figure} was not written: {exc}"
    if args.json:
        print(json.dumps(metrics, indent=1))
    else:
        print(format_metrics(metrics))
    if unwritten is not None:
        sys.stdout.flush()
        raise OutputError(f"{unwritten} (choose another file with --plot, or --no-plot)")
    return 0


def default_split(model: Model, source: str | None) -> str:
    """``test`` when no --data is given and the model records a held-out test split of its data, else ``all``."""
    trained = model.info.get("data", {})
    if source is not None or not isinstance(trained, dict):
        return "all"
    if trained.get("split") == "official" or (trained.get("split") == "random" and trained.get("test_split")):
        return "test"
    return "all"


def cmd_predict(args) -> int:
    """``layerwise predict``: predictions as CSV, labels as they were in training."""
    from ..data.datasets import read_features

    model = load_model(args.model)
    if args.proba and model.task != "classification":
        raise ConfigError("--proba applies to classifiers; this model does regression")
    source = "standard input" if args.input == "-" else args.input
    X, names = read_features(args.input, known_names=model.columns)
    X = model.rows(X, names, source)
    if model.task == "classification":
        header, rows = _classification_rows(model, model.net.predict_proba(X), args.proba)
    else:
        values = model.net.predict(X).astype(np.float64)
        header = ["prediction"] if values.shape[1] == 1 else [f"prediction_{k}" for k in range(values.shape[1])]
        rows = ([f"{value:.8g}" for value in row] for row in values)
    if args.output:
        table = io.StringIO()
        _write_csv(table, header, rows)
        write_output(args.output, table.getvalue().encode())
    else:
        _write_csv(sys.stdout, header, rows)
    return 0


def _classification_rows(model: Model, AL: np.ndarray, proba: bool):
    labels = model.labels
    predicted = predicted_index(model.net, AL)
    header = ["prediction"]
    if not proba:
        return header, ([labels[index]] for index in predicted)
    header += [f"proba_{label}" for label in labels]
    P = probabilities(model.net, AL)
    return header, ([labels[index], *(f"{p:.6g}" for p in row)] for index, row in zip(predicted, P))


def _write_csv(stream, header: list, rows) -> None:
    writer = csv.writer(stream, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
