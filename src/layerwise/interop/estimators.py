"""scikit-learn compatible estimators: :class:`MLPClassifier` and :class:`MLPRegressor`.

Both take the parameters of ``sklearn.neural_network``'s estimators of the
same names, plus a few of layerwise's own (``dropout``, ``dtype``, per-layer
activations, ``class_weight``), and train a layerwise
:class:`~layerwise.network.Network`, kept as the fitted attribute
``network_``. They work wherever a scikit-learn estimator does: pipelines,
grid searches, cross-validation, ``clone``, pickling.

How the scikit-learn semantics map onto layerwise
-------------------------------------------------
* ``alpha`` is layerwise's ``l2``: the loss gains ``alpha / (2 n) sum_l ||W[l]||^2``
  with ``n`` the examples in the batch, as in scikit-learn. With sample weights
  ``alpha`` is a penalty per unit of weight (scikit-learn divides by the weight
  sum, so that a weight acts as a repetition count): the network's ``l2`` is
  ``alpha * n / sum(w)``, which is exact for lbfgs and full batches and holds on
  average for mini-batches.
* ``solver="sgd"`` / ``"adam"`` run :meth:`Network.fit` for up to ``max_iter``
  epochs with scikit-learn's stopping rule applied at the end of each epoch:
  training stops when the training loss (or, with ``early_stopping``, the
  validation score) has not improved by ``tol`` for more than
  ``n_iter_no_change`` epochs. ``learning_rate="invscaling"`` sets the rate to
  ``learning_rate_init / (t_ + 1) ** power_t`` after each epoch (``t_`` counts
  the examples seen); ``"adaptive"`` divides it by 5 each time the rule fires,
  until it falls below ``1e-6``.
* ``solver="lbfgs"`` minimises the full-batch loss with
  ``scipy.optimize.minimize(method="L-BFGS-B", jac=True)`` over the flat parameter
  vector ``network_.theta`` (handed to SciPy in float64), with ``maxiter=max_iter``,
  ``maxfun=max_fun`` and ``gtol=tol``.
* ``dtype=None`` follows the input: float32 data trains a float32 network and
  gets float32 predictions; anything else trains in float64.
* Sparse input is accepted in any SciPy format and densified as a whole
  before training or prediction; mind the memory for very wide data.
* Sample weights: the loss of a batch is the weighted mean of its examples'
  losses; examples of weight zero are left out altogether.
* Initialisation, drawn from the network's generator: hidden weights by the
  ``Dense`` default (He normal for the ReLU family, Glorot uniform
  ``+-sqrt(6 / (fan_in + fan_out))`` otherwise), biases zero, and output
  weights, for sgd and adam, uniform in ``+-sqrt(3) / fan_in`` (variance
  ``1 / fan_in^2``; Glorot uniform for lbfgs); see
  :mod:`layerwise.ops.initializers`. scikit-learn draws every weight and bias
  from ``+-sqrt(6 / (fan_in + fan_out))``, with ``2`` in place of ``6`` for
  logistic layers. The differences are deliberate. A full-scale random
  output layer adds a random function to every prediction, as large as what
  a short run (``max_iter=20``: twenty Adam steps at the default batch size)
  learns, so that some seeds end with a constant or a poor prediction; lbfgs,
  which takes full Newton-like steps, is not hurt by it. Narrow logistic
  layers start in sigmoid's linear range, where lbfgs meets ``gtol`` within a
  few iterations on the plateau of the linear fit, for about half the seeds.

Differences from scikit-learn: the random numbers themselves differ (the
network's NumPy ``Generator`` draws them); Adam adds ``epsilon`` as
``torch.optim.Adam`` does (``eps * sqrt(1 - beta_2**t)`` in scikit-learn's
terms); SGD keeps its momentum buffer in gradient units, as ``torch.optim.SGD``
does, so the two agree exactly while the learning rate is constant and differ
slightly after "invscaling" or "adaptive" change it; ``momentum`` must be below
1; for multi-output regression ``loss_`` sums the squared error over the
outputs (scikit-learn averages it); ``loss_curve_`` is recorded for ``lbfgs``
too (one entry per iteration).
"""

from __future__ import annotations

import numbers
import warnings

