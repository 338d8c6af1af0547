"""Which examples train and how much each counts: class and sample weights, the validation split."""

from __future__ import annotations

import math
import numbers

import numpy as np

from .._checks import check_range
from ..errors import ConfigError, DataError


def example_weights(net, Y, sample_weight, class_weight) -> np.ndarray | None:
    """Per-example weights: ``sample_weight`` times the weight of each example's class."""
    m = Y.shape[0]
    weights = net.check_sample_weight(sample_weight, m)
    if class_weight is None:
        return weights
    labels = net.loss_fn.labels(Y)
    if labels is None or labels.ndim == 2 and labels.shape[1] != 1:
        raise ConfigError("class_weight needs a single-label classifier (cross_entropy, or one sigmoid output)")
    labels = labels.reshape(-1)
    n_classes = net.loss_fn.n_classes(net.n_outputs)
    if isinstance(class_weight, str):
        if class_weight != "balanced":
            raise ConfigError(f"class_weight must be a dict or 'balanced', received {class_weight!r}")
        counts = np.bincount(labels, minlength=n_classes)
        per_class = np.where(counts > 0, m / (n_classes * np.maximum(counts, 1)), 0.0)
    elif isinstance(class_weight, dict):
        per_class = np.ones(n_classes)
        for key, value in class_weight.items():
            index = _class_index(net, key, n_classes)
            value = check_range(f"class_weight for class {key!r}", value, 0.0)
            if value > float(np.finfo(net.dtype).max):
                raise ConfigError(f"class_weight for class {key!r} is {value!r}, too large for {net.dtype}")
            per_class[index] = value
    else:
        raise ConfigError(f"class_weight must be a dict or 'balanced', received {type(class_weight).__name__}")
    class_w = per_class[labels].astype(net.dtype)
    weights = class_w if weights is None else weights * class_w
    with np.errstate(over="ignore"):
        total = weights.sum()
    if not np.isfinite(total):
        raise DataError(f"the example weights (class_weight x sample_weight) sum to "
                        f"{weights.sum(dtype=np.float64):.3g}, too large for {net.dtype}; scale them down")
    if not total > 0:
        raise DataError("the example weights sum to zero; check class_weight and sample_weight")
    return weights


def _class_index(net, key, n_classes: int) -> int:
    if net.classes is not None and key in list(net.classes):
        return list(net.classes).index(key)
    if isinstance(key, numbers.Integral) and 0 <= key < n_classes:
        return int(key)
    raise ConfigError(f"class_weight names class {key!r}, which is not one of the {n_classes} classes")


def split(net, X, Y, weights, fraction):
    """Hold out ``fraction`` of the examples, stratified by class for classifiers."""
    from sklearn.model_selection import train_test_split

    check_range("validation_split", fraction, 0.0, 1.0, low_open=True, high_open=True)
    labels = net.loss_fn.labels(Y)
    single_label = labels is not None and (labels.ndim == 1 or labels.shape[1] == 1)
    stratify = labels.reshape(-1) if single_label else None
    if stratify is not None:
        counts = np.bincount(stratify)
        n_val = math.ceil(fraction * len(stratify))
        if counts[counts > 0].min() < 2 or n_val < np.count_nonzero(counts) or len(stratify) - n_val < len(counts):
            stratify = None
    index = np.arange(X.shape[0])
    if math.ceil(fraction * len(index)) >= len(index):
        raise DataError(f"validation_split={fraction} of {len(index)} training example(s) leaves none to train on; "
                        "give more data or no validation split")
    seed = 0 if net.seed is None else net.seed % 2**32  # the range scikit-learn accepts
    train, val = train_test_split(index, test_size=fraction, random_state=seed, stratify=stratify)
    if len(train) == 0 or len(val) == 0:
        raise DataError(f"validation_split={fraction} leaves an empty training or validation set of {len(index)}")
    train.sort()
    val.sort()
    w = None if weights is None else weights[train]
    return X[train], Y[train], w, X[val], Y[val]
