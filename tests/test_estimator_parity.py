"""Held-out accuracy and R^2 of layerwise's estimators against scikit-learn's on its bundled data sets.

Both libraries get the same parameters (adam unless a case names another
solver), seeds and folds; inputs are standardised (and, for diabetes, the
target too). The score of each library is averaged over three seeds; the
averages must agree within one percentage point of accuracy, or 0.02 of R^2.
"""

import warnings

import numpy as np
import pytest
from sklearn import datasets, neural_network
from sklearn.compose import TransformedTargetRegressor
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import KFold, StratifiedKFold, cross_val_score, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

from layerwise.interop import estimators

SEEDS = (0, 1, 2)


def cross_validated_accuracy(module, X, y, seed, params):
    model = make_pipeline(StandardScaler(), module.MLPClassifier(random_state=seed, **params))
    return cross_val_score(model, X, y, cv=StratifiedKFold(5, shuffle=True, random_state=seed)).mean()


def held_out_accuracy(module, X, y, seed, params):
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, random_state=seed, stratify=y)
    model = make_pipeline(StandardScaler(), module.MLPClassifier(random_state=seed, **params))
    return model.fit(X_train, y_train).score(X_test, y_test)


def cross_validated_r2(module, X, y, seed, params):
    regressor = make_pipeline(StandardScaler(), module.MLPRegressor(random_state=seed, **params))
    model = TransformedTargetRegressor(regressor, transformer=StandardScaler())
    return cross_val_score(model, X, y, cv=KFold(5, shuffle=True, random_state=seed)).mean()


CASES = {
    "iris": (cross_validated_accuracy, dict(hidden_layer_sizes=(16,), learning_rate_init=0.01, max_iter=1000), 0.01,
             0.9),
    "wine": (cross_validated_accuracy, dict(hidden_layer_sizes=(16,), learning_rate_init=0.01, max_iter=500), 0.01,
             0.95),
    "breast_cancer": (cross_validated_accuracy,
                      dict(hidden_layer_sizes=(16,), alpha=1e-2, learning_rate_init=0.01, max_iter=500), 0.01, 0.95),
    "digits": (held_out_accuracy, dict(hidden_layer_sizes=(64,), learning_rate_init=0.01, max_iter=200), 0.01, 0.95),
    "digits-sgd": (held_out_accuracy, dict(hidden_layer_sizes=(64,), solver="sgd", learning_rate_init=0.05,
                                           max_iter=200), 0.01, 0.95),
    "breast_cancer-lbfgs": (cross_validated_accuracy, dict(hidden_layer_sizes=(16,), solver="lbfgs", alpha=1.0), 0.01,
                            0.95),
    "diabetes": (cross_validated_r2, dict(hidden_layer_sizes=(16,), alpha=1.0, learning_rate_init=0.01, max_iter=500),
                 0.02, 0.35),
}


@pytest.fixture(autouse=True, scope="module")
def one_blas_thread():
    """Small matrices: extra BLAS threads only contend for the cores."""
    with threadpool_limits(limits=1):
        yield


@pytest.mark.parametrize("name", list(CASES))
def test_scores_match_sklearn_on_bundled_datasets(name):
    score, params, tolerance, floor = CASES[name]
    X, y = getattr(datasets, f"load_{name.split('-')[0]}")(return_X_y=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ours = np.mean([score(estimators, X, y, seed, params) for seed in SEEDS])
        theirs = np.mean([score(neural_network, X, y, seed, params) for seed in SEEDS])
    print(f"{name}: layerwise {ours:.4f}  scikit-learn {theirs:.4f}  difference {ours - theirs:+.4f}")
    assert theirs > floor
    assert abs(ours - theirs) <= tolerance