import numpy as np
import scipy.optimize
import scipy.sparse as sp
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import accuracy_score, r2_score
from sklearn.model_selection import train_test_split
from sklearn.utils import check_random_state
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import check_classification_targets, type_of_target, unique_labels
from sklearn.utils.validation import check_is_fitted, column_or_1d, validate_data

from ..engine.network import Network
from ..errors import ConfigError, DataError, NonFiniteParametersError, ShapeError, TrainingDivergedError
from ..layers import Dense, Dropout
from ..ops.activations import ACTIVATIONS
from ..ops.losses import get_loss
from ..optim.optimizers import SGD, Adam
from ..train.callbacks import Callback

SOLVERS = ("adam", "sgd", "lbfgs")
LEARNING_RATES = ("constant", "invscaling", "adaptive")
REGRESSION_LOSSES = {"squared_error": "mse", "absolute_error": "mae", "huber": "huber", "poisson": "poisson"}
"""The regressor's ``loss`` names and the layerwise losses they train."""

ACTIVATION_ALIASES = {"logistic": "sigmoid"}
"""scikit-learn's activation names that differ from layerwise's."""

_PARAMETERS = """
    Parameters
    ----------
    hidden_layer_sizes : int or sequence of int, default=(100,)
        Units of each hidden layer; ``()`` gives a network without hidden layers.
    activation : str or sequence of str, default="relu"
        Activation of the hidden layers: scikit-learn's ``"identity"``,
        ``"logistic"``, ``"tanh"``, ``"relu"`` or any layerwise activation name
        (``"gelu"``, ``"silu"``, ``"elu"``, ...). A sequence gives one per hidden layer.{loss}
    solver : {{"adam", "sgd", "lbfgs"}}, default="adam"
    alpha : float, default=1e-4
        L2 penalty: the loss gains ``alpha / (2 n) sum_l ||W[l]||^2``.
    batch_size : int or "auto", default="auto"
        Examples per mini-batch; "auto" is ``min(200, n_samples)``. Not used by lbfgs.
    learning_rate : {{"constant", "invscaling", "adaptive"}}, default="constant"
        Learning-rate policy of the sgd solver (see the module notes).
    learning_rate_init : float, default=1e-3
        Initial learning rate of sgd and adam.
    power_t : float, default=0.5
        Exponent of the "invscaling" policy.
    max_iter : int, default=200
        Most epochs (sgd, adam) or iterations (lbfgs).
    shuffle : bool, default=True
        Shuffle the examples every epoch (sgd, adam).
    random_state : int, RandomState instance or None, default=None
        Seeds the network's generator (initialisation, shuffling, dropout) and
        the early-stopping split.
    tol : float, default=1e-4
        Smallest improvement of the loss or validation score that counts; for
        lbfgs, the projected-gradient tolerance ``gtol``.
    verbose : bool, default=False
        Print the loss after every epoch or iteration.
    warm_start : bool, default=False
        Continue from the fitted network on the next ``fit`` instead of starting afresh.
    momentum : float in [0, 1), default=0.9
        Momentum of the sgd solver.
    nesterovs_momentum : bool, default=True
        Use Nesterov's momentum (sgd with ``momentum > 0``).
    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the data, stop when its score stops
        improving and keep the best parameters (sgd, adam).
    validation_fraction : float in (0, 1), default=0.1
    beta_1, beta_2 : float in [0, 1), default=0.9, 0.999
        Adam's moment decay rates.
    epsilon : float, default=1e-8
        Adam's denominator offset.
    n_iter_no_change : int or np.inf, default=10
        Epochs without an improvement of ``tol`` before stopping (sgd, adam).
    max_fun : int, default=15000
        Most loss evaluations (lbfgs).
    dropout : float in [0, 1), default=0.0
        Dropout rate applied after every hidden layer while training (sgd, adam).
    dtype : {{None, "float32", "float64"}}, default=None
        Precision of the network; None follows the input (float32 stays
        float32, everything else is float64).{class_weight}
"""

