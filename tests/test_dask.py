"""Hyperparameter search on a Dask cluster through scikit-learn's joblib integration.

A two-process local cluster stands in for a real one: the same code runs
against ``Client("tcp://scheduler:8786")``. The search on the cluster must
give exactly the scores and the best parameters of the same search run
sequentially in this process.
"""

import numpy as np
import pytest

distributed = pytest.importorskip("distributed")
joblib = pytest.importorskip("joblib")

from sklearn.datasets import load_diabetes, load_iris  # noqa: E402
from sklearn.model_selection import GridSearchCV  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402
from threadpoolctl import threadpool_limits  # noqa: E402

from layerwise.interop.estimators import MLPClassifier, MLPRegressor  # noqa: E402

SCORE_KEYS = ("params", "mean_test_score", "std_test_score", "rank_test_score", "split0_test_score",
              "split1_test_score", "split2_test_score")


@pytest.fixture(scope="module")
def client():
    with distributed.LocalCluster(n_workers=2, processes=True, threads_per_worker=1, host="127.0.0.1",
                                  dashboard_address=None) as cluster, distributed.Client(cluster) as dask_client:
        yield dask_client


def search_both_ways(client, estimator, grid, X, y):
    """The same grid search run sequentially here and on the cluster; also the tasks the cluster ran."""
    with threadpool_limits(limits=1):  # the workers run with one BLAS thread; so does the reference
        sequential = GridSearchCV(estimator, grid, cv=3, n_jobs=1).fit(X, y)
    with distributed.get_task_stream(client) as tasks, joblib.parallel_backend("dask"):
        on_dask = GridSearchCV(estimator, grid, cv=3).fit(X, y)
    return sequential, on_dask, tasks.data


def assert_same_search(sequential, on_dask):
    for key in SCORE_KEYS:
        assert list(on_dask.cv_results_[key]) == list(sequential.cv_results_[key]), key
    assert on_dask.best_params_ == sequential.best_params_
    assert on_dask.best_score_ == sequential.best_score_


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_classifier_grid_search_on_dask_equals_the_sequential_search(client):
    X, y = load_iris(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    grid = {"alpha": [1e-4, 1.0], "hidden_layer_sizes": [(4,), (16,)], "solver": ["lbfgs", "adam"]}
    estimator = MLPClassifier(learning_rate_init=0.01, max_iter=300, random_state=0)
    sequential, on_dask, tasks = search_both_ways(client, estimator, grid, X, y)
    assert_same_search(sequential, on_dask)
    assert len(tasks) > 0
    assert on_dask.best_score_ > 0.9


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_regressor_grid_search_on_dask_equals_the_sequential_search(client):
    X, y = load_diabetes(return_X_y=True)
    X, y = StandardScaler().fit_transform(X), (y - y.mean()) / y.std()
    grid = {"alpha": [1e-2, 1.0], "learning_rate_init": [1e-3, 1e-2]}
    estimator = MLPRegressor(hidden_layer_sizes=(16,), max_iter=200, random_state=0)
    sequential, on_dask, tasks = search_both_ways(client, estimator, grid, X, y)
    assert_same_search(sequential, on_dask)
    assert len(tasks) > 0
    assert np.isfinite(on_dask.best_score_)


def test_partial_fit_under_dask_ml_incremental_equals_partial_fit_block_by_block(client):
    from dask import array as da
    from dask_ml.wrappers import Incremental

    rng = np.random.default_rng(0)
    X = rng.standard_normal((960, 5))
    y = (X[:, 0] + X[:, 1] > 0).astype(int) + (X[:, 2] > 1)
    dX, dy = da.from_array(X, chunks=(80, 5)), da.from_array(y, chunks=80)  # 12 blocks, each shipped to a worker
    estimator = MLPClassifier(hidden_layer_sizes=(16,), random_state=0, batch_size=40, learning_rate_init=0.01)
    incremental = Incremental(estimator, scoring="accuracy", shuffle_blocks=False)
    for _ in range(3):  # three passes over the blocks
        incremental.partial_fit(dX, dy, classes=[0, 1, 2])
    with threadpool_limits(limits=1):
        reference = MLPClassifier(**estimator.get_params())
        for _ in range(3):
            for start in range(0, 960, 80):
                reference.partial_fit(X[start: start + 80], y[start: start + 80], classes=[0, 1, 2])
    for mine, theirs in zip(incremental.estimator_.coefs_ + incremental.estimator_.intercepts_,
                            reference.coefs_ + reference.intercepts_):
        np.testing.assert_allclose(mine, theirs, rtol=1e-12, atol=1e-14)
    assert incremental.estimator_.t_ == reference.t_ == 3 * 960
    np.testing.assert_array_equal(incremental.predict(dX).compute(), reference.predict(X))
    assert incremental.score(dX, dy) > 0.8


def _partial_fit_twice(estimator, X, y):
    """Runs on a worker: the estimator arrives pickled, trains on and goes back pickled."""
    with threadpool_limits(limits=1):
        return estimator.partial_fit(X, y).partial_fit(X, y)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_an_estimator_sent_to_a_worker_trains_on_there_exactly_as_here(client):
    X, y = load_iris(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    with threadpool_limits(limits=1):
        fitted = MLPClassifier(hidden_layer_sizes=(8,), max_iter=20, random_state=0).fit(X, y)
        remote = client.submit(_partial_fit_twice, fitted, X, y, pure=False).result()
        local = _partial_fit_twice(fitted, X, y)
    assert not np.array_equal(remote.coefs_[0], MLPClassifier(hidden_layer_sizes=(8,), max_iter=20,
                                                               random_state=0).fit(X, y).coefs_[0])
    for mine, theirs in zip(local.coefs_ + local.intercepts_, remote.coefs_ + remote.intercepts_):
        np.testing.assert_array_equal(theirs, mine)
    np.testing.assert_array_equal(remote.predict_proba(X), local.predict_proba(X))
