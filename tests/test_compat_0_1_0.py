"""Model files and checkpoints written by layerwise 0.1.0 (tests/fixtures/v0_1_0, see make.py there) keep
loading and predicting what 0.1.0 predicted."""

from pathlib import Path

import numpy as np
import pytest
import safetensors.numpy

import layerwise as lw

FIXTURES = Path(__file__).parent / "fixtures" / "v0_1_0"


@pytest.fixture(scope="module")
def expected():
    with np.load(FIXTURES / "expected.npz") as data:
        return dict(data)


def test_a_float32_classifier_with_dropout_and_a_parametrised_activation_predicts_as_in_0_1_0(expected):
    net = lw.load(FIXTURES / "classifier_float32.safetensors")
    assert net.dtype == np.float32 and net.classes == ["a", "b", "c"]
    assert net.get_config()["layers"][1]["activation_args"] == {"negative_slope": 0.2}
    np.testing.assert_allclose(net.predict_proba(expected["X"]), expected["classifier_float32_proba"], rtol=1e-6)
    np.testing.assert_array_equal(net.predict(expected["X"]), expected["classifier_float32_predict"])


def test_a_float64_regressor_predicts_as_in_0_1_0(expected):
    net = lw.load(FIXTURES / "regressor_float64.safetensors")
    assert net.dtype == np.float64 and net.l2 == 0.01
    np.testing.assert_allclose(net.predict(expected["X"]), expected["regressor_float64_predict"], rtol=1e-12)


def test_a_0_1_0_checkpoint_loads_as_a_model_and_resumes_as_0_1_0_continued(expected, tmp_path):
    X = expected["X"]
    labels = (X[:, 0] + X[:, 1] > 0).astype(int) + (X[:, 2] > 0.5)
    saved = lw.load(FIXTURES / "checkpoint_float64.safetensors")
    np.testing.assert_allclose(saved.predict_proba(X), expected["checkpoint_float64_proba"], rtol=1e-12)
    net = lw.Network([lw.Dense(6, activation="relu"), lw.Dropout(0.3), lw.Dense(3, activation="softmax")],
                     input_dim=4, seed=3, dtype="float64")
    net.fit(X, labels, epochs=4, batch_size=5, optimizer="adam", lr=0.01, verbose=0,
            resume_from=FIXTURES / "checkpoint_float64.safetensors")
    np.testing.assert_allclose(net.predict_proba(X), expected["resumed_float64_proba"], rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("name", ["classifier_float32", "regressor_float64"])
def test_saving_a_0_1_0_model_again_writes_the_same_tensors(name, tmp_path):
    original = safetensors.numpy.load_file(FIXTURES / f"{name}.safetensors")
    lw.load(FIXTURES / f"{name}.safetensors").save(tmp_path / "again.safetensors")
    again = safetensors.numpy.load_file(tmp_path / "again.safetensors")
    assert again.keys() == original.keys()
    for key, value in original.items():
        np.testing.assert_array_equal(again[key], value)
        assert again[key].dtype == value.dtype