_ATTRIBUTES = """
    Attributes
    ----------
    network_ : layerwise.Network
        The trained network.
    coefs_ : list of ndarray of shape (n_in, n_out)
        Weights in scikit-learn's orientation: live views ``W.T`` of the network's
        parameters. Assigning a list of arrays copies them into the network.
    intercepts_ : list of ndarray of shape (n_out,)
        Biases: live views of the network's parameters (assignable likewise).
    loss_ : float
        Loss (with the L2 penalty) of the last epoch or of the lbfgs solution.
    loss_curve_ : list of float
        Loss after every epoch (sgd, adam) or iteration (lbfgs).
    best_loss_ : float or None
        Lowest training loss seen (sgd and adam without early stopping).
    validation_scores_ : list of float or None
        Validation {score} after every epoch, with early stopping.
    best_validation_score_ : float or None
        Best validation score, with early stopping.
    n_iter_ : int
        Epochs or iterations run by the last call to ``fit`` or ``partial_fit``.
    t_ : int
        Training examples seen by the stochastic solvers (0 for lbfgs).{classes}
    n_features_in_ : int
    feature_names_in_ : ndarray of str
        Present when the training data had string column names.
    n_outputs_ : int
        Output units.
    n_layers_ : int
        Layers including the input and output layers.
    out_activation_ : str
        {out_activation}
"""


_CLASSIFIER_DOC = _PARAMETERS.format(loss="", class_weight="""
    class_weight : dict, "balanced" or None, default=None
        Weight of each class (keys are class labels), multiplying ``sample_weight``;
        "balanced" weighs classes inversely to their frequency in ``y``.""") + _ATTRIBUTES.format(
    score="accuracy", out_activation='"logistic" (binary and multilabel) or "softmax" (multiclass).', classes="""
    classes_ : ndarray of shape (n_classes,)
        Class labels (label indices 0..n_labels-1 for multilabel targets).""") + """
    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from layerwise.estimators import MLPClassifier
    >>> X, y = load_iris(return_X_y=True)
    >>> clf = MLPClassifier(hidden_layer_sizes=(16,), solver="lbfgs", random_state=0).fit(X, y)
    >>> clf.predict_proba(X[:2]).shape
    (2, 3)
"""

_REGRESSOR_DOC = _PARAMETERS.format(class_weight="", loss="""
    loss : {"squared_error", "absolute_error", "huber", "poisson"}, default="squared_error"
        ``"squared_error"`` is ``(1/(2n)) sum (y_pred - y)^2``, scikit-learn's and
        layerwise's ``mse``; ``"poisson"`` is half the Poisson deviance
        ``(1/n) sum [y log(y / y_pred) - y + y_pred]``, with an exponential output
        layer (``out_activation_ = "exp"``), as in scikit-learn, for targets ``y >= 0``;
        the others train layerwise's ``mae`` and ``huber`` (delta 1).""") + _ATTRIBUTES.format(
    score="R^2", classes="", out_activation='"identity" ("exp" for the Poisson loss).') + """
    Examples
    --------
    >>> import numpy as np
    >>> from layerwise.estimators import MLPRegressor
    >>> X = np.linspace(-1, 1, 50).reshape(-1, 1)
    >>> reg = MLPRegressor(hidden_layer_sizes=(8,), solver="lbfgs", random_state=0).fit(X, X.ravel() ** 2)
    >>> reg.predict(X[:3]).shape
    (3,)
"""


def _stochastic_solver(estimator) -> bool:
    """``available_if`` test of ``partial_fit``: only the stochastic solvers train incrementally."""
    if estimator.solver not in ("sgd", "adam"):
        raise AttributeError(f"partial_fit needs a stochastic solver ('sgd' or 'adam'); solver={estimator.solver!r}")
    return True


