"""layerwise.interop.estimators against scikit-learn: its estimator checks, its MLPs as the reference, its tools."""

import pickle
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.special import expit, softmax
from sklearn import neural_network
from sklearn.base import clone
from sklearn.datasets import load_iris, make_classification, make_multilabel_classification, make_regression
from sklearn.exceptions import ConvergenceWarning, DataConversionWarning
from sklearn.metrics import log_loss
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks
from threadpoolctl import threadpool_limits

from layerwise.errors import ConfigError, DataError, ShapeError
from layerwise.interop.estimators import MLPClassifier, MLPRegressor


@pytest.fixture(autouse=True, scope="module")
def one_blas_thread():
    """The matrices here are tiny: more BLAS threads only contend for the cores (L-BFGS-B slows tenfold)."""
    with threadpool_limits(limits=1):
        yield


INVSCALING_FAILS = {
    "check_regressors_train": "invscaling sets lr = learning_rate_init / sqrt(samples seen), too small to reach "
                              "R^2 > 0.5 in 100 epochs; scikit-learn's own MLPRegressor fails this check too",
    "check_sample_weight_equivalence_on_dense_data": "invscaling counts examples seen, so repeated rows lower the "
                                                     "learning rate; scikit-learn's own MLPRegressor fails this too",
    "check_sample_weight_equivalence_on_sparse_data": "as check_sample_weight_equivalence_on_dense_data",
}


def expected_failed_checks(estimator):
    if estimator.get_params().get("learning_rate") == "invscaling":
        return INVSCALING_FAILS
    return {}


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.filterwarnings("ignore:Can't check dok sparse matrix")
@parametrize_with_checks(
    [
        MLPClassifier(max_iter=100),
        MLPRegressor(max_iter=100),
        MLPClassifier(solver="lbfgs", max_iter=100),
        MLPRegressor(solver="lbfgs", max_iter=100),
        MLPClassifier(solver="sgd", learning_rate="adaptive", max_iter=100),
        MLPRegressor(solver="sgd", learning_rate="invscaling", max_iter=100),
    ],
    expected_failed_checks=expected_failed_checks,
)
def test_passes_sklearn_estimator_checks(estimator, check):
    check(estimator)


# ------------------------------------------------------------------ data
@pytest.fixture(scope="module")
def multiclass():
    X, y = make_classification(n_samples=300, n_features=8, n_informative=5, n_classes=3, random_state=0)
    return X, y


@pytest.fixture(scope="module")
def binary():
    return make_classification(n_samples=300, n_features=8, random_state=1)


@pytest.fixture(scope="module")
def regression():
    X, y = make_regression(n_samples=300, n_features=8, noise=5.0, random_state=0)
    return X, y / y.std()


def glorot_start(sizes, seed=0):
    """Weights and biases in scikit-learn's orientation, uniform in +-sqrt(6 / (fan_in + fan_out))."""
    rs = np.random.RandomState(seed)
    coefs, intercepts = [], []
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
        bound = np.sqrt(6.0 / (fan_in + fan_out))
        coefs.append(rs.uniform(-bound, bound, (fan_in, fan_out)))
        intercepts.append(rs.uniform(-bound, bound, fan_out))
    return coefs, intercepts


def fit_from(est, start, X, y, max_iter, **params):
    """Fit ``est`` (warm-started) for ``max_iter`` epochs from the parameters ``start``.

    A one-epoch fit creates the model; its parameters are then overwritten and
    the best loss / score reset, so that layerwise and scikit-learn continue
    from identical states.
    """
    est.set_params(warm_start=True, max_iter=1, **params)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est.fit(X, y)
    est.coefs_ = [c.copy() for c in start[0]]
    est.intercepts_ = [b.copy() for b in start[1]]
    if getattr(est, "best_loss_", None) is not None:
        est.best_loss_ = np.inf
    if getattr(est, "best_validation_score_", None) is not None:
        est.best_validation_score_ = -np.inf
    est.set_params(max_iter=max_iter)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return est.fit(X, y)


def twins(kind, data, n_outputs, max_iter, **params):
    """The same training run with layerwise's and scikit-learn's estimator."""
    X, y = data
    start = glorot_start([X.shape[1], 16, n_outputs])
    ours = fit_from(globals()[kind](hidden_layer_sizes=(16,), random_state=0), start, X, y, max_iter, **params)
    theirs = fit_from(getattr(neural_network, kind)(hidden_layer_sizes=(16,), random_state=0), start, X, y,
                      max_iter, **params)
    return ours, theirs


def assert_same_run(ours, theirs, rtol):
    """Same epochs, losses and parameters (the first loss is of the warm-up epoch, from different starts)."""
    assert ours.n_iter_ == theirs.n_iter_
    np.testing.assert_allclose(ours.loss_curve_[1:], theirs.loss_curve_[1:], rtol=rtol)
    for mine, reference in zip(ours.coefs_ + ours.intercepts_, theirs.coefs_ + theirs.intercepts_):
        np.testing.assert_allclose(mine, reference, rtol=rtol, atol=rtol * 1e-2)


# ------------------------------------------- the same run as scikit-learn
@pytest.mark.parametrize(
    "params",
    [
        dict(solver="sgd", learning_rate_init=0.01, tol=1e-4, n_iter_no_change=5),
        dict(solver="sgd", momentum=0.0, learning_rate="adaptive", learning_rate_init=0.05, tol=1e-3,
             n_iter_no_change=3),
        dict(solver="sgd", learning_rate_init=0.05, early_stopping=True, n_iter_no_change=5),
    ],
    ids=["nesterov", "adaptive", "early-stopping"],
)
def test_sgd_binary_matches_sklearn_step_for_step(binary, params):
    ours, theirs = twins("MLPClassifier", binary, 1, 200, shuffle=False, batch_size=32, **params)
    assert_same_run(ours, theirs, rtol=1e-9)
    if params.get("early_stopping"):
        np.testing.assert_allclose(ours.validation_scores_[1:], theirs.validation_scores_[1:])
        assert ours.best_validation_score_ == theirs.best_validation_score_
    else:
        assert ours.best_loss_ == pytest.approx(theirs.best_loss_, rel=1e-12)


def test_sgd_invscaling_matches_sklearn(multiclass):
    ours, theirs = twins("MLPClassifier", multiclass, 3, 60, solver="sgd", shuffle=False, batch_size=50, momentum=0.0,
                         learning_rate="invscaling", learning_rate_init=0.5, power_t=0.25)
    assert_same_run(ours, theirs, rtol=1e-9)
    assert ours.t_ == theirs.t_


def test_adam_matches_sklearn_up_to_the_placement_of_epsilon(multiclass):
    # torch's Adam adds eps * sqrt(1 - beta2**t) where scikit-learn adds eps: the runs agree closely, not exactly
    ours, theirs = twins("MLPClassifier", multiclass, 3, 30, solver="adam", shuffle=False, batch_size=64,
                         learning_rate_init=0.01)
    assert_same_run(ours, theirs, rtol=2e-3)


def test_adam_regressor_with_early_stopping_matches_sklearn(regression):
    ours, theirs = twins("MLPRegressor", regression, 1, 100, solver="adam", shuffle=False, batch_size=64,
                         learning_rate_init=0.01, early_stopping=True, n_iter_no_change=5)
    assert ours.n_iter_ == theirs.n_iter_
    np.testing.assert_allclose(ours.validation_scores_[1:], theirs.validation_scores_[1:], rtol=1e-4)
    np.testing.assert_allclose(ours.predict(regression[0]), theirs.predict(regression[0]), rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("kind, data, n_outputs", [("MLPClassifier", "multiclass", 3), ("MLPClassifier", "binary", 1),
                                                   ("MLPRegressor", "regression", 1)])
def test_lbfgs_matches_sklearn(kind, data, n_outputs, request):
    ours, theirs = twins(kind, request.getfixturevalue(data), n_outputs, 40, solver="lbfgs", alpha=1e-2)
    assert ours.n_iter_ == theirs.n_iter_
    assert ours.loss_ == pytest.approx(theirs.loss_, rel=1e-8)
    for mine, reference in zip(ours.coefs_, theirs.coefs_):
        np.testing.assert_allclose(mine, reference, rtol=1e-6, atol=1e-8)


# ------------------------------------------------ definitions, by hand
def penalty(est, n):
    return est.alpha / (2 * n) * sum(float(np.sum(W**2)) for W in est.coefs_)


def test_lbfgs_loss_is_cross_entropy_plus_alpha_penalty(multiclass):
    X, y = multiclass
    clf = MLPClassifier(hidden_layer_sizes=(10,), solver="lbfgs", alpha=0.5, max_iter=30, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X, y)
    assert clf.loss_ == pytest.approx(log_loss(y, clf.predict_proba(X)) + penalty(clf, len(X)), rel=1e-9)
    assert clf.loss_ == pytest.approx(clf.loss_curve_[-1], rel=1e-12)


def test_lbfgs_loss_is_half_squared_error_plus_alpha_penalty(regression):
    X, y = regression
    reg = MLPRegressor(hidden_layer_sizes=(10,), solver="lbfgs", alpha=0.5, max_iter=30, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        reg.fit(X, y)
    assert reg.loss_ == pytest.approx(0.5 * np.mean((reg.predict(X) - y) ** 2) + penalty(reg, len(X)), rel=1e-9)


def test_coefs_are_sklearn_oriented_views_of_the_network(multiclass):
    X, y = multiclass
    clf = MLPClassifier(hidden_layer_sizes=(7, 5), activation="tanh", max_iter=5, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X, y)
    assert [c.shape for c in clf.coefs_] == [(8, 7), (7, 5), (5, 3)]
    assert [b.shape for b in clf.intercepts_] == [(7,), (5,), (3,)]
    np.testing.assert_array_equal(clf.coefs_[0], clf.network_.params["W1"].T)
    A = X
    for W, b in zip(clf.coefs_[:-1], clf.intercepts_[:-1]):
        A = np.tanh(A @ W + b)
    np.testing.assert_allclose(clf.predict_proba(X), softmax(A @ clf.coefs_[-1] + clf.intercepts_[-1], axis=1),
                               rtol=1e-12)
    clf.coefs_[0][0, 0] = 42.0
    assert clf.network_.params["W1"][0, 0] == 42.0


def test_sklearn_mlp_with_our_weights_predicts_the_same(binary):
    X, y = binary
    ours = MLPClassifier(hidden_layer_sizes=(6,), activation="logistic", solver="lbfgs", random_state=0).fit(X, y)
    theirs = neural_network.MLPClassifier(hidden_layer_sizes=(6,), activation="logistic", max_iter=1, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        theirs.fit(X, y)
    theirs.coefs_ = [c.copy() for c in ours.coefs_]
    theirs.intercepts_ = [b.copy() for b in ours.intercepts_]
    assert ours.out_activation_ == theirs.out_activation_ == "logistic"
    np.testing.assert_allclose(ours.predict_proba(X), theirs.predict_proba(X), rtol=1e-12)
    np.testing.assert_array_equal(ours.predict(X), theirs.predict(X))


def test_assigning_coefs_checks_shapes(binary):
    clf = MLPClassifier(hidden_layer_sizes=(4,), solver="lbfgs", random_state=0).fit(*binary)
    with pytest.raises(ShapeError, match=r"\[\(8, 4\), \(4, 1\)\]"):
        clf.coefs_ = [np.zeros((4, 8)), np.zeros((4, 1))]


# ------------------------------------------------------------ stopping
def first_stop(curve, tol, patience):
    """The epoch at which scikit-learn's rule stops: more than ``patience`` epochs without a ``tol`` improvement."""
    best, count = np.inf, 0
    for epoch, loss in enumerate(curve, start=1):
        count = count + 1 if loss > best - tol else 0
        best = min(best, loss)
        if count > patience:
            return epoch
    return None


def test_stops_after_n_iter_no_change_epochs_without_tol_improvement(binary):
    clf = MLPClassifier(hidden_layer_sizes=(8,), solver="sgd", tol=1e-2, n_iter_no_change=3, max_iter=500,
                        random_state=0).fit(*binary)
    assert first_stop(clf.loss_curve_, tol=1e-2, patience=3) == clf.n_iter_ == len(clf.loss_curve_) < 500
    assert clf.best_loss_ == min(clf.loss_curve_)
    assert clf.t_ == clf.n_iter_ * len(binary[0])


def test_warns_when_max_iter_is_reached(binary):
    with pytest.warns(ConvergenceWarning, match=r"Maximum iterations \(3\) reached"):
        clf = MLPClassifier(max_iter=3, random_state=0).fit(*binary)
    assert clf.n_iter_ == 3
    with pytest.warns(ConvergenceWarning, match="lbfgs failed to converge"):
        MLPClassifier(solver="lbfgs", max_iter=2, random_state=0).fit(*binary)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        MLPClassifier(hidden_layer_sizes=(4,), tol=1.0, random_state=0).fit(*binary)


def test_early_stopping_keeps_the_best_validation_parameters(regression):
    reg = MLPRegressor(hidden_layer_sizes=(16,), early_stopping=True, n_iter_no_change=3, learning_rate_init=0.01,
                       random_state=0).fit(*regression)
    assert len(reg.validation_scores_) == reg.n_iter_
    assert reg.best_validation_score_ == max(reg.validation_scores_)
    assert reg.best_loss_ is None


def test_verbose_prints_the_loss_of_every_epoch(binary, capsys):
    with pytest.warns(ConvergenceWarning):
        MLPClassifier(hidden_layer_sizes=(4,), max_iter=2, verbose=True, random_state=0).fit(*binary)
    out = capsys.readouterr().out
    assert "Iteration 1, loss = " in out and "Iteration 2, loss = " in out


# ------------------------------------------------------- scikit-learn tools
@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_pipeline_grid_search_and_cross_validation():
    X, y = load_iris(return_X_y=True)
    pipe = make_pipeline(StandardScaler(), MLPClassifier(hidden_layer_sizes=(8,), solver="lbfgs", random_state=0))
    scores = cross_val_score(pipe, X, y, cv=3)
    assert scores.shape == (3,) and scores.mean() > 0.85
    grid = {"mlpclassifier__alpha": [1e-4, 1.0], "mlpclassifier__hidden_layer_sizes": [(4,), (8,)]}
    search = GridSearchCV(pipe, grid, cv=3).fit(X, y)
    assert search.best_params_["mlpclassifier__alpha"] in (1e-4, 1.0)
    assert len(search.cv_results_["mean_test_score"]) == 4
    assert search.score(X, y) > 0.9


def test_clone_and_pickle(binary):
    clf = MLPClassifier(hidden_layer_sizes=(5,), activation=["gelu"], dropout=0.1, max_iter=20, random_state=3)
    twin = clone(clf)
    assert twin.get_params() == clf.get_params() and not hasattr(twin, "network_")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(*binary)
        np.testing.assert_array_equal(twin.fit(*binary).predict_proba(binary[0]), clf.predict_proba(binary[0]))
    restored = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(restored.predict_proba(binary[0]), clf.predict_proba(binary[0]))


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_random_state_accepts_ints_and_random_state_instances(binary):
    X, y = binary

    def proba(random_state):
        clf = MLPClassifier(hidden_layer_sizes=(4,), solver="lbfgs", alpha=1.0, random_state=random_state)
        return clf.fit(X, y).predict_proba(X[:5])

    np.testing.assert_array_equal(proba(7), proba(7))
    shared = np.random.RandomState(7)
    first, second = proba(shared), proba(shared)
    assert not np.array_equal(first, second)
    np.testing.assert_array_equal(first, proba(np.random.RandomState(7)))


def test_partial_fit_keeps_the_adam_state(multiclass):
    X, y = multiclass
    params = dict(hidden_layer_sizes=(8,), shuffle=False, n_iter_no_change=np.inf, random_state=0)
    stepwise = MLPClassifier(**params)
    for _ in range(4):
        stepwise.partial_fit(X, y, classes=[0, 1, 2])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        whole = MLPClassifier(max_iter=4, **params).fit(X, y)
    np.testing.assert_array_equal(stepwise.network_.theta, whole.network_.theta)
    assert stepwise.loss_curve_ == whole.loss_curve_
    assert stepwise.n_iter_ == 1 and stepwise.t_ == 4 * len(X)


def test_partial_fit_needs_classes_first_and_accepts_batches_with_some_classes(multiclass):
    X, y = multiclass
    clf = MLPClassifier(hidden_layer_sizes=(8,), random_state=0)
    with pytest.raises(ConfigError, match="classes="):
        clf.partial_fit(X, y)
    clf.partial_fit(X[y < 2], y[y < 2], classes=np.array([0, 1, 2]))
    clf.partial_fit(X[y == 2], y[y == 2])
    np.testing.assert_array_equal(clf.classes_, [0, 1, 2])
    assert clf.predict_proba(X).shape == (300, 3)
    with pytest.raises(DataError, match=r"labels \[7\]"):
        clf.partial_fit(X[:2], [0, 7])
    with pytest.raises(ConfigError, match="differs"):
        clf.partial_fit(X, y, classes=[0, 1, 2, 3])


def test_partial_fit_is_only_for_stochastic_solvers():
    assert hasattr(MLPClassifier(solver="sgd"), "partial_fit")
    assert not hasattr(MLPClassifier(solver="lbfgs"), "partial_fit")
    assert not hasattr(MLPRegressor(solver="lbfgs"), "partial_fit")
    with pytest.raises(ConfigError, match="early_stopping"):
        MLPRegressor(early_stopping=True).partial_fit(np.ones((4, 2)), np.arange(4.0))


def test_warm_start_continues_from_the_fitted_network(binary):
    clf = MLPClassifier(hidden_layer_sizes=(8,), max_iter=5, warm_start=True, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(*binary)
        network, first = clf.network_, list(clf.loss_curve_)
        clf.fit(*binary)
    assert clf.network_ is network
    assert clf.loss_curve_[:5] == first and len(clf.loss_curve_) == 10
    assert clf.loss_curve_[5] < first[0]


# ----------------------------------------------------- targets and outputs
@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_binary_predict_proba_has_two_columns_and_string_labels(binary):
    X, y = binary
    labels = np.array(["no", "yes"])[y]
    clf = MLPClassifier(hidden_layer_sizes=(6,), solver="lbfgs", alpha=1.0, random_state=0).fit(X, labels)
    proba = clf.predict_proba(X)
    assert clf.out_activation_ == "logistic" and clf.n_outputs_ == 1 and clf.network_.dense[-1].units == 1
    assert proba.shape == (300, 2)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    np.testing.assert_array_equal(clf.predict(X), clf.classes_[proba.argmax(axis=1)])
    np.testing.assert_allclose(clf.predict_log_proba(X), np.log(proba))
    assert clf.network_.classes == ["no", "yes"]


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_multiclass_uses_softmax(multiclass):
    X, y = multiclass
    clf = MLPClassifier(hidden_layer_sizes=(6,), solver="lbfgs", alpha=1.0, random_state=0).fit(X, y + 10)
    assert clf.out_activation_ == "softmax" and clf.n_outputs_ == 3 and clf.n_layers_ == 3
    np.testing.assert_array_equal(clf.classes_, [10, 11, 12])
    np.testing.assert_allclose(clf.predict_proba(X).sum(axis=1), 1.0)
    assert clf.score(X, y + 10) > 0.9


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_multilabel_targets_train_one_sigmoid_per_label():
    X, Y = make_multilabel_classification(n_samples=200, n_features=10, n_classes=4, random_state=0)
    clf = MLPClassifier(hidden_layer_sizes=(16,), solver="lbfgs", alpha=3.0, random_state=0).fit(X, Y)
    assert clf.out_activation_ == "logistic" and clf.n_outputs_ == 4
    np.testing.assert_array_equal(clf.classes_, np.arange(4))
    proba = clf.predict_proba(X)
    assert proba.shape == (200, 4)
    np.testing.assert_array_equal(clf.predict(X), (proba > 0.5).astype(int))
    A = np.maximum(X @ clf.coefs_[0] + clf.intercepts_[0], 0)
    np.testing.assert_allclose(proba, expit(A @ clf.coefs_[1] + clf.intercepts_[1]), rtol=1e-12)
    bce = -np.mean(np.sum(Y * np.log(proba) + (1 - Y) * np.log(1 - proba), axis=1))
    assert clf.loss_ == pytest.approx(bce + penalty(clf, len(X)), rel=1e-7)
    with pytest.raises(ConfigError, match="single-label"):
        MLPClassifier(class_weight="balanced").fit(X, Y)


def test_regressor_output_shapes_follow_y(regression):
    X, y = regression
    reg = MLPRegressor(hidden_layer_sizes=(8,), solver="lbfgs", random_state=0).fit(X, y)
    assert reg.predict(X).shape == (300,) and reg.n_outputs_ == 1 and reg.out_activation_ == "identity"
    Y2 = np.column_stack([y, -y])
    reg2 = MLPRegressor(hidden_layer_sizes=(8,), solver="lbfgs", random_state=0).fit(X, Y2)
    assert reg2.predict(X).shape == (300, 2) and reg2.n_outputs_ == 2
    with pytest.warns(DataConversionWarning):
        column = MLPRegressor(hidden_layer_sizes=(8,), solver="lbfgs", random_state=0).fit(X, y[:, None])
    np.testing.assert_array_equal(column.predict(X), reg.predict(X))


@pytest.mark.parametrize("loss, layerwise_loss", [("absolute_error", "mae"), ("huber", "huber")])
def test_regressor_trains_layerwise_losses(regression, loss, layerwise_loss):
    reg = MLPRegressor(hidden_layer_sizes=(16,), loss=loss, learning_rate_init=0.01, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        reg.fit(*regression)
    assert reg.network_.loss_fn.name == layerwise_loss
    assert reg.score(*regression) > 0.9


# ---------------------------------------------------- weights and dtypes
def test_integer_sample_weights_equal_repeated_rows_under_lbfgs(multiclass):
    X, y = multiclass
    weights = np.random.default_rng(0).integers(0, 4, size=len(y))
    params = dict(hidden_layer_sizes=(6,), solver="lbfgs", alpha=0.1, max_iter=50, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        weighted = MLPClassifier(**params).fit(X, y, sample_weight=weights)
        repeated = MLPClassifier(**params).fit(np.repeat(X, weights, axis=0), np.repeat(y, weights))
    np.testing.assert_allclose(weighted.predict_proba(X), repeated.predict_proba(X), rtol=1e-7, atol=1e-9)


def test_class_weight_equals_the_matching_sample_weight(binary):
    X, y = binary
    params = dict(hidden_layer_sizes=(6,), solver="lbfgs", alpha=0.1, max_iter=30, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        by_class = MLPClassifier(class_weight={1: 3.0}, **params).fit(X, y)
        by_sample = MLPClassifier(**params).fit(X, y, sample_weight=np.where(y == 1, 3.0, 1.0))
        balanced = MLPClassifier(class_weight="balanced", **params).fit(X[:200], y[:200])
        counts = np.bincount(y[:200])
        by_counts = MLPClassifier(**params).fit(X[:200], y[:200], sample_weight=(200 / (2 * counts))[y[:200]])
    np.testing.assert_allclose(by_class.predict_proba(X), by_sample.predict_proba(X), rtol=1e-10)
    np.testing.assert_allclose(balanced.predict_proba(X), by_counts.predict_proba(X), rtol=1e-10)
    with pytest.raises(ConfigError, match="class 5"):
        MLPClassifier(class_weight={5: 1.0}).fit(X, y)


def test_float32_input_stays_float32(binary, regression):
    X, y = binary
    clf = MLPClassifier(hidden_layer_sizes=(4,), solver="lbfgs", alpha=1.0, random_state=0).fit(X.astype(np.float32), y)
    assert clf.network_.dtype == np.float32 and clf.coefs_[0].dtype == np.float32
    assert clf.predict_proba(X.astype(np.float32)).dtype == np.float32
    reg = MLPRegressor(hidden_layer_sizes=(4,), solver="lbfgs", random_state=0)
    assert reg.fit(regression[0].astype(np.float32), regression[1]).predict(regression[0]).dtype == np.float32
    assert MLPRegressor(solver="lbfgs").fit(np.arange(20).reshape(10, 2), np.arange(10)).network_.dtype == np.float64
    forced = MLPClassifier(hidden_layer_sizes=(4,), solver="lbfgs", alpha=1.0, dtype="float32", random_state=0)
    forced.fit(X, y)
    assert forced.network_.dtype == np.float32


@pytest.mark.parametrize("solver", ["adam", "lbfgs"])
def test_sparse_csr_input_gives_the_dense_result(multiclass, solver):
    X, y = multiclass
    X = np.where(np.abs(X) > 1, X, 0.0)
    params = dict(hidden_layer_sizes=(8,), solver=solver, max_iter=20, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        dense = MLPClassifier(**params).fit(X, y)
        sparse = MLPClassifier(**params).fit(sp.csr_matrix(X), y)
    np.testing.assert_array_equal(sparse.predict_proba(sp.csr_matrix(X)), dense.predict_proba(X))


def test_feature_names_are_recorded():
    pd = pytest.importorskip("pandas")
    X, y = load_iris(return_X_y=True, as_frame=True)
    clf = MLPClassifier(hidden_layer_sizes=(4,), solver="lbfgs", random_state=0).fit(X, y)
    np.testing.assert_array_equal(clf.feature_names_in_, X.columns)
    assert isinstance(X, pd.DataFrame)


# ------------------------------------------------------------ parameters
def test_activation_names_and_per_layer_lists(binary):
    X, y = binary
    clf = MLPClassifier(hidden_layer_sizes=(4, 3), activation=["logistic", "silu"], solver="lbfgs", max_iter=5,
                        random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X, y)
    assert [layer.activation.name for layer in clf.network_.dense] == ["sigmoid", "silu", "sigmoid"]
    with pytest.raises(ConfigError, match="unknown activation 'swish'"):
        MLPClassifier(activation="swish").fit(X, y)
    with pytest.raises(ConfigError, match="list of 2 names"):
        MLPClassifier(hidden_layer_sizes=(4, 3), activation=["relu"]).fit(X, y)


def test_dropout_adds_dropout_layers_and_needs_a_stochastic_solver(binary):
    clf = MLPClassifier(hidden_layer_sizes=(16, 8), dropout=0.2, learning_rate_init=0.01, max_iter=50, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(*binary)
    assert [type(layer).__name__ for layer in clf.network_.layers] == ["Dense", "Dropout", "Dense", "Dropout", "Dense"]
    assert clf.score(*binary) > 0.8
    with pytest.raises(ConfigError, match="dropout needs a stochastic solver"):
        MLPClassifier(dropout=0.2, solver="lbfgs").fit(*binary)


@pytest.mark.parametrize(
    "params, message",
    [
        (dict(solver="newton"), "solver must be one of"),
        (dict(alpha=-1.0), "alpha must be a number in"),
        (dict(batch_size=0), "batch_size must be a positive integer or \"auto\""),
        (dict(max_iter=0), "max_iter must be a positive integer"),
        (dict(momentum=1.5), "momentum must be a number in"),
        (dict(dropout=1.0), "dropout must be a number in"),
        (dict(dtype="int32"), "dtype must be None"),
        (dict(hidden_layer_sizes=(4, 0)), "hidden_layer_sizes must hold positive integers"),
        (dict(learning_rate="cosine"), "learning_rate must be one of"),
        (dict(n_iter_no_change=0), "n_iter_no_change must be a positive integer or np.inf"),
        (dict(shuffle="yes"), "shuffle must be True or False"),
    ],
)
def test_bad_parameters_raise_config_errors_at_fit(binary, params, message):
    clf = MLPClassifier(**params)
    with pytest.raises(ConfigError, match=message):
        clf.fit(*binary)
    assert isinstance(ConfigError(), ValueError)


def test_bad_targets_raise_clear_errors(binary):
    X, y = binary
    with pytest.raises(ValueError, match="Unknown label type"):
        MLPClassifier().fit(X, np.linspace(0, 1, len(X)))
    with pytest.raises(DataError, match="multiclass-multioutput"):
        MLPClassifier().fit(X, np.column_stack([y, y + 2]))
    with pytest.raises(ShapeError, match="one weight per example"):
        MLPClassifier().fit(X, y, sample_weight=np.ones(3))
    with pytest.raises(DataError, match="zero for every example"):
        MLPClassifier().fit(X, y, sample_weight=np.zeros(len(y)))
    with pytest.raises(ConfigError, match="loss must be one of"):
        MLPRegressor(loss="gamma").fit(X, y)
    with pytest.raises(DataError, match="negative which is not allowed for Poisson"):
        MLPRegressor(loss="poisson").fit(X, y - 1.0)
