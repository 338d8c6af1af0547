"""Measuring a network on labelled data without a cache: the loss and accuracy in large batches (also across
MPI ranks), and the counts of correct predictions the training loop keeps per epoch."""

from __future__ import annotations

import numpy as np


def evaluate(net, X, Y, prefix: str = "", batch_size: int = 4096, comm=None) -> dict:
    """Data loss (without the L2 penalty) and accuracy for classifiers, on checked arrays, in batches.

    With a communicator each rank evaluates every ``size``-th batch and the sums are combined.
    """
    labels = _labels(net, Y)
    total, correct, m = 0.0, 0, X.shape[0]
    first, step = (0, batch_size) if comm is None else (comm.rank * batch_size, comm.size * batch_size)
    for start in range(first, m, step):
        stop = min(start + batch_size, m)
        AL = net._output(X[start:stop])
        total += net.loss_fn.value(AL, Y[start:stop]) * (stop - start)
        if labels is not None:
            correct += _count_correct(net, AL, labels[start:stop])
    if comm is not None:
        total, correct = comm.sum(total, correct)
    logs = {prefix + "loss": total / m}
    if labels is not None:
        logs[prefix + "accuracy"] = correct / m
    return logs


def _labels(net, Y: np.ndarray) -> np.ndarray | None:
    """Integer labels for measuring accuracy: class indices, 0/1 flags, or None for regression."""
    return net.loss_fn.labels(Y)


def _predict_into(AL: np.ndarray, predicted: np.ndarray) -> None:
    """Write the predicted class indices (or 0/1 flags, for binary outputs) of a batch into ``predicted``."""
    if predicted.ndim == 1:
        AL.argmax(axis=1, out=predicted)
    else:
        np.greater(AL, 0.5, out=predicted)


def _count_matches(predicted: np.ndarray, labels: np.ndarray, matches: np.ndarray,
                   owned: np.ndarray | None = None) -> int:
    """Examples whose prediction equals the label (on every output, for multi-label), among ``owned`` if given."""
    np.equal(predicted, labels, out=matches)
    hits = matches if matches.ndim == 1 else matches.all(axis=1)
    return int(np.count_nonzero(hits if owned is None else hits & owned))


def _count_correct(net, AL: np.ndarray, labels: np.ndarray) -> int:
    if labels.ndim == 1:
        return int(np.count_nonzero(AL.argmax(axis=1) == labels))
    return int(np.count_nonzero(((AL > 0.5) == labels).all(axis=1)))
