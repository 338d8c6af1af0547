"""A short demonstration: the seed's network trained by plain gradient descent on digits."""

from __future__ import annotations

import time

import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from .layers import Dense
from .network import Network


def run(epochs: int = 40, batch_size: int = 32, learning_rate: float = 0.1, seed: int = 0) -> tuple[float, float]:
    """Train 64-64-10 (ReLU, softmax) with ``W -= lr * dW`` on digits; return train and test accuracy."""
    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(X / 16.0, y, test_size=0.25, stratify=y, random_state=seed)
    net = Network([Dense(64, "relu"), Dense(10, "softmax")], input_dim=64, seed=seed)
    start = time.perf_counter()
    for _ in range(epochs):
        order = net.rng.permutation(len(X_train))
        for begin in range(0, len(order), batch_size):
            rows = order[begin: begin + batch_size]
            _, cache = net.forward(X_train[rows])
            grads = net.backward(cache, y_train[rows])
            for name, param in net.params.items():
                param -= learning_rate * grads["d" + name]  # the seed's update: W = W - alpha dW
    train_accuracy = float(np.mean(net.predict(X_train) == y_train))
    test_accuracy = float(np.mean(net.predict(X_test) == y_test))
    print(f"64-64-10 ReLU/softmax, plain gradient descent, {epochs} epochs in {time.perf_counter() - start:.1f}s")
    print(f"train accuracy {train_accuracy:.4f}  test accuracy {test_accuracy:.4f}")
    return train_accuracy, test_accuracy
