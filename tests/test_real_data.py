"""Behaviour on real data sets, and parity with scikit-learn's MLP on the same problems."""

import warnings

import numpy as np
import pytest
from sklearn import datasets
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import r2_score
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.preprocessing import StandardScaler

import layerwise as lw

LOADERS = {
    "digits": datasets.load_digits,
    "iris": datasets.load_iris,
    "wine": datasets.load_wine,
    "breast_cancer": datasets.load_breast_cancer,
    "diabetes": datasets.load_diabetes,
}


def split(name, seed=0):
    X, y = LOADERS[name](return_X_y=True)
    stratify = None if name == "diabetes" else y
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, random_state=seed, stratify=stratify)
    scaler = StandardScaler().fit(X_train)
    return scaler.transform(X_train), scaler.transform(X_test), y_train, y_test


def layerwise_score(name, seed, epochs, batch_size=32):
    X_train, X_test, y_train, y_test = split(name)
    if name == "diabetes":
        net = lw.Network([lw.Dense(128, "relu"), lw.Dense(1, "identity")], input_dim=X_train.shape[1], seed=seed)
        net.fit(X_train, y_train, epochs=epochs, batch_size=batch_size, lr=1e-2, l2=1e-4, verbose=0)
        return r2_score(y_test, net.predict(X_test).ravel())
    n_classes = len(np.unique(y_train))
    net = lw.Network([lw.Dense(128, "relu"), lw.Dense(n_classes, "softmax")], input_dim=X_train.shape[1], seed=seed)
    net.fit(X_train, y_train, epochs=epochs, batch_size=batch_size, lr=1e-3, l2=1e-4, verbose=0)
    return float(np.mean(net.predict(X_test) == y_test))


def sklearn_score(name, seed, epochs, batch_size=32):
    X_train, X_test, y_train, y_test = split(name)
    common = dict(hidden_layer_sizes=(128,), batch_size=batch_size, max_iter=epochs, random_state=seed, alpha=1e-4,
                  tol=0.0, n_iter_no_change=epochs + 1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        if name == "diabetes":
            return MLPRegressor(learning_rate_init=1e-2, **common).fit(X_train, y_train).score(X_test, y_test)
        return MLPClassifier(learning_rate_init=1e-3, **common).fit(X_train, y_train).score(X_test, y_test)


def test_digits_reaches_97_percent_within_30_epochs():
    X, y = datasets.load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(X / 16.0, y, test_size=0.25, random_state=0, stratify=y)
    net = lw.Network([lw.Dense(128, "relu"), lw.Dense(10, "softmax")], input_dim=64, seed=0)
    net.fit(X_train, y_train, epochs=30, batch_size=32, optimizer="adam", verbose=0)
    assert np.mean(net.predict(X_test) == y_test) >= 0.97


def test_breast_cancer_reaches_95_percent():
    X_train, X_test, y_train, y_test = split("breast_cancer")
    net = lw.Network([lw.Dense(128, "relu"), lw.Dense(1, "sigmoid")], input_dim=30, seed=0)
    net.fit(X_train, y_train, epochs=30, batch_size=32, optimizer="adam", verbose=0)
    assert np.mean(net.predict(X_test) == y_test) >= 0.95


@pytest.mark.parametrize("name,epochs", [("digits", 30), ("iris", 100), ("wine", 50), ("breast_cancer", 30),
                                         ("diabetes", 200)])
def test_as_good_as_scikit_learn_averaged_over_three_seeds(name, epochs):
    ours = np.mean([layerwise_score(name, seed, epochs) for seed in range(3)])
    theirs = np.mean([sklearn_score(name, seed, epochs) for seed in range(3)])
    margin = 0.02 if name == "diabetes" else 0.01
    assert ours >= theirs - margin, f"layerwise {ours:.4f} vs scikit-learn {theirs:.4f}"
