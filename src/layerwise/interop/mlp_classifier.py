"""scikit-learn's ``MLPClassifier``, trained by layerwise."""

from __future__ import annotations

import numpy as np
from sklearn.base import ClassifierMixin
from sklearn.metrics import accuracy_score
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import check_classification_targets, type_of_target, unique_labels

from .._checks import check_range
from ..errors import ConfigError, DataError, ShapeError
from .mlp_base import _BaseMLP, _stochastic_solver
from .mlp_params import (
    _CLASSIFIER_DOC,
)


class MLPClassifier(ClassifierMixin, _BaseMLP):
    __doc__ = """Multi-layer perceptron classifier trained by backpropagation.

    A drop-in for ``sklearn.neural_network.MLPClassifier``: two classes train
    one sigmoid output ("logistic"), more classes a softmax output, and a 2-D
    0/1 indicator ``y`` (multilabel) one sigmoid output per label; the loss is
    the matching cross-entropy. A ``y`` of one class fits too, as in
    scikit-learn; the model then predicts that class, with probability 1.
    """ + _CLASSIFIER_DOC

    def __init__(self, hidden_layer_sizes=(100,), activation="relu", *, solver="adam", alpha=1e-4,
                 batch_size="auto", learning_rate="constant", learning_rate_init=1e-3, power_t=0.5, max_iter=200,
                 shuffle=True, random_state=None, tol=1e-4, verbose=False, warm_start=False, momentum=0.9,
                 nesterovs_momentum=True, early_stopping=False, validation_fraction=0.1, beta_1=0.9, beta_2=0.999,
                 epsilon=1e-8, n_iter_no_change=10, max_fun=15000, dropout=0.0, dtype=None, class_weight=None):
        super().__init__(
            hidden_layer_sizes=hidden_layer_sizes, activation=activation, solver=solver, alpha=alpha,
            batch_size=batch_size, learning_rate=learning_rate, learning_rate_init=learning_rate_init,
            power_t=power_t, max_iter=max_iter, shuffle=shuffle, random_state=random_state, tol=tol, verbose=verbose,
            warm_start=warm_start, momentum=momentum, nesterovs_momentum=nesterovs_momentum,
            early_stopping=early_stopping, validation_fraction=validation_fraction, beta_1=beta_1, beta_2=beta_2,
            epsilon=epsilon, n_iter_no_change=n_iter_no_change, max_fun=max_fun, dropout=dropout, dtype=dtype)
        self.class_weight = class_weight

    def fit(self, X, y, sample_weight=None):
        """Fit the network to ``X`` and the class labels ``y``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
        y : array-like of shape (n_samples,) or (n_samples, n_labels)
            Class labels, or a 0/1 indicator matrix for multilabel classification.
        sample_weight : array-like of shape (n_samples,), optional

        Returns
        -------
        self
        """
        return self._fit(X, y, sample_weight)

    @available_if(_stochastic_solver)
    def partial_fit(self, X, y, sample_weight=None, classes=None):
        """Train for one epoch over ``(X, y)``, continuing from the current state.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
        y : array-like of shape (n_samples,) or (n_samples, n_labels)
        sample_weight : array-like of shape (n_samples,), optional
        classes : array-like of shape (n_classes,), optional
            Every class label of the whole data; required on the first call
            (except for multilabel ``y``), since ``y`` may hold only some of them.

        Returns
        -------
        self
        """
        return self._fit(X, y, sample_weight, incremental=True, classes=classes)

    def predict_proba(self, X) -> np.ndarray:
        """Class probabilities, shape ``(n_samples, n_classes)`` (``(n_samples, n_labels)`` for multilabel)."""
        AL = self._forward_output(X)
        if self.classes_.size == 1:
            return np.ones_like(AL)
        if self._binary:
            return np.hstack([1 - AL, AL])
        return AL

    def predict_log_proba(self, X) -> np.ndarray:
        """Logarithm of :meth:`predict_proba`."""
        proba = self.predict_proba(X)
        with np.errstate(divide="ignore"):
            return np.log(proba, out=proba)

    def predict(self, X) -> np.ndarray:
        """Predicted class labels (a 0/1 indicator matrix for multilabel)."""
        return self._labels_of(self._forward_output(X))

    def _labels_of(self, AL: np.ndarray) -> np.ndarray:
        if self._multilabel:
            return (AL > 0.5).astype(np.int64)
        if self.classes_.size == 1:
            return np.repeat(self.classes_, AL.shape[0])
        index = (AL[:, 0] > 0.5).astype(np.intp) if self._binary else AL.argmax(axis=1)
        return self.classes_[index]

    @property
    def _binary(self) -> bool:
        return self.out_activation_ == "logistic" and self.n_outputs_ == 1

    @property
    def _multilabel(self) -> bool:
        return self.out_activation_ == "logistic" and self.n_outputs_ > 1

    # ------------------------------------------------------------- targets
    def _encode_targets(self, y, first_pass: bool, incremental: bool, classes) -> np.ndarray:
        """Turn labels into network targets; on the first pass also set ``classes_`` and the output."""
        name = type(self).__name__
        check_classification_targets(y)
        kind = type_of_target(y)
        if kind not in ("binary", "multiclass", "multilabel-indicator"):
            raise DataError(f"{name} supports binary, multiclass and multilabel-indicator targets; "
                            f"received {kind} targets")
        multilabel = kind == "multilabel-indicator"
        if first_pass:
            if incremental and classes is None and not multilabel:
                raise ConfigError(f"{name}: pass classes= (every class label) on the first call to partial_fit")
            self._set_classes(y, multilabel, classes)
        elif classes is not None and not np.array_equal(unique_labels(classes), self.classes_):
            raise ConfigError(f"{name}: classes={list(classes)!r} differs from the classes of the earlier calls, "
                              f"{self.classes_.tolist()!r}")
        if multilabel != self._multilabel:
            fitted = "multilabel" if self._multilabel else "single-label"
            raise DataError(f"{name} was fitted on {fitted} targets; received {kind} targets")
        if multilabel:
            if y.shape[1] != self.n_outputs_:
                raise ShapeError(f"{name}: y has {y.shape[1]} labels, the fitted model {self.n_outputs_}")
            return np.asarray(y, dtype=np.float64)
        present = unique_labels(y)
        if not first_pass and self.warm_start and not incremental and not np.array_equal(present, self.classes_):
            raise DataError(f"{name}: warm_start can only be used where `y` has the same classes as in the previous "
                            f"call to fit. Previously got {self.classes_}, `y` has {present}")
        unknown = np.setdiff1d(present, self.classes_)
        if unknown.size:
            raise DataError(f"{name}: y holds labels {unknown.tolist()!r} that are not among the classes "
                            f"{self.classes_.tolist()!r}")
        index = np.searchsorted(self.classes_, y)
        return index.reshape(-1, 1).astype(np.float64) if self._binary else index

    def _set_classes(self, y, multilabel: bool, classes) -> None:
        if multilabel:
            self.classes_ = np.arange(y.shape[1])
            self.out_activation_, self.n_outputs_ = "logistic", y.shape[1]
            return
        self.classes_ = unique_labels(y if classes is None else classes)
        binary = self.classes_.size <= 2
        self.out_activation_ = "logistic" if binary else "softmax"
        self.n_outputs_ = 1 if binary else self.classes_.size

    def _output(self) -> tuple[str, str]:
        if self.out_activation_ == "softmax":
            return "softmax", "cross_entropy"
        return "logistic", "binary_cross_entropy"

    def _network_classes(self):
        return None if self._multilabel else self.classes_.tolist()

    def _target_weights(self, Y: np.ndarray) -> np.ndarray | None:
        """Per-example weights from ``class_weight``."""
        if self.class_weight is None:
            return None
        name = type(self).__name__
        if self._multilabel:
            raise ConfigError(f"{name}: class_weight needs single-label targets; received multilabel targets")
        index = Y.reshape(-1).astype(np.intp)
        n_classes = self.classes_.size
        if isinstance(self.class_weight, str) and self.class_weight == "balanced":
            counts = np.bincount(index, minlength=n_classes)
            per_class = index.size / (np.count_nonzero(counts) * np.maximum(counts, 1))
        elif isinstance(self.class_weight, dict):
            per_class = np.ones(n_classes)
            for label, weight in self.class_weight.items():
                position = np.flatnonzero(self.classes_ == label)
                if position.size == 0:
                    raise ConfigError(f"{name}: class_weight names class {label!r}, which is not one of the classes "
                                      f"{self.classes_.tolist()!r}")
                per_class[position] = check_range(f"{name}: class_weight for class {label!r}", weight, 0.0)
        else:
            raise ConfigError(f"{name}: class_weight must be a dict, 'balanced' or None, "
                              f"received {self.class_weight!r}")
        return per_class[index]

    def _stratify(self, y):
        return None if self._multilabel else y

    def _score_output(self, AL, y, sample_weight) -> float:
        return accuracy_score(y, self._labels_of(AL), sample_weight=sample_weight)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        return tags
