"""Every user mistake reaches a LayerwiseError that says what was expected and what was received."""

import warnings

import numpy as np
import pytest
from conftest import small_net

import layerwise as lw
from layerwise.errors import ConfigError, DataError, LayerwiseError, ShapeError


@pytest.fixture
def net():
    return lw.Network([lw.Dense(8, "relu"), lw.Dense(3, "softmax")], input_dim=4, seed=0)


def test_wrong_feature_count(net):
    with pytest.raises(ShapeError, match="Dense layer 1 expects 4 input features, received 7"):
        net.forward(np.zeros((2, 7)))


def test_row_mismatch(net):
    _, cache = net.forward(np.zeros((5, 4)))
    with pytest.raises(ShapeError, match="same number of examples.*5 and 3"):
        net.backward(cache, [0, 1, 2])


def test_wrong_target_width():
    net = small_net([3], 2)
    _, cache = net.forward(np.zeros((2, 5)))
    with pytest.raises(ShapeError, match="Y has 3 column.*Dense layer 2.*2 unit"):
        net.backward(cache, np.zeros((2, 3)))


def test_labels_out_of_range(net):
    _, cache = net.forward(np.zeros((3, 4)))
    with pytest.raises(DataError, match=r"0\.\.2.*1 label\(s\) out of range, the first is 5 at row 1"):
        net.backward(cache, [0, 5, 1])


def test_non_integer_labels(net):
    _, cache = net.forward(np.zeros((2, 4)))
    with pytest.raises(DataError, match="integers"):
        net.backward(cache, [0.5, 1.0])


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_inputs_say_how_many_and_where(net, bad):
    X = np.zeros((3, 4))
    X[1, 2] = bad
    X[2, 0] = bad
    with pytest.raises(DataError, match=r"2 NaN or infinite value\(s\); the first is at index \(1, 2\)"):
        net.forward(X)


def test_non_finite_targets():
    net = small_net([3], 1)
    _, cache = net.forward(np.zeros((2, 5)))
    with pytest.raises(DataError, match="Y contains 1 NaN"):
        net.backward(cache, [1.0, np.nan])


def test_empty_input(net):
    with pytest.raises(DataError, match="empty"):
        net.forward(np.zeros((0, 4)))


def test_one_dimensional_input(net):
    with pytest.raises(ShapeError, match=r"2-D.*\(4,\)"):
        net.forward(np.zeros(4))


def test_non_numeric_input(net):
    with pytest.raises(DataError, match="numeric"):
        net.forward(np.array([["a", "b", "c", "d"]]))


def test_unknown_names_list_the_valid_ones():
    with pytest.raises(ConfigError, match="unknown activation 'rellu'; expected one of .*relu"):
        lw.Dense(3, activation="rellu")
    with pytest.raises(ConfigError, match="unknown loss 'crossentropy'; expected one of .*cross_entropy"):
        lw.Network([lw.Dense(3)], loss="crossentropy")


@pytest.mark.parametrize("units", [0, -3, 2.5, "8", True])
def test_non_positive_units(units):
    with pytest.raises(ConfigError, match="positive integer"):
        lw.Dense(units)


def test_bad_dtype_and_layer_list():
    with pytest.raises(ConfigError, match="float32, float64.*float16"):
        lw.Network([lw.Dense(3)], dtype="float16")
    with pytest.raises(ConfigError, match="at least one Dense"):
        lw.Network([])
    with pytest.raises(ConfigError, match=r"must be a layer \(Dense, Conv2D, .*, Dropout\)"):
        lw.Network([lw.Dense(3), "relu"])


def test_all_errors_are_layerwise_errors_and_value_errors():
    for error in (ConfigError, DataError, ShapeError, lw.ModelFileError):
        assert issubclass(error, LayerwiseError) and issubclass(error, ValueError)


def test_finite_values_whose_sum_overflows_are_accepted_without_warning(net):
    X = np.full((3, 4), np.finfo(np.float32).max / 2, dtype=np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert net.check_X(X) is X