class _BaseMLP(BaseEstimator):
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
        _check_number(name, "alpha", self.alpha, 0)
        if not (isinstance(self.batch_size, str) and self.batch_size == "auto"):
            _check_number(name, "batch_size", self.batch_size, 1, integer=True, expected_extra=' or "auto"')
        _check_number(name, "learning_rate_init", self.learning_rate_init, 0, low_open=True)
        _check_number(name, "power_t", self.power_t, 0)
        _check_number(name, "max_iter", self.max_iter, 1, integer=True)
        _check_number(name, "tol", self.tol, 0)
        _check_number(name, "momentum", self.momentum, 0, 1, high_open=True)
        _check_number(name, "validation_fraction", self.validation_fraction, 0, 1, low_open=True, high_open=True)
        _check_number(name, "beta_1", self.beta_1, 0, 1, high_open=True)
        _check_number(name, "beta_2", self.beta_2, 0, 1, high_open=True)
        _check_number(name, "epsilon", self.epsilon, 0, low_open=True)
        if self.n_iter_no_change != np.inf:
            _check_number(name, "n_iter_no_change", self.n_iter_no_change, 1, integer=True, expected_extra=" or np.inf")
        _check_number(name, "max_fun", self.max_fun, 1, integer=True)
        _check_number(name, "dropout", self.dropout, 0, 1, high_open=True)
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

    def _fit_stochastic(self, X, Y, y, weights, incremental: bool, rng) -> None:
        net = self.network_
        if not incremental or not hasattr(self, "_optimizer"):
            self._optimizer = self._make_optimizer()
        if not hasattr(self, "_no_improvement_count") or self.early_stopping != (self.validation_scores_ is not None):
            self._reset_stopping_state()
        validation = None
        if self.early_stopping:
            X, Y, y, weights, validation = self._split(X, Y, y, weights, rng)
        n = X.shape[0]
        if self.batch_size == "auto":
            batch_size = min(200, n)
        else:
            if self.batch_size > n:
                warnings.warn(f"batch_size={self.batch_size} exceeds the {n} training examples; using {n}",
                              UserWarning, stacklevel=3)
            batch_size = min(self.batch_size, n)
        self.n_iter_ = 0
        rule = _StoppingRule(self, n, validation)
        try:
            net.fit(X, Y, epochs=1 if incremental else self.max_iter, batch_size=batch_size,
                    optimizer=self._optimizer, shuffle=self.shuffle, sample_weight=weights, callbacks=[rule], verbose=0)
        except TrainingDivergedError as exc:
            if not self.early_stopping:
                raise NonFiniteParametersError(f"{type(self).__name__}: {NON_FINITE} ({exc})") from None
            self._record_divergence(n, exc)
            rule.converged = True
        if self.early_stopping:
            net.theta[...] = self._best_theta
        if not incremental and not rule.converged:
            warnings.warn(f"Stochastic Optimizer: Maximum iterations ({self.max_iter}) reached and the "
                          "optimization hasn't converged yet.", ConvergenceWarning, stacklevel=3)

    def _record_divergence(self, n_samples: int, exc: TrainingDivergedError) -> None:
        """Close the epoch in which training diverged (loss and validation score NaN) and warn.

        scikit-learn goes on training the non-finite network until ``max_iter``;
        here training stops at once, and, as there, the best validation
        parameters are restored afterwards.
        """
        self.n_iter_ += 1
        self.t_ += n_samples
        self.loss_ = float("nan")
        self.loss_curve_.append(self.loss_)
        self.validation_scores_.append(float("nan"))
        warnings.warn(f"{type(self).__name__}: {exc}. Training stopped at epoch {self.n_iter_}; the parameters "
                      f"with the best validation score ({self.best_validation_score_:g}) are restored.",
                      ConvergenceWarning, stacklevel=4)

    def _make_optimizer(self):
        if self.solver == "adam":
            return Adam(lr=self.learning_rate_init, betas=(self.beta_1, self.beta_2), eps=self.epsilon)
        return SGD(lr=self.learning_rate_init, momentum=self.momentum,
                   nesterov=bool(self.nesterovs_momentum and self.momentum > 0))

    def _reset_stopping_state(self) -> None:
        self._no_improvement_count = 0
        if self.early_stopping:
            self.validation_scores_ = []
            self.best_validation_score_ = -np.inf
            self.best_loss_ = None
            self._best_theta = self.network_.theta.copy()
        else:
            self.best_loss_ = np.inf
            self.validation_scores_ = self.best_validation_score_ = None

    def _split(self, X, Y, y, weights, rng):
        """Hold out ``validation_fraction`` of the examples, stratified for single-label classifiers."""
        index = np.arange(X.shape[0])
        stratify = self._stratify(y)
        if stratify is not None:
            labels, counts = np.unique(stratify, return_counts=True)
            if counts.min() < 2:
                raise DataError(
                    f"{type(self).__name__}: The least populated classes in y have only {counts.min()} member, which "
                    "is too few: early_stopping holds out a validation set stratified by class, which needs at "
                    f"least 2 examples of every class. Classes with too few members are: "
                    f"{labels[counts < 2].tolist()!r}")
        train, val = train_test_split(index, test_size=self.validation_fraction, random_state=rng, stratify=stratify)
        if val.size < 2:
            raise DataError(f"{type(self).__name__}: The validation set is too small: it holds {val.size} example(s) "
                            "of the 2 needed. Increase 'validation_fraction' or the size of your dataset.")
        w_train, w_val = (None, None) if weights is None else (weights[train], weights[val])
        return X[train], Y[train], y[train], w_train, (X[val], y[val], w_val)

    def _update_no_improvement_count(self, validation) -> None:
        """scikit-learn's convergence test, run after every epoch."""
        if validation is not None:
            score = self._validation_score(*validation)
            self.validation_scores_.append(score)
            if self.verbose:
                print(f"Validation score: {score:f}")
            worse = score < self.best_validation_score_ + self.tol
            if score > self.best_validation_score_:
                self.best_validation_score_ = score
                self._best_theta = self.network_.theta.copy()
        else:
            loss = self.loss_curve_[-1]
            worse = loss > self.best_loss_ - self.tol
            self.best_loss_ = min(self.best_loss_, loss)
        self._no_improvement_count = self._no_improvement_count + 1 if worse else 0

    def _fit_lbfgs(self, X, Y, weights) -> None:
        """Minimise the full-batch loss over ``network_.theta`` with SciPy's L-BFGS-B."""
        net = self.network_
        X, Y = net.check_X(X), net.check_Y(Y, X.shape[0])
        weights = net.check_sample_weight(weights, X.shape[0])
        theta, dtheta = net.theta, net.dtheta

        def loss_and_gradient(x):
            theta[...] = x
            cache = net._forward(X)
            loss = net._loss(cache[f"A{net.L}"], Y, weights)
            net._backward(cache, Y, weights)
            return loss, dtheta.astype(np.float64)

        curve = []

        def record(intermediate_result):
            curve.append(float(intermediate_result.fun))
            if self.verbose:
                print(f"Iteration {len(curve)}, loss = {curve[-1]:.8f}")

        with np.errstate(over="ignore", invalid="ignore"):
            result = scipy.optimize.minimize(loss_and_gradient, theta.astype(np.float64), method="L-BFGS-B",
                                             jac=True, callback=record,
                                             options={"maxiter": self.max_iter, "maxfun": self.max_fun,
                                                      "gtol": self.tol})
        theta[...] = result.x
        self.n_iter_ = min(int(result.nit), self.max_iter)
        self.loss_ = float(result.fun)
        self.loss_curve_.extend(curve)
        if result.status != 0:
            message = result.message.decode() if isinstance(result.message, bytes) else result.message
            warnings.warn(f"lbfgs failed to converge after {self.n_iter_} iteration(s) (status={result.status}): "
                          f"{message}. Increase max_iter or max_fun, or scale the data.",
                          ConvergenceWarning, stacklevel=3)

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


