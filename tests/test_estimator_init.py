"""The estimators' initialisation, and what it buys: short runs that do not end in a constant prediction."""

import warnings

import numpy as np
import pytest
from sklearn import neural_network
from sklearn.datasets import make_blobs, make_classification, make_regression
from sklearn.exceptions import ConvergenceWarning
from sklearn.preprocessing import StandardScaler, scale
from sklearn.utils import check_random_state

from layerwise.interop.estimators import MLPClassifier, MLPRegressor


def first_weights(estimator, X, y):
    """The parameters before any update: one sgd epoch at a learning rate too small to move them."""
    estimator.set_params(solver="sgd", momentum=0.0, learning_rate_init=1e-300, max_iter=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        estimator.fit(X, y)
    return estimator.coefs_, estimator.intercepts_


@pytest.mark.parametrize("activation", ["relu", "tanh", "logistic"])
def test_hidden_weights_follow_the_dense_default_output_weights_have_variance_one_over_fan_in_squared(activation):
    X, y = make_classification(n_samples=50, n_features=30, n_informative=5, random_state=0)
    coefs, intercepts = first_weights(MLPClassifier(hidden_layer_sizes=(400,), activation=activation,
                                                    random_state=0), X, y)
    hidden, output = coefs
    if activation == "relu":  # He normal
        assert np.std(hidden) == pytest.approx(np.sqrt(2 / 30), rel=0.02)
    else:  # Glorot uniform
        bound = np.sqrt(6 / (30 + 400))
        assert 0.99 * bound < np.abs(hidden).max() <= bound
        assert np.std(hidden) == pytest.approx(bound / np.sqrt(3), rel=0.02)
    assert np.abs(output).max() <= np.sqrt(3) / 400
    assert np.std(output) == pytest.approx(1 / 400, rel=0.1)
    assert all(np.all(np.abs(b) < 1e-290) for b in intercepts)  # zero, but for the one step of 1e-300


def test_lbfgs_output_weights_are_glorot_uniform():
    reg = MLPRegressor(hidden_layer_sizes=(400,), solver="lbfgs")
    reg.n_outputs_ = 1
    reg._initialize(30, np.float64, [400], ["relu"], check_random_state(0))
    W = reg.network_.params["W2"]
    bound = np.sqrt(6 / 401)
    assert 0.99 * bound < np.abs(W).max() <= bound
    assert np.std(W) == pytest.approx(bound / np.sqrt(3), rel=0.15)


def blob_problems():
    X, y = make_blobs(n_samples=300, random_state=0)
    X = StandardScaler().fit_transform(X)
    two = y < 2
    return {"two classes": (X[two], y[two]), "three classes": (X, y)}


@pytest.mark.parametrize("problem", ["two classes", "three classes"])
def test_twenty_iterations_are_enough_for_every_seed_and_beat_sklearns_worst(problem):
    X, y = blob_problems()[problem]
    worst = {}
    for name, module in (("layerwise", None), ("scikit-learn", neural_network)):
        estimator = MLPClassifier if module is None else module.MLPClassifier
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            worst[name] = min(estimator(max_iter=20, random_state=seed).fit(X, y).score(X, y) for seed in range(10))
    print(problem, worst)
    assert worst["layerwise"] >= worst["scikit-learn"]
    assert worst["layerwise"] > 0.88


@pytest.mark.parametrize("activation", ["logistic", "tanh", "relu"])
def test_lbfgs_regression_reaches_the_nonlinear_fit_for_every_seed(activation):
    X, y = make_regression(n_samples=200, n_features=10, bias=20.0, noise=100.0, random_state=7)
    y = scale(y)
    scores = [MLPRegressor(solver="lbfgs", hidden_layer_sizes=50, max_iter=200, tol=1e-3, random_state=seed,
                           activation=activation).fit(X, y).score(X, y) for seed in range(4)]
    assert min(scores) > 0.98
