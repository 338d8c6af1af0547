"""im2col / col2im, the convolution's equations and pooling, against torch.nn.functional and by hand."""

import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as tnf

import layerwise as lw
from layerwise.ops import conv_kernels, image_kernels, pooling
from layerwise.ops import convolution as cv


def convolve(X, W, b, stride, pads, dZ):
    """Forward and backward through the ops, each buffer allocated once as a layer would."""
    m, C, H, Wd = X.shape
    n_filters, _, kh, kw = W.shape
    top, bottom, left, right = pads
    OH, OW = cv.output_size(H, kh, stride, top, bottom), cv.output_size(Wd, kw, stride, left, right)
    X_pad = np.zeros((m, C, H + top + bottom, Wd + left + right), X.dtype)
    cols = np.empty((C * kh * kw, m * OH * OW), X.dtype)
    cv.im2col(cv.pad_into(X, pads, X_pad), kh, kw, stride, out=cols)
    Z = cv.conv_forward(cols, W.reshape(n_filters, -1), b, out=np.empty((n_filters, m * OH * OW), X.dtype))
    dW, db = np.empty((n_filters, C * kh * kw), X.dtype), np.empty(n_filters, X.dtype)
    dZ_matrix = np.ascontiguousarray(dZ.reshape(m, n_filters, -1).transpose(1, 0, 2)).reshape(n_filters, -1)
    dcols = cv.conv_backward(dZ_matrix, cols, W.reshape(n_filters, -1), m, dW, db, np.ones(m * OH * OW, X.dtype),
                             np.empty_like(cols))
    dX_pad = cv.col2im(dcols, kh, kw, stride, out=np.full_like(X_pad, np.nan))  # col2im must zero it first
    dX = dX_pad[:, :, top:top + H, left:left + Wd]
    return Z.reshape(n_filters, m, OH, OW).transpose(1, 0, 2, 3), dW.reshape(W.shape), db, dX


FORMS = [False] + ([True] if image_kernels.ENABLED else [])
"""The whole-array forms, and the compiled loops where numba is installed."""


@pytest.fixture(params=FORMS, ids=lambda compiled: "compiled" if compiled else "numpy")
def im2col_form(request, monkeypatch):
    """im2col and col2im through the compiled loops or the whole-array forms."""
    monkeypatch.setattr(conv_kernels, "ENABLED", request.param)
    return request.param


def test_tiny_convolution_worked_by_hand(im2col_form):
    X = np.arange(1.0, 10.0).reshape(1, 1, 3, 3)  # [[1 2 3] [4 5 6] [7 8 9]]
    W = np.array([[1.0, 2.0], [3.0, 4.0]]).reshape(1, 1, 2, 2)
    Z, dW, db, dX = convolve(X, W, np.array([0.5]), 1, (0, 0, 0, 0), np.ones((1, 1, 2, 2)))
    # Z[y, x] = sum_uv W[u, v] X[y + u, x + v] + b: 1*1 + 2*2 + 3*4 + 4*5 + 0.5 = 37.5, ...
    np.testing.assert_array_equal(Z[0, 0], [[37.5, 47.5], [67.5, 77.5]])
    # dW[u, v] = (1/m) sum_yx dZ[y, x] X[y + u, x + v]: the sum of the window at offset (u, v)
    np.testing.assert_array_equal(dW[0, 0], [[12, 16], [24, 28]])
    np.testing.assert_array_equal(db, [4])
    # dX[h, w] = sum of the W entries that touched X[h, w]
    np.testing.assert_array_equal(dX[0, 0], [[1, 3, 2], [4, 10, 6], [3, 7, 4]])


def test_same_padding_keeps_the_size_and_pads_even_kernels_after():
    assert cv.same_padding(3) == (1, 1)
    assert cv.same_padding(4) == (1, 2)
    assert cv.output_size(7, 4, 1, *cv.same_padding(4)) == 7


SWEEP = range(24)