class _StoppingRule(Callback):
    """Runs scikit-learn's end-of-epoch bookkeeping inside :meth:`Network.fit`.

    After every epoch it records the loss, applies the convergence test, sets
    the learning rate of the next epoch ("invscaling", "adaptive") and stops
    training when the test fires.
    """

    def __init__(self, estimator: _BaseMLP, n_samples: int, validation):
        self.estimator, self.n_samples, self.validation = estimator, n_samples, validation
        self.converged = False

    def on_train_begin(self, net, logs):
        self.lr = self.estimator._optimizer.lr

    def on_epoch_end(self, net, epoch, logs):
        est = self.estimator
        est.n_iter_ += 1
        est.t_ += self.n_samples
        est.loss_ = logs["loss"]
        est.loss_curve_.append(est.loss_)
        if est.verbose:
            print(f"Iteration {est.n_iter_}, loss = {est.loss_:.8f}")
        est._update_no_improvement_count(self.validation)
        sgd = est.solver == "sgd"
        if sgd and est.learning_rate == "invscaling":
            self.lr = est.learning_rate_init / (est.t_ + 1) ** est.power_t
        if est._no_improvement_count > est.n_iter_no_change:
            what = "Validation score" if self.validation is not None else "Training loss"
            message = f"{what} did not improve more than tol={est.tol:f} for {est.n_iter_no_change} consecutive epochs."
            if sgd and est.learning_rate == "adaptive" and self.lr > 1e-6:
                self.lr /= 5.0
                est._no_improvement_count = 0
                if est.verbose:
                    print(f"{message} Setting learning rate to {self.lr:f}")
            else:
                self.converged = True
                net.stop_training = True
                if est.verbose:
                    print(f"{message} Stopping.")
        est._optimizer.lr = self.lr


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
                if isinstance(weight, bool) or not isinstance(weight, numbers.Real) or not weight >= 0:
                    raise ConfigError(f"{name}: class_weight for class {label!r} must be a non-negative number, "
                                      f"received {weight!r}")
                per_class[position] = weight
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


