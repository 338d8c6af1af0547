"""Metrics of a model on labelled data (scikit-learn's), and their text report."""

from __future__ import annotations

import numpy as np

from ..errors import ConfigError
from .model import Model


def predicted_index(net, AL: np.ndarray) -> np.ndarray:
    """Class index per row: argmax of a softmax, threshold 0.5 of a single sigmoid."""
    index = net.loss_fn.decide(AL)
    if index.ndim != 1:
        raise ConfigError("multi-label networks (several sigmoid outputs) are not supported by this command")
    return index


def probabilities(net, AL: np.ndarray) -> np.ndarray:
    """Class probabilities, one column per class (two for a single sigmoid output)."""
    if net.loss_fn.n_classes(AL.shape[1]) == 2 and AL.shape[1] == 1:
        return np.column_stack([1 - AL[:, 0], AL[:, 0]])
    return AL


def classification_metrics(model: Model, X: np.ndarray, y: np.ndarray) -> dict:
    """On raw rows ``X``: accuracy, per-class precision / recall / F1, confusion matrix (scikit-learn's)."""
    from sklearn import metrics

    predicted = predicted_index(model.net, model.net.predict_proba(X))
    labels = model.labels
    ids = list(range(len(labels)))
    precision, recall, f1, support = metrics.precision_recall_fscore_support(y, predicted, labels=ids,
                                                                             zero_division=0)
    per_class = [{"class": label, "precision": float(p), "recall": float(r), "f1": float(f), "support": int(s)}
                 for label, p, r, f, s in zip(labels, precision, recall, f1, support)]
    averages = {}
    for average in ("macro", "weighted"):
        p, r, f, _ = metrics.precision_recall_fscore_support(y, predicted, labels=ids, average=average,
                                                             zero_division=0)
        averages[average] = {"precision": float(p), "recall": float(r), "f1": float(f)}
    return {"task": "classification", "examples": int(y.shape[0]),
            "accuracy": float(metrics.accuracy_score(y, predicted)), "per_class": per_class,
            "macro_avg": averages["macro"], "weighted_avg": averages["weighted"],
            "confusion_matrix": metrics.confusion_matrix(y, predicted, labels=ids).tolist()}


def regression_metrics(model: Model, X: np.ndarray, y: np.ndarray) -> dict:
    """On raw rows ``X``: MSE, MAE and R^2 on the scale of the targets (scikit-learn's metrics)."""
    from sklearn import metrics

    predicted = model.net.predict(X).astype(np.float64)
    y = y.reshape(predicted.shape)
    r2 = float(metrics.r2_score(y, predicted)) if y.shape[0] > 1 else float("nan")
    return {"task": "regression", "examples": int(y.shape[0]), "mse": float(metrics.mean_squared_error(y, predicted)),
            "mae": float(metrics.mean_absolute_error(y, predicted)), "r2": r2}


def measure(model: Model, X: np.ndarray, y: np.ndarray) -> dict:
    if model.task == "classification":
        return classification_metrics(model, X, y)
    return regression_metrics(model, X, y)


def summary_line(metrics: dict) -> str:
    if metrics["task"] == "classification":
        return f"accuracy {metrics['accuracy']:.4f} on {metrics['examples']} examples"
    return (f"R^2 {metrics['r2']:.4f}  MSE {metrics['mse']:.6g}  MAE {metrics['mae']:.6g} "
            f"on {metrics['examples']} examples")


def format_metrics(metrics: dict) -> str:
    """The metrics as a human-readable report."""
    lines = [f"{metrics['data']}: {summary_line(metrics)}"]
    if metrics["task"] == "classification":
        width = max([len("weighted avg")] + [len(str(row["class"])) for row in metrics["per_class"]])
        lines.append(f"{'class':<{width}} {'precision':>9} {'recall':>9} {'f1':>9} {'support':>8}")
        for row in metrics["per_class"]:
            lines.append(f"{str(row['class']):<{width}} {row['precision']:>9.4f} {row['recall']:>9.4f} "
                         f"{row['f1']:>9.4f} {row['support']:>8}")
        for name in ("macro", "weighted"):
            row = metrics[f"{name}_avg"]
            lines.append(f"{name + ' avg':<{width}} {row['precision']:>9.4f} {row['recall']:>9.4f} {row['f1']:>9.4f}")
        if "confusion_png" in metrics:
            lines.append(f"confusion matrix: {metrics['confusion_png']}")
    if "predicted_png" in metrics:
        lines.append(f"predicted versus true: {metrics['predicted_png']}")
    return "\n".join(lines)


def chance_warning(metrics: dict) -> str | None:
    """A warning when a classifier does no better than always predicting the commonest class, else None."""
    if metrics["task"] != "classification" or not metrics["examples"] or "per_class" not in metrics:
        return None
    chance = max(row["support"] for row in metrics["per_class"]) / metrics["examples"]
    if metrics["accuracy"] > chance + 0.01:
        return None
    return (f"accuracy {metrics['accuracy']:.4f} is no better than always predicting the commonest class "
            f"({chance:.4f}): the network has not learned; train longer (--epochs), change --lr or the "
            "architecture, and see the gradient diagnostics (--diagnose)")