@pytest.mark.parametrize("case", SWEEP)
@pytest.mark.parametrize("dtype,rtol", [("float64", 1e-10), ("float32", 1e-4)])
def test_convolution_matches_torch_conv2d(case, dtype, rtol, im2col_form):
    rng = np.random.default_rng(case)
    k, stride = int(rng.integers(1, 6)), int(rng.integers(1, 4))
    padding = ["zero", "one", "same"][case % 3]
    if padding == "same":
        stride, torch_padding = 1, "same"
        pads = cv.same_padding(k) + cv.same_padding(k)
    else:
        p = 0 if padding == "zero" else 1
        pads, torch_padding = (p, p, p, p), p
    m, C, n_filters = int(rng.integers(1, 17)), int(rng.integers(1, 9)), int(rng.integers(1, 9))
    H, Wd = int(rng.integers(k, k + 9)), int(rng.integers(k, k + 9))
    X = rng.standard_normal((m, C, H, Wd)).astype(dtype)
    W = rng.standard_normal((n_filters, C, k, k)).astype(dtype)
    b = rng.standard_normal(n_filters).astype(dtype)
    x, w, bt = (torch.tensor(a.astype(np.float64), requires_grad=True) for a in (X, W, b))
    with warnings.catch_warnings():  # torch warns that it pads even kernels for "same" by copying
        warnings.simplefilter("ignore", UserWarning)
        z = tnf.conv2d(x, w, bt, stride=stride, padding=torch_padding)
    G = rng.standard_normal(tuple(z.shape))
    (z * torch.tensor(G)).sum().backward()  # dJ/dZ = G / m per example: J = (1/m) sum_i ...
    Z, dW, db, dX = convolve(X, W, b, stride, pads, G.astype(dtype))
    for name, ours, ref in [("Z", Z, z.detach().numpy()), ("dW", dW * m, w.grad.numpy()),
                            ("db", db * m, bt.grad.numpy()), ("dA_prev", dX, x.grad.numpy())]:
        np.testing.assert_allclose(ours, ref, rtol=rtol, atol=rtol * np.abs(ref).max(), err_msg=name)


def pool_both_ways(kind, X, size, stride, dA, compiled):
    m, C, H, W = X.shape
    OH, OW = (H - size) // stride + 1, (W - size) // stride + 1
    A = np.empty((m, C, OH, OW), X.dtype)
    dX = np.empty_like(X)
    if kind == "max":
        argmax = np.empty(A.shape, X.dtype)  # offsets kept in the network's dtype, as the layer does
        if compiled:
            image_kernels.max_pool_forward(X, size, size, stride, A, argmax)
            image_kernels.max_pool_backward(dA, argmax, size, stride, dX)
        else:
            pooling.max_pool_forward(X, (size, size), stride, A, argmax)
            pooling.max_pool_backward(dA, argmax, (size, size), stride, dX)
    elif compiled:
        image_kernels.avg_pool_forward(X, size, size, stride, A)
        image_kernels.avg_pool_backward(dA, size, size, stride, dX)
    else:
        pooling.avg_pool_forward(X, (size, size), stride, A)
        pooling.avg_pool_backward(dA, (size, size), stride, dX)
    return A, dX


@pytest.mark.parametrize("compiled", FORMS)
def test_max_pool_by_hand_ties_go_to_the_first_maximum_and_overlaps_add(compiled):
    X = np.array([[1.0, 3, 3], [2, 3, 0], [0, 1, 1]]).reshape(1, 1, 3, 3)
    A, dX = pool_both_ways("max", X, 2, 1, np.array([[1.0, 2], [3, 4]]).reshape(1, 1, 2, 2), compiled)
    np.testing.assert_array_equal(A[0, 0], [[3, 3], [3, 3]])
    # windows (0,0) and (0,1) both pick X[0,1]; windows (1,0) and (1,1) both pick X[1,1]
    np.testing.assert_array_equal(dX[0, 0], [[0, 3, 0], [0, 7, 0], [0, 0, 0]])


