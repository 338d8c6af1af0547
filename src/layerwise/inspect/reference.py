"""The seed's algorithm in the seed's own layout: a test oracle.

Columns are examples here: ``A0 = X.T`` has shape ``(n_0, m)``, ``W[l]``
has shape ``(n_l, n_{l-1})`` and ``b[l]`` shape ``(n_l, 1)``. Hidden layers
use ReLU and the output is sigmoid, softmax or identity, paired with its
matching loss so that ``dZ_L = A_L - Y``. Nothing here is optimised; it is
the derivation written down, used to check the engine.
"""

from __future__ import annotations

import numpy as np


def relu(Z: np.ndarray, deriv: bool = False) -> np.ndarray:
    """``max(Z, 0)``, or with ``deriv`` its derivative ``1 if Z > 0 else 0``."""
    if deriv:
        return (Z > 0).astype(Z.dtype)
    return np.maximum(Z, 0)


def _output(Z: np.ndarray, activation: str) -> np.ndarray:
    if activation == "sigmoid":
        return 1 / (1 + np.exp(-Z))
    if activation == "softmax":
        E = np.exp(Z - Z.max(axis=0, keepdims=True))
        return E / E.sum(axis=0, keepdims=True)
    return Z


def forward_propagation(X: np.ndarray, parameters: dict, output: str = "softmax") -> dict:
    """``Z = W.A_prev + b``, ``A = g(Z)`` for each layer; returns the cache."""
    L = len(parameters) // 2
    cache = {"A0": X}
    for l in range(1, L + 1):
        cache["Z" + str(l)] = np.dot(parameters["W" + str(l)], cache["A" + str(l - 1)]) + parameters["b" + str(l)]
        g = relu if l < L else (lambda Z: _output(Z, output))
        cache["A" + str(l)] = g(cache["Z" + str(l)])
    return cache


def backpropagation(cache: dict, Y: np.ndarray, parameters: dict) -> dict:
    """The seed's backward pass, equation for equation."""
    L = len(parameters) // 2
    m = Y.shape[1]
    grads = {}
    grads["dZ" + str(L)] = cache["A" + str(L)] - Y
    grads["dW" + str(L)] = (1 / m) * np.dot(grads["dZ" + str(L)], cache["A" + str(L - 1)].T)
    grads["db" + str(L)] = (1 / m) * np.sum(grads["dZ" + str(L)], axis=1, keepdims=True)
    for l in range(L - 1, 0, -1):
        grads["dA" + str(l)] = np.dot(parameters["W" + str(l + 1)].T, grads["dZ" + str(l + 1)])
        grads["dZ" + str(l)] = np.multiply(grads["dA" + str(l)], relu(cache["Z" + str(l)], deriv=True))
        grads["dW" + str(l)] = (1 / m) * np.dot(grads["dZ" + str(l)], cache["A" + str(l - 1)].T)
        grads["db" + str(l)] = (1 / m) * np.sum(grads["dZ" + str(l)], axis=1, keepdims=True)
    return grads