class MLPRegressor(RegressorMixin, _BaseMLP):
    __doc__ = """Multi-layer perceptron regressor trained by backpropagation.

    A drop-in for ``sklearn.neural_network.MLPRegressor``: an identity output
    layer trained on half the squared error (scikit-learn's loss), or on the
    absolute or Huber loss. One-dimensional ``y`` gives one-dimensional predictions.
    """ + _REGRESSOR_DOC

    def __init__(self, hidden_layer_sizes=(100,), activation="relu", *, loss="squared_error", solver="adam",
                 alpha=1e-4, batch_size="auto", learning_rate="constant", learning_rate_init=1e-3, power_t=0.5,
                 max_iter=200, shuffle=True, random_state=None, tol=1e-4, verbose=False, warm_start=False,
                 momentum=0.9, nesterovs_momentum=True, early_stopping=False, validation_fraction=0.1, beta_1=0.9,
                 beta_2=0.999, epsilon=1e-8, n_iter_no_change=10, max_fun=15000, dropout=0.0, dtype=None):
        super().__init__(
            hidden_layer_sizes=hidden_layer_sizes, activation=activation, solver=solver, alpha=alpha,
            batch_size=batch_size, learning_rate=learning_rate, learning_rate_init=learning_rate_init,
            power_t=power_t, max_iter=max_iter, shuffle=shuffle, random_state=random_state, tol=tol, verbose=verbose,
            warm_start=warm_start, momentum=momentum, nesterovs_momentum=nesterovs_momentum,
            early_stopping=early_stopping, validation_fraction=validation_fraction, beta_1=beta_1, beta_2=beta_2,
            epsilon=epsilon, n_iter_no_change=n_iter_no_change, max_fun=max_fun, dropout=dropout, dtype=dtype)
        self.loss = loss

    def fit(self, X, y, sample_weight=None):
        """Fit the network to ``X`` and the targets ``y``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
        sample_weight : array-like of shape (n_samples,), optional

        Returns
        -------
        self
        """
        return self._fit(X, y, sample_weight)

    @available_if(_stochastic_solver)
    def partial_fit(self, X, y, sample_weight=None):
        """Train for one epoch over ``(X, y)``, continuing from the current state.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
        sample_weight : array-like of shape (n_samples,), optional

        Returns
        -------
        self
        """
        return self._fit(X, y, sample_weight, incremental=True)

    def predict(self, X) -> np.ndarray:
        """Predicted targets, shape ``(n_samples,)`` for one output, else ``(n_samples, n_outputs)``."""
        AL = self._forward_output(X)
        return AL.ravel() if self.n_outputs_ == 1 else AL

    def _encode_targets(self, y, first_pass: bool, incremental: bool, classes) -> np.ndarray:
        _check_choice(type(self).__name__, "loss", self.loss, tuple(REGRESSION_LOSSES))
        Y = np.asarray(y, dtype=np.float64).reshape(y.shape[0], -1)
        if get_loss(REGRESSION_LOSSES[self.loss]).counts and (Y < 0).any():
            raise DataError(f"{type(self).__name__}: Some value(s) of y are negative which is not allowed for Poisson "
                            f"regression; received a minimum of {Y.min():g}")
        if first_pass:
            self.n_outputs_ = Y.shape[1]
        elif Y.shape[1] != self.n_outputs_:
            raise ShapeError(f"{type(self).__name__}: y has {Y.shape[1]} output(s) but the fitted network has "
                             f"{self.n_outputs_}; fit without warm_start to change the outputs")
        return Y

    def _output(self) -> tuple[str, str]:
        loss = REGRESSION_LOSSES[self.loss]
        return get_loss(loss).shortcut or "identity", loss  # exp for poisson, identity otherwise

    def _network_classes(self):
        return None

    def _target_weights(self, Y: np.ndarray) -> None:
        return None

    def _stratify(self, y):
        return None

    def _score_output(self, AL, y, sample_weight) -> float:
        return r2_score(y, AL.ravel() if self.n_outputs_ == 1 else AL, sample_weight=sample_weight)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags


