"""Figures for the command line: training curves and confusion matrices, written as PNG files.

Figures are drawn on a :class:`matplotlib.figure.Figure` with the Agg canvas
directly, never through ``pyplot``, so nothing here touches matplotlib's
global state (the backend, open figures) of a program that imports it.
"""

from __future__ import annotations

import io

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from ..io.atomic import write_output

DPI = 100


def save_figure(figure: Figure, path, dpi: int = DPI) -> None:
    """Render ``figure`` as PNG and write it atomically (:func:`layerwise.io.atomic.write_output`)."""
    FigureCanvasAgg(figure)
    png = io.BytesIO()
    figure.savefig(png, format="png", dpi=dpi)
    write_output(path, png.getvalue())


def training_curves(history: dict, path, title: str | None = None, best_epoch: int | None = None) -> None:
    """Plot the loss (and the accuracy, when recorded) per epoch, training and validation.

    Parameters
    ----------
    history : dict
        ``History.to_dict()`` output: ``epoch`` (0-based) and lists ``loss``,
        and optionally ``val_loss``, ``accuracy``, ``val_accuracy``.
    path : str or path-like
        The PNG file to write: 1000 x 400 pixels with accuracies, 500 x 400 without.
    title : str, optional
        A title above the panels.
    best_epoch : int, optional
        The best epoch (0-based, as in ``epoch``) of an early-stopped run: a dashed vertical line marks it.
    """
    panels = [("loss", "loss")]
    if history.get("accuracy"):
        panels.append(("accuracy", "accuracy"))
    figure = Figure(figsize=(5 * len(panels), 4), layout="constrained")
    epochs = np.asarray(history.get("epoch") or range(len(history["loss"]))) + 1
    for index, (key, label) in enumerate(panels, start=1):
        axes = figure.add_subplot(1, len(panels), index)
        axes.plot(epochs, history[key], marker="o", markersize=3, label="training")
        if history.get(f"val_{key}"):
            axes.plot(epochs, history[f"val_{key}"], marker="o", markersize=3, label="validation")
        if best_epoch is not None:
            axes.axvline(best_epoch + 1, color="0.4", linestyle="--", linewidth=1,
                         label=f"best (epoch {best_epoch + 1})")
        axes.set_xlabel("epoch")
        axes.xaxis.set_major_locator(MaxNLocator(integer=True))
        axes.set_ylabel(label)
        axes.grid(True, alpha=0.3)
        axes.legend()
    if title:
        figure.suptitle(title)
    save_figure(figure, path)


def confusion_matrix(matrix, labels, path, title: str | None = None) -> None:
    """Plot a confusion matrix: rows are true classes, columns predicted ones, cells are counts.

    Parameters
    ----------
    matrix : array-like of shape (K, K)
        Counts, ``matrix[i, j]`` examples of class ``i`` predicted as ``j``.
    labels : sequence of length K
        Class labels, shown on both axes.
    path : str or path-like
        The PNG file to write, 600 x 500 pixels.
    title : str, optional
    """
    matrix = np.asarray(matrix)
    labels = [str(label) for label in labels]
    figure = Figure(figsize=(6, 5), layout="constrained")
    axes = figure.add_subplot()
    image = axes.imshow(matrix, cmap="Blues")
    figure.colorbar(image, ax=axes)
    ticks = np.arange(len(labels))
    axes.set_xticks(ticks, labels, rotation=45 if max(map(len, labels), default=0) > 3 else 0, ha="right")
    axes.set_yticks(ticks, labels)
    axes.set_xlabel("predicted")
    axes.set_ylabel("true")
    if len(labels) <= 30:
        threshold = matrix.max() / 2 if matrix.size else 0
        for (i, j), count in np.ndenumerate(matrix):
            axes.text(j, i, str(count), ha="center", va="center", fontsize=8,
                      color="white" if count > threshold else "black")
    if title:
        axes.set_title(title)
    save_figure(figure, path)


def predicted_vs_true(true, predicted, path, title: str | None = None) -> None:
    """Scatter the predictions of a regression against the true values, one panel per output, with ``y = x``.

    Parameters
    ----------
    true, predicted : array-like of shape (m, K)
    path : str or path-like
        The PNG file to write: 450 x 400 pixels per output.
    title : str, optional
    """
    true, predicted = np.asarray(true, dtype=float), np.asarray(predicted, dtype=float)
    true, predicted = true.reshape(true.shape[0], -1), predicted.reshape(predicted.shape[0], -1)
    figure = Figure(figsize=(4.5 * true.shape[1], 4), layout="constrained")
    for k in range(true.shape[1]):
        axes = figure.add_subplot(1, true.shape[1], k + 1)
        axes.scatter(true[:, k], predicted[:, k], s=10, alpha=0.6)
        low = float(min(true[:, k].min(), predicted[:, k].min()))
        high = float(max(true[:, k].max(), predicted[:, k].max()))
        axes.plot([low, high], [low, high], color="0.4", linestyle="--", linewidth=1, label="predicted = true")
        axes.set_xlabel("true" if true.shape[1] == 1 else f"true (output {k})")
        axes.set_ylabel("predicted")
        axes.grid(True, alpha=0.3)
        axes.legend()
    if title:
        figure.suptitle(title)
    save_figure(figure, path)
