"""The estimators' parameters: their names and documentation, shared by the classifier and the regressor, and
the helpers that validate them and the data."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from ..engine.network import Network
from ..errors import ConfigError, DataError, ShapeError
from ..ops.activations import ACTIVATIONS

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