# ------------------------------------------------------------------ helpers
def _dense(X):
    """Densify sparse input as a whole (any SciPy sparse format)."""
    return X.toarray() if sp.issparse(X) else X


def _hidden_activations(owner: str, activation, n_hidden: int) -> list[str]:
    """One layerwise activation name per hidden layer, from a name or a sequence of names."""
    if isinstance(activation, str):
        return [_activation_name(owner, activation)] * n_hidden
    if not isinstance(activation, (list, tuple)) or len(activation) != n_hidden:
        raise ConfigError(f"{owner}: activation must be a name or a list of {n_hidden} names (one per hidden "
                          f"layer), received {activation!r}")
    return [_activation_name(owner, name) for name in activation]


def _activation_name(owner: str, name) -> str:
    resolved = ACTIVATION_ALIASES.get(name, name) if isinstance(name, str) else None
    if resolved not in ACTIVATIONS:
        valid = sorted({*ACTIVATIONS, *ACTIVATION_ALIASES})
        raise ConfigError(f"{owner}: unknown activation {name!r}; expected one of {', '.join(valid)}")
    return resolved


NON_FINITE = ("Solver produced non-finite parameter weights. The input data may contain large values and need to be "
              "preprocessed.")
"""scikit-learn's message for a solver that ends with non-finite parameters (or whose loss became non-finite)."""


def _trained(net: Network) -> list:
    """The layers with parameters, in order: the estimators' networks have Dense layers (and Dropout) only."""
    return [layer for layer in net.layers if layer.params()]


def _dtype_name(dtype) -> str | None:
    try:
        return np.dtype(dtype).name
    except TypeError:
        return None


def _check_choice(owner: str, arg: str, value, choices: tuple[str, ...]) -> None:
    if not isinstance(value, str) or value not in choices:
        raise ConfigError(f"{owner}: {arg} must be one of {', '.join(repr(c) for c in choices)}, received {value!r}")


def _check_number(owner: str, arg: str, value, low: float, high: float | None = None, *, low_open: bool = False,
                  high_open: bool = False, integer: bool = False, expected_extra: str = "") -> None:
    """Raise :class:`ConfigError` unless ``value`` is a finite number (an integer) in the interval."""
    left, right = "(" if low_open else "[", ")" if high is None or high_open else "]"
    expected = (f"{'an integer' if integer else 'a number'} in {left}{low}, {'inf' if high is None else high}{right}"
                f"{expected_extra}")
    kind = numbers.Integral if integer else numbers.Real
    valid = not isinstance(value, bool) and isinstance(value, kind) and bool(np.isfinite(value))
    if valid:
        above_low = value > low or (value == low and not low_open)
        below_high = high is None or value < high or (value == high and not high_open)
        valid = above_low and below_high
    if not valid:
        raise ConfigError(f"{owner}: {arg} must be {expected}, received {value!r}")


def _check_sample_weight(sample_weight, n: int) -> np.ndarray | None:
    """Validate ``sample_weight``: one finite, non-negative weight per example (a scalar applies to all)."""
    if sample_weight is None:
        return None
    try:
        weights = np.asarray(sample_weight, dtype=np.float64)
    except (TypeError, ValueError):
        raise DataError(f"sample_weight must be numeric, received {type(sample_weight).__name__}") from None
    if weights.ndim == 0:
        weights = np.full(n, float(weights))
    if weights.shape != (n,):
        raise ShapeError(f"sample_weight must have shape ({n},), one weight per example; received {weights.shape}")
    if not np.isfinite(weights).all() or (weights < 0).any():
        raise DataError("sample_weight must hold finite, non-negative numbers")
    return weights


def _combine(weights: np.ndarray | None, target_weights: np.ndarray | None) -> np.ndarray | None:
    if target_weights is None:
        return weights
    return target_weights if weights is None else weights * target_weights


def _drop_unweighted(X, Y, y, weights):
    """Leave out the examples of weight zero."""
    keep = weights > 0
    if not keep.any():
        raise DataError("sample_weight (times class_weight) is zero for every example; nothing to train on")
    if keep.all():
        return X, Y, y, weights
    return X[keep], Y[keep], y[keep], weights[keep]