@pytest.mark.parametrize("compiled", FORMS)
@pytest.mark.parametrize("kind", ["max", "avg"])
@pytest.mark.parametrize("case", range(8))
@pytest.mark.parametrize("dtype,rtol", [("float64", 1e-10), ("float32", 1e-4)])
def test_pooling_matches_torch(case, kind, dtype, rtol, compiled):
    rng = np.random.default_rng(100 + case)
    size, stride = int(rng.integers(1, 5)), int(rng.integers(1, 4))
    m, C = int(rng.integers(1, 17)), int(rng.integers(1, 9))
    H, W = int(rng.integers(size, size + 8)), int(rng.integers(size, size + 8))
    X = rng.standard_normal((m, C, H, W))
    if case % 2:
        X = np.round(X)  # many ties
    X = X.astype(dtype)
    x = torch.tensor(X.astype(np.float64), requires_grad=True)
    pool = tnf.max_pool2d if kind == "max" else tnf.avg_pool2d
    a = pool(x, size, stride)
    G = rng.standard_normal(tuple(a.shape))
    (a * torch.tensor(G)).sum().backward()
    A, dX = pool_both_ways(kind, X, size, stride, G.astype(dtype), compiled)
    np.testing.assert_allclose(A, a.detach().numpy(), rtol=rtol, atol=rtol)
    np.testing.assert_allclose(dX, x.grad.numpy(), rtol=rtol, atol=rtol * np.abs(x.grad.numpy()).max())


@pytest.mark.skipif(not image_kernels.ENABLED, reason="the 2x2 loops are compiled only")
@pytest.mark.parametrize("shape", [(3, 2, 6, 8), (2, 3, 5, 7), (1, 1, 2, 3)])
def test_max_pool_2x2_loops_match_torch_and_the_general_loop(shape):
    rng = np.random.default_rng(sum(shape))
    X = np.round(rng.standard_normal(shape)).astype(np.float32)  # rounded: many ties
    x = torch.tensor(X, requires_grad=True)
    a = tnf.max_pool2d(x, 2, 2)
    G = rng.standard_normal(tuple(a.shape)).astype(np.float32)
    (a * torch.tensor(G)).sum().backward()
    A, argmax = np.empty(a.shape, np.float32), np.empty(a.shape, np.float32)
    dX = np.full_like(X, np.nan)  # the odd last row or column must be written too
    image_kernels.max_pool_2x2_forward(X, A, argmax)
    image_kernels.max_pool_2x2_backward(G, argmax, dX)
    np.testing.assert_array_equal(A, a.detach().numpy())
    np.testing.assert_array_equal(dX, x.grad.numpy())
    A_general, dX_general = pool_both_ways("max", X, 2, 2, G, compiled=True)
    np.testing.assert_array_equal(A, A_general)
    np.testing.assert_array_equal(dX, dX_general)


@pytest.mark.skipif(not conv_kernels.ENABLED, reason="the ReLU loops are compiled only")
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_compiled_relu_convolution_equals_the_numpy_form_bit_for_bit(dtype, monkeypatch):
    rng = np.random.default_rng(7)
    net = lw.Network([lw.Conv2D(5, 3, padding=1), lw.Conv2D(4, 2, stride=2), lw.Flatten(),
                      lw.Dense(3, activation="softmax")], input_shape=(2, 7, 7), seed=1, dtype=dtype)
    X = rng.standard_normal((6, 2, 7, 7)).astype(dtype)
    dA = rng.standard_normal((6, 4, 3, 3)).astype(dtype)
    results = []
    for compiled in (True, False):
        monkeypatch.setattr(conv_kernels, "ENABLED", compiled)
        cache, grads = {"A0": X}, {}
        first, second = net.layers[0], net.layers[1]
        A1 = first.forward(X, cache, {}, True)
        A2 = second.forward(A1, cache, {}, True)
        dA1 = second.backward(dA, cache, grads, {})
        results.append([A1, A2, cache["Z2"], grads["dZ2"], second.dW.copy(), second.db.copy(), dA1])
    for name, fused, plain in zip(["A1", "A2", "Z2", "dZ2", "dW2", "db2", "dA1"], *results):
        np.testing.assert_array_equal(fused, plain, err_msg=name)
