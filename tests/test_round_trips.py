"""Pickle, deepcopy, joblib and checkpoints keep a network trainable: after a round trip the layers' W and b are
views into the flat buffer again, and training the copy further gives bit for bit what training the original
gives (before the fix the copy's forward pass read detached arrays and its loss never moved)."""

import copy
import pickle

import joblib
import numpy as np
import pytest

import layerwise as lw
from layerwise.interop.estimators import MLPClassifier, MLPRegressor


def through_joblib(obj, tmp_path):
    joblib.dump(obj, tmp_path / "obj.joblib")
    return joblib.load(tmp_path / "obj.joblib")


TRIPS = {"pickle": lambda obj, tmp_path: pickle.loads(pickle.dumps(obj)),
         "deepcopy": lambda obj, tmp_path: copy.deepcopy(obj),
         "joblib": through_joblib}


def problem(seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(80, 4))
    return X, (X[:, 0] - X[:, 1] > 0).astype(int) + (X[:, 2] > 0.5)


def trained_network():
    X, y = problem()
    net = lw.Network([lw.Dense(8, activation="relu"), lw.Dropout(0.2), lw.Dense(3, activation="softmax")],
                     input_dim=4, seed=0)
    net.fit(X, y, epochs=2, batch_size=16, verbose=0)
    return net


def assert_views(net):
    for layer in net.dense:
        assert np.shares_memory(layer.W, net.theta) and np.shares_memory(layer.b, net.theta)


@pytest.mark.parametrize("trip", [*TRIPS, "copy"])
def test_a_round_tripped_network_trains_on_exactly_as_the_original(trip, tmp_path):
    net = trained_network()
    twin = net.copy() if trip == "copy" else TRIPS[trip](net, tmp_path)
    assert_views(twin)
    assert twin.theta is not net.theta
    X, y = problem(1)
    before = twin.predict_proba(X)
    twin.fit(X, y, epochs=3, batch_size=16, verbose=0)
    net.fit(X, y, epochs=3, batch_size=16, verbose=0)
    assert not np.allclose(twin.predict_proba(X), before)  # the forward pass reads the trained buffer
    np.testing.assert_array_equal(twin.theta, net.theta)
    np.testing.assert_array_equal(twin.predict_proba(X), net.predict_proba(X))


def test_an_unbuilt_network_round_trips_and_builds_later():
    net = lw.Network([lw.Dense(3, activation="softmax")], seed=0)
    twin = pickle.loads(pickle.dumps(net))
    X, y = problem()
    twin.fit(X, y, epochs=1, verbose=0)
    net.fit(X, y, epochs=1, verbose=0)
    np.testing.assert_array_equal(twin.theta, net.theta)


@pytest.mark.parametrize("trip", TRIPS)
@pytest.mark.parametrize("estimator", [
    MLPClassifier(hidden_layer_sizes=(6,), max_iter=5, random_state=0),
    MLPClassifier(hidden_layer_sizes=(6,), solver="sgd", momentum=0.9, max_iter=5, random_state=0),
    MLPRegressor(hidden_layer_sizes=(6,), max_iter=5, random_state=0),
], ids=["classifier-adam", "classifier-sgd", "regressor-adam"])
@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_a_round_tripped_estimator_goes_on_with_partial_fit_and_warm_start_exactly(estimator, trip, tmp_path):
    X, y = problem()
    if isinstance(estimator, MLPRegressor):
        y = X @ np.array([1.0, -2.0, 0.5, 0.0])
    fitted = estimator.fit(X, y)
    twin = TRIPS[trip](fitted, tmp_path)
    assert_views(twin.network_)
    before = [W.copy() for W in twin.coefs_]
    for _ in range(3):
        twin.partial_fit(X, y)
        fitted.partial_fit(X, y)
    assert not np.array_equal(twin.coefs_[0], before[0])
    for mine, theirs in zip(fitted.coefs_ + fitted.intercepts_, twin.coefs_ + twin.intercepts_):
        np.testing.assert_array_equal(theirs, mine)
    twin.set_params(warm_start=True).fit(X, y)
    fitted.set_params(warm_start=True).fit(X, y)
    np.testing.assert_array_equal(twin.network_.theta, fitted.network_.theta)


def test_a_joblib_loaded_regressor_learns_a_new_target_with_partial_fit(tmp_path):
    """scikit-learn's issue #19626: fit on one target, save with joblib, load, partial_fit towards another."""
    regressor = MLPRegressor(hidden_layer_sizes=(42,), learning_rate_init=0.01, max_iter=200, random_state=42)
    regressor.fit([[2.0]], [4.0])
    assert regressor.predict([[2.0]])[0] > 3
    loaded = through_joblib(regressor, tmp_path)
    for _ in range(200):
        loaded.partial_fit([[2.0]], [1.0])
    assert loaded.predict([[2.0]])[0] == pytest.approx(1.0, rel=1e-4)


def test_a_checkpoints_network_round_trips_and_trains_on_exactly(tmp_path):
    X, y = problem()
    net = lw.Network([lw.Dense(8, activation="tanh"), lw.Dense(3, activation="softmax")], input_dim=4, seed=0)
    net.fit(X, y, epochs=2, verbose=0, checkpoint=tmp_path / "c.safetensors")
    restored = lw.load(tmp_path / "c.safetensors")
    for twin in (pickle.loads(pickle.dumps(restored)), copy.deepcopy(restored)):
        assert_views(twin)
        twin.fit(X, y, epochs=2, verbose=0)
        reference = lw.load(tmp_path / "c.safetensors")
        reference.fit(X, y, epochs=2, verbose=0)
        np.testing.assert_array_equal(twin.theta, reference.theta)
    resumed = lw.Network([lw.Dense(8, activation="tanh"), lw.Dense(3, activation="softmax")], input_dim=4, seed=0)
    resumed.fit(X, y, epochs=3, verbose=0, resume_from=tmp_path / "c.safetensors")
    twin = pickle.loads(pickle.dumps(resumed))
    twin.fit(X, y, epochs=1, verbose=0)
    resumed.fit(X, y, epochs=1, verbose=0)
    np.testing.assert_array_equal(twin.theta, resumed.theta)
