import numpy as np
import pytest
from sklearn.datasets import load_digits

import layerwise as lw
from layerwise.callbacks import Callback
from layerwise.errors import ModelFileError


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return X[:300] / 16.0, y[:300]


def make_net():
    return lw.Network([lw.Dense(32, "relu"), lw.Dropout(0.2), lw.Dense(10, "softmax")], input_dim=64, seed=7)


class StopAfter(Callback):
    def __init__(self, epochs):
        self.epochs = epochs

    def on_epoch_end(self, net, epoch, logs):
        if epoch + 1 == self.epochs:
            net.stop_training = True


OPTIONS = dict(batch_size=32, validation_split=0.2, optimizer="adam", verbose=0)


def test_five_epochs_and_resume_five_equal_ten_uninterrupted(digits, tmp_path):
    X, y = digits
    straight = make_net()
    expected = straight.fit(X, y, epochs=10, **OPTIONS)
    path = tmp_path / "run.ckpt"
    make_net().fit(X, y, epochs=5, checkpoint=path, **OPTIONS)
    resumed = make_net()
    history = resumed.fit(X, y, epochs=10, resume_from=path, **OPTIONS)
    np.testing.assert_array_equal(resumed.theta, straight.theta)
    assert history.epoch == list(range(10))
    assert history["val_loss"] == expected["val_loss"]


def test_interrupted_run_with_a_schedule_resumes_bit_identically(digits, tmp_path):
    X, y = digits
    options = dict(OPTIONS, schedule="cosine", optimizer="sgd", lr=0.1)
    straight = make_net()
    straight.fit(X, y, epochs=8, **options)
    path = tmp_path / "run.ckpt"
    make_net().fit(X, y, epochs=8, checkpoint=path, callbacks=[StopAfter(3)], **options)
    resumed = lw.io.load(path)
    resumed.fit(X, y, epochs=8, resume_from=path, **options)
    np.testing.assert_array_equal(resumed.theta, straight.theta)


def test_a_checkpoint_loads_as_a_model(digits, tmp_path):
    X, y = digits
    net = make_net()
    net.fit(X, y, epochs=1, checkpoint=tmp_path / "c.ckpt", **OPTIONS)
    np.testing.assert_array_equal(lw.io.load(tmp_path / "c.ckpt").predict(X), net.predict(X))


def test_resuming_from_a_plain_model_or_another_network_fails_clearly(digits, tmp_path):
    X, y = digits
    net = make_net()
    net.fit(X, y, epochs=1, checkpoint=tmp_path / "c.ckpt", **OPTIONS)
    net.save(tmp_path / "plain.safetensors")
    with pytest.raises(ModelFileError, match="without training state"):
        make_net().fit(X, y, epochs=2, resume_from=tmp_path / "plain.safetensors", **OPTIONS)
    other = lw.Network([lw.Dense(16, "relu"), lw.Dense(10, "softmax")], input_dim=64, seed=7)
    with pytest.raises(ModelFileError, match="different network"):
        other.fit(X, y, epochs=2, resume_from=tmp_path / "c.ckpt", **OPTIONS)
