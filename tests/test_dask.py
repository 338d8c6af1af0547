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
