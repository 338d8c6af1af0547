"""Convolutional networks end to end: shapes, errors, PyTorch autograd over random CNNs, gradcheck, training."""

import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as tnf
from test_activations import TORCH

import layerwise as lw
from layerwise.ops.activations import ACTIVATIONS


def small_cnn(**kw):
    return lw.Network([lw.Conv2D(16, 3, padding="same", activation="relu"), lw.MaxPool2D(2), lw.Flatten(),
                       lw.Dense(10, activation="softmax")], input_shape=(1, 8, 8), seed=0, **kw)


def test_parameters_are_named_and_shaped_as_designed():
    net = small_cnn()
    assert {k: v.shape for k, v in net.params.items()} == {
        "W1": (16, 1, 3, 3), "b1": (16,), "W4": (10, 256), "b4": (10,)}
    assert net.n_params == 16 * 9 + 16 + 10 * 256 + 10


def test_rows_of_pixels_are_reshaped_to_images():
    net = small_cnn(dtype="float64")
    X = np.random.default_rng(0).random((5, 64))
    np.testing.assert_array_equal(net.predict_proba(X), net.predict_proba(X.reshape(5, 1, 8, 8)))


def test_wrong_image_shape_names_the_layer_and_both_shapes():
    net = small_cnn()
    with pytest.raises(lw.ShapeError, match=r"Conv2D layer 1 expects input of shape \(1, 8, 8\) per example, "
                                            r"received \(3, 8, 8\)"):
        net.predict(np.zeros((2, 3, 8, 8)))
    with pytest.raises(lw.ShapeError, match=r"rows of 64 values.*received rows of 60"):
        net.predict(np.zeros((2, 60)))


def test_a_kernel_or_window_that_does_not_fit_is_refused_when_built():
    with pytest.raises(lw.ConfigError, match=r"Conv2D layer 1: its 5x5 kernel does not fit its input of 3x3"):
        lw.Network([lw.Conv2D(2, 5), lw.Flatten(), lw.Dense(2)], input_shape=(1, 3, 3))
    with pytest.raises(lw.ConfigError, match=r"MaxPool2D layer 2: its 3x3 window does not fit its input of 2x2"):
        lw.Network([lw.Conv2D(2, 3), lw.MaxPool2D(3), lw.Flatten(), lw.Dense(2)], input_shape=(1, 4, 4))
    with pytest.raises(lw.ConfigError, match="needs image examples"):
        lw.Network([lw.Conv2D(2, 3), lw.Flatten(), lw.Dense(2)], input_dim=16)


def test_summary_lists_output_shapes_and_parameter_counts(capsys):
    small_cnn().summary()
    text = capsys.readouterr().out
    assert "(16, 8, 8)" in text and "(16, 4, 4)" in text and "(256,)" in text
    assert "160" in text and "2,570" in text
    assert f"{16 * 9 + 16 + 10 * 256 + 10:,}" in text


# ------------------------------------------------------- PyTorch autograd over random CNNs
HIDDEN = sorted(set(ACTIVATIONS) - {"softmax"})


def random_cnn(case, dtype):
    rng = np.random.default_rng(case)
    C, H = int(rng.integers(1, 5)), int(rng.integers(6, 11))
    layers, shape = [], (C, H, H)
    for block in range(int(rng.integers(1, 3))):
        k, stride = int(rng.integers(1, 6)), int(rng.integers(1, 4))
        padding = ["valid", 1, "same"][(case + block) % 3]
        if padding == "same":
            stride = 1
        pad = 0 if padding == "valid" else (k - 1) if padding == "same" else 2
        if shape[1] + pad < k:
            k = 1
        filters = int(rng.integers(1, 9))
        layers.append(lw.Conv2D(filters, k, stride=stride, padding=padding,
                                activation=HIDDEN[int(rng.integers(len(HIDDEN)))]))
        side = (shape[1] + pad - k) // stride + 1
        shape = (filters, side, side)
        if (case + block) % 4 == 1:
            layers.append(lw.BatchNorm(activation=HIDDEN[int(rng.integers(len(HIDDEN)))]))
        if side >= 2:
            pool = int(rng.integers(1, min(side, 3) + 1))
            pool_stride = int(rng.integers(1, pool + 1))
            layers.append((lw.MaxPool2D if (case + block) % 2 else lw.AvgPool2D)(pool, stride=pool_stride))
            side = (side - pool) // pool_stride + 1
            shape = (filters, side, side)
        if case % 5 == 2:
            layers.append(lw.Dropout(0.3))
    layers += [lw.Flatten(), lw.Dense(int(rng.integers(2, 6)), activation="softmax")]
    net = lw.Network(layers, input_shape=(C, H, H), seed=case, dtype=dtype)
    m = int(rng.integers(2, 17))
    X = rng.standard_normal((m, C, H, H))
    y = rng.integers(0, net.n_outputs, size=m)
    return net, X, y


