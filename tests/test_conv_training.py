"""The training stack on convolutional networks: optimizers, L2, dropout, early stopping, checkpoints, files."""

import numpy as np
import pytest
from test_performance_invariants import MemoryDuringEpoch

import layerwise as lw
from layerwise.io.model_file import read as read_model


def cnn(seed=0, dtype="float32", **kw):
    layers = [lw.Conv2D(6, 3, padding=1), lw.BatchNorm(activation="relu"), lw.MaxPool2D(2), lw.Dropout(0.2),
              lw.Conv2D(8, 2, stride=2, activation="tanh"), lw.AvgPool2D(2, stride=1), lw.Flatten(),
              lw.Dense(3, activation="softmax")]
    return lw.Network(layers, input_shape=(2, 9, 9), seed=seed, dtype=dtype, **kw)


def images(m=96, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((m, 2, 9, 9))
    return X, (X[:, 0, :4].sum(axis=(1, 2)) > 0).astype(int) + (X[:, 1, 5:].sum(axis=(1, 2)) > 0)


@pytest.mark.parametrize("optimizer", ["sgd", "rmsprop", "adam", "adamw"])
def test_every_optimizer_lowers_the_loss_of_a_cnn(optimizer):
    X, y = images()
    net = cnn()
    history = net.fit(X, y, epochs=6, batch_size=16, optimizer=optimizer, lr=0.01, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]


def test_l2_acts_on_the_weights_of_every_layer_and_on_nothing_else():
    X, y = images(m=8)
    plain, decayed = cnn(dtype="float64"), cnn(dtype="float64", l2=0.5)
    AL, cache = plain.forward(X, training=True)
    grads = plain.backward(cache, y)
    AL2, cache2 = decayed.forward(X, training=True)
    grads2 = decayed.backward(cache2, y)
    for name, value in plain.params.items():
        extra = 0.5 / 8 * value if name.startswith("W") else 0  # dW += (lambda/m) W; b, gamma, beta untouched
        np.testing.assert_allclose(grads2["d" + name], grads["d" + name] + extra, rtol=1e-12, atol=1e-15)


def test_early_stopping_and_validation_work_on_images():
    X, y = images()
    net = cnn()
    history = net.fit(X, y, epochs=40, batch_size=16, lr=0.05, validation_split=0.25, early_stopping=True,
                      verbose=0)
    assert "val_loss" in history.history and len(history.history["loss"]) <= 40


def test_a_resumed_cnn_run_is_bit_identical_to_an_uninterrupted_one(tmp_path):
    X, y = images()
    whole = cnn()
    whole.fit(X, y, epochs=4, batch_size=16, verbose=0)
    first = cnn()
    first.fit(X, y, epochs=2, batch_size=16, verbose=0, checkpoint=tmp_path / "ck.safetensors")
    resumed = cnn()
    resumed.fit(X, y, epochs=4, batch_size=16, verbose=0, resume_from=tmp_path / "ck.safetensors")
    np.testing.assert_array_equal(resumed.theta, whole.theta)
    np.testing.assert_array_equal(resumed.state, whole.state)  # BatchNorm's running statistics


def test_a_saved_cnn_loads_and_predicts_the_same(tmp_path):
    X, y = images()
    net = cnn()
    net.fit(X, y, epochs=2, batch_size=16, verbose=0)
    net.save(tmp_path / "cnn.safetensors")
    loaded = lw.load(tmp_path / "cnn.safetensors")
    assert read_model(tmp_path / "cnn.safetensors").format_version == 2  # new layer types: a new format
    assert loaded.input_shape == (2, 9, 9)
    assert [type(layer).__name__ for layer in loaded.layers] == [type(layer).__name__ for layer in net.layers]
    np.testing.assert_array_equal(loaded.predict_proba(X), net.predict_proba(X))


def test_a_second_cnn_epoch_allocates_almost_nothing():
    X, y = images(m=1024)
    net = cnn()
    monitor = MemoryDuringEpoch(epoch=1)
    net.fit(X, y, epochs=2, batch_size=128, callbacks=[monitor], verbose=0)
    one_activation = 128 * 6 * 9 * 9 * 4  # the first convolution's output for one batch, float32
    assert monitor.peak < one_activation / 4, f"epoch 2 allocated up to {monitor.peak} bytes"
