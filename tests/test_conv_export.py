"""Convolutional networks through ONNX (onnxruntime) and torch.nn.Sequential, both ways."""

import numpy as np
import pytest
import torch

import layerwise as lw


def trained_cnn(dtype="float32", padding="same"):
    layers = [lw.Conv2D(4, 3, padding=padding, activation="relu"), lw.BatchNorm(activation="tanh"),
              lw.MaxPool2D(2, stride=1), lw.Conv2D(6, 2, stride=2, padding=1, activation="elu"), lw.AvgPool2D(2),
              lw.Dropout(0.1), lw.Flatten(), lw.Dense(5, activation="relu"), lw.Dense(3, activation="softmax")]
    net = lw.Network(layers, input_shape=(2, 8, 8), seed=0, dtype=dtype)
    rng = np.random.default_rng(0)
    X = rng.standard_normal((40, 2, 8, 8))
    net.fit(X, rng.integers(0, 3, 40), epochs=2, batch_size=8, verbose=0)  # moves BatchNorm's running statistics
    return net, X.astype(dtype)


@pytest.mark.parametrize("padding", ["same", 0, (1, 2)])
def test_onnx_export_of_a_cnn_matches_onnxruntime(padding):
    ort = pytest.importorskip("onnxruntime")
    net, X = trained_cnn(padding=padding)
    model = lw.to_onnx(net)
    ops = {node.op_type for node in model.graph.node}
    assert {"Conv", "MaxPool", "AveragePool", "Flatten", "BatchNormalization", "Gemm"} <= ops
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    (Y,) = session.run(None, {"X": X})
    np.testing.assert_allclose(Y, net.predict_proba(X), rtol=1e-5, atol=1e-5)


def test_a_cnn_with_an_even_same_kernel_exports_with_asymmetric_pads():
    ort = pytest.importorskip("onnxruntime")
    net = lw.Network([lw.Conv2D(3, 4, padding="same"), lw.Flatten(), lw.Dense(2, activation="softmax")],
                     input_shape=(1, 6, 6), seed=1)
    conv = next(node for node in lw.to_onnx(net).graph.node if node.op_type == "Conv")
    assert [a.ints for a in conv.attribute if a.name == "pads"][0] == [1, 1, 2, 2]  # top, left, bottom, right
    X = np.random.default_rng(1).standard_normal((5, 1, 6, 6)).astype("float32")
    session = ort.InferenceSession(lw.to_onnx(net).SerializeToString(), providers=["CPUExecutionProvider"])
    np.testing.assert_allclose(session.run(None, {"X": X})[0], net.predict_proba(X), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_to_torch_computes_the_same_cnn(dtype):
    net, X = trained_cnn(dtype)
    model = lw.to_torch(net)
    assert [type(m).__name__ for m in model][:4] == ["Conv2d", "ReLU", "BatchNorm2d", "Tanh"]
    with torch.no_grad():
        out = model(torch.from_numpy(X)).numpy()
    tol = 1e-12 if dtype == "float64" else 1e-5
    np.testing.assert_allclose(out, net.predict_proba(X), rtol=tol, atol=tol)


def test_a_cnn_round_trips_through_torch_exactly():
    net, X = trained_cnn("float64")
    back = lw.from_torch(lw.to_torch(net), input_shape=(2, 8, 8), loss="cross_entropy")
    assert [type(layer).__name__ for layer in back.layers] == [type(layer).__name__ for layer in net.layers]
    for name, value in net.table.tensors.items():
        np.testing.assert_array_equal(back.table.tensors[name], value, err_msg=name)
    np.testing.assert_array_equal(back.predict_proba(X), net.predict_proba(X))


def test_from_torch_reads_a_hand_built_lenet():
    nn = torch.nn
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(6, 16, 5), nn.ReLU(),
                          nn.MaxPool2d(2), nn.Flatten(), nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84),
                          nn.ReLU(), nn.Linear(84, 10), nn.Softmax(dim=1)).eval()
    net = lw.from_torch(model, input_shape=(1, 28, 28))
    X = np.random.default_rng(0).random((3, 1, 28, 28)).astype("float32")
    with torch.no_grad():
        expected = model(torch.from_numpy(X)).numpy()
    np.testing.assert_allclose(net.predict_proba(X), expected, rtol=1e-5, atol=1e-6)
    with pytest.raises(lw.ConfigError, match="input_shape"):
        lw.from_torch(model)
    with pytest.raises(lw.ConfigError, match="groups=1"):
        lw.from_torch(nn.Sequential(nn.Conv2d(2, 2, 3, groups=2), nn.Flatten(), nn.Linear(2, 2)), input_shape=(2, 3, 3))
