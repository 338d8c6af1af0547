"""What the classifier and the regressor share: parameters, their validation, the fit flow, the network's
weights as ``coefs_`` and ``intercepts_``."""

from __future__ import annotations

import numbers

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted, column_or_1d, validate_data

from .._checks import check_range
from ..engine.network import Network
from ..errors import ConfigError, NonFiniteParametersError, ShapeError
from ..layers import Dense, Dropout
from .mlp_params import (
    ACTIVATION_ALIASES,
    LEARNING_RATES,
    NON_FINITE,
    SOLVERS,
    _check_choice,
    _check_sample_weight,
    _combine,
    _dense,
    _drop_unweighted,
    _dtype_name,
    _hidden_activations,
    _trained,
)
from .mlp_solvers import _Solvers


def _stochastic_solver(estimator) -> bool:
    """``available_if`` test of ``partial_fit``: only the stochastic solvers train incrementally."""
    if estimator.solver not in ("sgd", "adam"):
        raise AttributeError(f"partial_fit needs a stochastic solver ('sgd' or 'adam'); solver={estimator.solver!r}")
    return True


class _BaseMLP(_Solvers, BaseEstimator):
    """Parameters, validation and the training loops shared by the classifier and the regressor."""

    def __init__(self, hidden_layer_sizes=(100,), activation="relu", *, solver="adam", alpha=1e-4,
                 batch_size="auto", learning_rate="constant", learning_rate_init=1e-3, power_t=0.5, max_iter=200,
                 shuffle=True, random_state=None, tol=1e-4, verbose=False, warm_start=False, momentum=0.9,
                 nesterovs_momentum=True, early_stopping=False, validation_fraction=0.1, beta_1=0.9, beta_2=0.999,
                 epsilon=1e-8, n_iter_no_change=10, max_fun=15000, dropout=0.0, dtype=None):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.solver = solver
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.learning_rate_init = learning_rate_init
        self.power_t = power_t
        self.max_iter = max_iter
        self.shuffle = shuffle
        self.random_state = random_state
        self.tol = tol
        self.verbose = verbose
        self.warm_start = warm_start
        self.momentum = momentum
        self.nesterovs_momentum = nesterovs_momentum
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.n_iter_no_change = n_iter_no_change
        self.max_fun = max_fun
        self.dropout = dropout
        self.dtype = dtype

    # ------------------------------------------------------------ parameters
    def _check_params(self) -> tuple[list[int], list[str]]:
        """Validate the hyper-parameters; return the hidden widths and their activations."""
        name = type(self).__name__
        sizes = self.hidden_layer_sizes
        sizes = [sizes] if isinstance(sizes, numbers.Integral) else sizes
        try:
            hidden = list(sizes)
        except TypeError:
            raise ConfigError(f"{name}: hidden_layer_sizes must be an int or a sequence of ints, "
                              f"received {self.hidden_layer_sizes!r}") from None
        for units in hidden:
            if isinstance(units, bool) or not isinstance(units, numbers.Integral) or units < 1:
                raise ConfigError(f"{name}: hidden_layer_sizes must hold positive integers, "
                                  f"received {self.hidden_layer_sizes!r}")
        activations = _hidden_activations(name, self.activation, len(hidden))
        _check_choice(name, "solver", self.solver, SOLVERS)
        _check_choice(name, "learning_rate", self.learning_rate, LEARNING_RATES)
        check_range(f"{name}: alpha", self.alpha, 0)
        if not (isinstance(self.batch_size, str) and self.batch_size == "auto"):
            check_range(f"{name}: batch_size", self.batch_size, 1, integer=True, or_else='"auto"')
        check_range(f"{name}: learning_rate_init", self.learning_rate_init, 0, low_open=True)
        check_range(f"{name}: power_t", self.power_t, 0)
        check_range(f"{name}: max_iter", self.max_iter, 1, integer=True)
        check_range(f"{name}: tol", self.tol, 0)
        check_range(f"{name}: momentum", self.momentum, 0, 1, high_open=True)
        check_range(f"{name}: validation_fraction", self.validation_fraction, 0, 1, low_open=True, high_open=True)
        check_range(f"{name}: beta_1", self.beta_1, 0, 1, high_open=True)
        check_range(f"{name}: beta_2", self.beta_2, 0, 1, high_open=True)
        check_range(f"{name}: epsilon", self.epsilon, 0, low_open=True)
        if self.n_iter_no_change != np.inf:
            check_range(f"{name}: n_iter_no_change", self.n_iter_no_change, 1, integer=True, or_else="np.inf")
        check_range(f"{name}: max_fun", self.max_fun, 1, integer=True)
        check_range(f"{name}: dropout", self.dropout, 0, 1, high_open=True)
        for flag in ("shuffle", "warm_start", "nesterovs_momentum", "early_stopping"):
            if not isinstance(getattr(self, flag), (bool, np.bool_)):
                raise ConfigError(f"{name}: {flag} must be True or False, received {getattr(self, flag)!r}")
        if self.dtype is not None and _dtype_name(self.dtype) not in ("float32", "float64"):
            raise ConfigError(f"{name}: dtype must be None, 'float32' or 'float64', received {self.dtype!r}")
        if self.solver == "lbfgs" and self.dropout:
            raise ConfigError(f"{name}: dropout needs a stochastic solver ('sgd' or 'adam'); the lbfgs loss "
                              f"must be deterministic, received dropout={self.dropout!r} with solver='lbfgs'")
        return hidden, activations

    # ------------------------------------------------------------- fit flow
    def _fit(self, X, y, sample_weight=None, incremental=False, classes=None):
        hidden, activations = self._check_params()
        if self.early_stopping and incremental:
            raise ConfigError(f"{type(self).__name__}: partial_fit does not support early_stopping=True")
        first_pass = not hasattr(self, "network_") or (not self.warm_start and not incremental)
        X, y = self._validate_xy(X, y, reset=first_pass)
        Y = self._encode_targets(y, first_pass, incremental, classes)
        weights = _check_sample_weight(sample_weight, X.shape[0])
        weights = _combine(weights, self._target_weights(Y))
        l2 = float(self.alpha)
        if weights is not None:
            X, Y, y, weights = _drop_unweighted(X, Y, y, weights)
            l2 *= weights.size / weights.sum()  # alpha per unit of weight: weights act as repetition counts
            if np.all(weights == weights[0]):
                weights = None
        rng = check_random_state(self.random_state)
        if first_pass:
            self._initialize(X.shape[1], X.dtype, hidden, activations, rng)
        self.network_.l2 = l2
        if self.solver == "lbfgs":
            self._fit_lbfgs(X, Y, weights)
        else:
            self._fit_stochastic(X, Y, y, weights, incremental, rng)
        if not np.isfinite(self.network_.theta).all():
            raise NonFiniteParametersError(f"{type(self).__name__}: {NON_FINITE}")
        return self

    def _validate_xy(self, X, y, reset: bool):
        X, y = validate_data(self, X, y, reset=reset, accept_sparse=True, multi_output=True,
                             y_numeric=not isinstance(self, ClassifierMixin), dtype=self._input_dtypes())
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        return _dense(X), y

    def _input_dtypes(self):
        return (np.float64, np.float32) if self.dtype is None else np.dtype(self.dtype)

    def _initialize(self, n_features: int, dtype, hidden, activations, rng) -> None:
        """Build the network and reset the fitted state (first ``fit`` or ``partial_fit``).

        ``n_outputs_`` (and ``out_activation_`` for classifiers) are already set from the targets.
        """
        layers = []
        for units, activation in zip(hidden, activations):  # He for ReLU: plain SGD then learns as fast as
            # scikit-learn's own MLP (its test_partial_fit_regression needs R^2 > 0.65 after 100 SGD steps)
            layers.append(Dense(units, activation=activation, init="he" if activation == "relu" else None))
            if self.dropout:
                layers.append(Dropout(self.dropout))
        out_activation, loss = self._output()
        layers.append(Dense(self.n_outputs_, activation=ACTIVATION_ALIASES.get(out_activation, out_activation),
                            init="glorot" if self.solver == "lbfgs" else "readout"))
        self.network_ = Network(layers, loss=loss, input_dim=n_features, seed=int(rng.randint(np.iinfo(np.int32).max)),
                                dtype=np.dtype(dtype if self.dtype is None else self.dtype).name, l2=float(self.alpha))
        self.network_.classes = self._network_classes()
        self.n_layers_ = len(hidden) + 2
        self.out_activation_ = out_activation
        self.n_iter_ = self.t_ = 0
        self.loss_curve_ = []
        for attribute in ("best_loss_", "validation_scores_", "best_validation_score_", "_no_improvement_count",
                          "_best_theta", "_optimizer"):
            vars(self).pop(attribute, None)

    # -------------------------------------------------------------- predict
    def _forward_output(self, X) -> np.ndarray:
        """The network's output ``A<L>`` for validated input."""
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, accept_sparse=True, dtype=(np.float64, np.float32))
        return self.network_.predict_proba(_dense(X))

    def _validation_score(self, X, y, sample_weight) -> float:
        """The score of the held-out examples (already validated; NaN where a prediction is not finite)."""
        AL = self.network_.predict_proba(X)
        if not np.isfinite(AL).all():
            return float("nan")
        return float(self._score_output(AL, y, sample_weight))

    @property
    def coefs_(self) -> list[np.ndarray]:
        check_is_fitted(self)
        return [layer.W.T for layer in _trained(self.network_)]

    @coefs_.setter
    def coefs_(self, coefs) -> None:
        self._assign("coefs_", coefs, [layer.W.T for layer in _trained(self.network_)])

    @property
    def intercepts_(self) -> list[np.ndarray]:
        check_is_fitted(self)
        return [layer.b for layer in _trained(self.network_)]

    @intercepts_.setter
    def intercepts_(self, intercepts) -> None:
        self._assign("intercepts_", intercepts, [layer.b for layer in _trained(self.network_)])

    def _assign(self, name: str, values, targets: list[np.ndarray]) -> None:
        """Copy ``values`` into the network's parameter views ``targets``, checking the shapes."""
        check_is_fitted(self)
        values = list(values)
        shapes = [target.shape for target in targets]
        received = [np.shape(value) for value in values]
        if received != shapes:
            raise ShapeError(f"{type(self).__name__}.{name} must be arrays of shapes {shapes}, received {received}")
        for target, value in zip(targets, values):
            target[...] = value

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags
