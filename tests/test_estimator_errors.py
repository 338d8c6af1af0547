"""The estimators' failures in scikit-learn's words, naming the user's own labels."""

import re
import warnings

import numpy as np
import pytest
from sklearn.datasets import load_iris
from sklearn.exceptions import ConvergenceWarning

from layerwise.errors import DataError, NonFiniteParametersError, TrainingDivergedError
from layerwise.interop.estimators import MLPClassifier, MLPRegressor


def test_warm_start_with_other_classes_names_both_label_sets():
    X, y = load_iris(return_X_y=True)
    labels = np.array(["setosa", "versicolor", "virginica"])[y]
    clf = MLPClassifier(hidden_layer_sizes=2, solver="lbfgs", warm_start=True, random_state=0, tol=1e-2).fit(X, labels)
    message = ("warm_start can only be used where `y` has the same classes as in the previous call to fit. "
               "Previously got ['setosa' 'versicolor' 'virginica'], `y` has ['setosa' 'versicolor']")
    with pytest.raises(DataError, match=re.escape(message)):
        clf.fit(X[:100], labels[:100])


def test_a_class_of_one_member_cannot_be_stratified_and_is_named():
    X = np.arange(12.0).reshape(6, 2)
    y = np.array(["cat", "cat", "cat", "dog", "dog", "eel"])
    with pytest.raises(DataError, match=r"The least populated classes in y have only 1 member.*Classes with too few "
                                        r"members are: \['eel'\]"):
        MLPClassifier(early_stopping=True).fit(X, y)


def test_a_validation_set_of_one_example_is_too_small():
    X, y = np.arange(10.0).reshape(5, 2), np.arange(5.0)
    with pytest.raises(DataError, match="The validation set is too small: it holds 1 example"):
        MLPRegressor(early_stopping=True, random_state=0).fit(X, y)


def test_non_finite_parameters_are_a_value_error_in_sklearns_words():
    X = np.finfo(np.float64).max * np.random.default_rng(0).uniform(size=(10, 2))
    y = np.arange(10.0)
    with pytest.raises(ValueError, match="Solver produced non-finite parameter weights. The input data may contain "
                                         "large values and need to be preprocessed.") as info:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            MLPRegressor(max_iter=5).fit(X, y)
    assert isinstance(info.value, NonFiniteParametersError) and isinstance(info.value, TrainingDivergedError)


def test_diverging_sgd_with_early_stopping_warns_and_keeps_the_best_parameters():
    X, y = load_iris(return_X_y=True)
    reg = MLPRegressor(hidden_layer_sizes=100, activation="identity", solver="sgd", learning_rate_init=1, max_iter=20,
                       early_stopping=True, random_state=0)
    with pytest.warns(ConvergenceWarning, match=r"training diverged at epoch \d+.*best validation score"):
        reg.fit(X, y)
    assert np.isnan(reg.validation_scores_[-1]) and np.isnan(reg.loss_curve_[-1])
    assert len(reg.validation_scores_) == len(reg.loss_curve_) == reg.n_iter_
    assert np.isfinite(reg.predict(X)).all()
    finite = [score for score in reg.validation_scores_ if np.isfinite(score)]
    assert reg.best_validation_score_ == max(finite)


def test_one_class_fits_and_predicts_that_class():
    X = np.random.default_rng(0).standard_normal((10, 2))
    y = np.full(10, "only")
    clf = MLPClassifier(max_iter=5, early_stopping=True, validation_fraction=0.2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X, y)
    assert clf.classes_.tolist() == ["only"]
    assert clf.predict(X).tolist() == ["only"] * 10
    np.testing.assert_array_equal(clf.predict_proba(X), np.ones((10, 1)))