def torch_loss_and_grads(net, X, y, cache):
    """The same network in torch autograd, reading Dropout's masks from the cache."""
    params = {k: torch.tensor(v.astype(np.float64), requires_grad=True) for k, v in net.params.items()}
    a = torch.tensor(cache["A0"].astype(np.float64))
    for layer in net.layers:
        kind, l = type(layer).__name__, layer.l
        if kind == "Conv2D":
            top, bottom, left, right = layer.pads
            a = tnf.pad(a, (left, right, top, bottom))
            a = TORCH[layer.activation.name](tnf.conv2d(a, params[f"W{l}"], params[f"b{l}"], stride=layer.stride))
        elif kind == "MaxPool2D":
            a = tnf.max_pool2d(a, layer.pool_size, layer.stride)
        elif kind == "AvgPool2D":
            a = tnf.avg_pool2d(a, layer.pool_size, layer.stride)
        elif kind == "BatchNorm":
            a = tnf.batch_norm(a, None, None, params[f"gamma{l}"], params[f"beta{l}"], training=True, eps=layer.eps)
            a = TORCH[layer.activation.name](a)
        elif kind == "Dropout":
            a = a * torch.tensor(cache[layer.D_key].astype(np.float64))
        elif kind == "Flatten":
            a = torch.flatten(a, 1)
        else:
            z = a @ params[f"W{l}"].T + params[f"b{l}"]
            a = z if layer is net.layers[-1] else TORCH[layer.activation.name](z)
    J = tnf.cross_entropy(a, torch.tensor(y))
    J.backward()
    return J.item(), {k: v.grad.numpy() for k, v in params.items()}


@pytest.mark.parametrize("case", range(16))
@pytest.mark.parametrize("dtype,rtol", [("float64", 1e-10), ("float32", 1e-4)])
def test_random_cnns_match_torch_autograd(case, dtype, rtol):
    net, X, y = random_cnn(case, dtype)
    AL, cache = net.forward(X, training=True)
    grads = net.backward(cache, y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        J, expected = torch_loss_and_grads(net, X, y, cache)
    assert net.loss(AL, y) == pytest.approx(J, rel=rtol)
    scale = max(np.abs(grad).max() for grad in expected.values())  # a bias before BatchNorm has gradient 0
    for name, grad in expected.items():
        np.testing.assert_allclose(grads["d" + name], grad, rtol=rtol, atol=rtol * scale, err_msg=name)


@pytest.mark.parametrize("case", [0, 1, 3])
def test_random_cnns_pass_gradcheck(case):
    net, X, y = random_cnn(case, "float64")
    report = lw.gradcheck(net, X, y, training=True)
    assert report.ok, report


# ------------------------------------------------------------------------------ training
def test_a_small_cnn_learns_digits_to_98_percent():
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    X, y = load_digits(return_X_y=True)  # rows of 64 pixels, reshaped to 1x8x8 by the network
    X_train, X_test, y_train, y_test = train_test_split(X / 16.0, y, test_size=0.25, random_state=0)
    net = lw.Network([lw.Conv2D(32, 3, padding="same", activation="relu"), lw.MaxPool2D(2), lw.Flatten(),
                      lw.Dense(10, activation="softmax")], input_shape=(1, 8, 8), seed=0)
    net.fit(X_train, y_train, epochs=20, batch_size=32, optimizer="adam", lr=3e-3, verbose=0)
    assert (net.predict(X_test) == y_test).mean() >= 0.98
