"""Which initialisation generalises: held-out scores of the Network API's schemes on small data sets.

Run from the repository root (a few minutes on one core)::

    python -m benchmarks.initializers            # prints the table and writes benchmarks/INITIALIZERS.md
    python -m benchmarks.initializers --quick    # one seed, fewer epochs: a smoke run, nothing written

Every run trains the same network, two hidden layers of 64 ReLU units, with
Adam (learning rate 1e-3), batches of 32, for 60 epochs, on a 75/25 split
(stratified for classification), inputs standardised on the training part
(and, for regression, the target too). The score is held-out accuracy or R^2,
averaged over three seeds; the seed draws the split, the initial parameters
and the shuffling. Only the initial parameters differ between the columns:

* ``he``          He normal weights, ``N(0, 2 / n_in)``, zero biases (the Dense default for ReLU);
* ``he_uniform``  He uniform weights, ``U(+-sqrt(6 / n_in))``, zero biases;
* ``glorot``      Glorot uniform weights, ``U(+-sqrt(6 / (n_in + n_out)))``, zero biases;
* ``torch``       PyTorch's ``nn.Linear`` default: weights and biases ``U(+-1 / sqrt(n_in))``;
* ``sklearn``     scikit-learn's MLP: weights and biases ``U(+-sqrt(6 / (n_in + n_out)))``;
* ``he+readout``, ``glorot+readout``: as ``he``, ``glorot``, with the output weights
  ``U(+-sqrt(3) / n_in)`` (layerwise's ``readout`` initialiser).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
from sklearn import datasets
from sklearn.metrics import accuracy_score, r2_score
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

import layerwise as lw

SCHEMES = ("he", "he_uniform", "glorot", "torch", "sklearn", "he+readout", "glorot+readout")


def _classification():
    return {
        "iris": datasets.load_iris(return_X_y=True),
        "wine": datasets.load_wine(return_X_y=True),
        "breast_cancer": datasets.load_breast_cancer(return_X_y=True),
        "digits": datasets.load_digits(return_X_y=True),
        "make_classification": datasets.make_classification(n_samples=600, n_features=20, n_informative=8,
                                                            n_classes=3, random_state=0),
        "make_moons": datasets.make_moons(n_samples=600, noise=0.25, random_state=0),
    }


def _regression():
    return {
        "diabetes": datasets.load_diabetes(return_X_y=True),
        "friedman1": datasets.make_friedman1(n_samples=600, noise=1.0, random_state=0),
        "friedman3": datasets.make_friedman3(n_samples=600, noise=0.1, random_state=0),
        "make_regression": datasets.make_regression(n_samples=600, n_features=20, n_informative=10, noise=10.0,
                                                    random_state=0),
    }


def _initialize(net: lw.Network, scheme: str) -> None:
    """Overwrite the parameters of a built network with ``scheme``, drawn from its generator."""
    rng = net.rng
    for l, layer in enumerate(net.dense, start=1):
        n_out, n_in = layer.W.shape
        hidden_scheme = scheme.split("+")[0]
        glorot_bound = np.sqrt(6.0 / (n_in + n_out))
        layer.b[...] = 0
        if scheme.endswith("+readout") and l == net.L:
            bound = np.sqrt(3.0) / n_in
            layer.W[...] = rng.uniform(-bound, bound, layer.W.shape)
        elif hidden_scheme == "he":
            layer.W[...] = rng.standard_normal(layer.W.shape) * np.sqrt(2.0 / n_in)
        elif hidden_scheme == "he_uniform":
            bound = np.sqrt(6.0 / n_in)
            layer.W[...] = rng.uniform(-bound, bound, layer.W.shape)
        elif hidden_scheme == "glorot":
            layer.W[...] = rng.uniform(-glorot_bound, glorot_bound, layer.W.shape)
        elif hidden_scheme == "torch":
            bound = 1.0 / np.sqrt(n_in)
            layer.W[...] = rng.uniform(-bound, bound, layer.W.shape)
            layer.b[...] = rng.uniform(-bound, bound, layer.b.shape)
        else:  # sklearn
            layer.W[...] = rng.uniform(-glorot_bound, glorot_bound, layer.W.shape)
            layer.b[...] = rng.uniform(-glorot_bound, glorot_bound, layer.b.shape)


def score(X, y, task: str, scheme: str, seed: int, epochs: int) -> float:
    stratify = y if task == "classification" else None
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, random_state=seed, stratify=stratify)
    scaler = StandardScaler().fit(X_train)
    X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)
    if task == "classification":
        classes, y_train = np.unique(y_train, return_inverse=True)
        output = lw.Dense(len(classes), activation="softmax")
    else:
        target = StandardScaler().fit(y_train.reshape(-1, 1))
        y_train = target.transform(y_train.reshape(-1, 1))
        output = lw.Dense(1, activation="identity")
    net = lw.Network([lw.Dense(64, activation="relu"), lw.Dense(64, activation="relu"), output],
                     input_dim=X.shape[1], seed=seed, dtype="float64")
    _initialize(net, scheme)
    net.fit(X_train, y_train, epochs=epochs, batch_size=32, optimizer="adam", lr=1e-3, verbose=0)
    if task == "classification":
        return accuracy_score(y_test, classes[net.predict(X_test)])
    return r2_score(y_test, target.inverse_transform(net.predict(X_test)).ravel())


def run(seeds, epochs: int) -> list[tuple[str, str, dict]]:
    rows = []
    for task, problems in (("classification", _classification()), ("regression", _regression())):
        for name, (X, y) in problems.items():
            scores = {scheme: float(np.mean([score(X, y, task, scheme, seed, epochs) for seed in seeds]))
                      for scheme in SCHEMES}
            rows.append((task, name, scores))
            print(f"{task:15s}{name:20s}" + "".join(f"{scores[s]:16.3f}" for s in SCHEMES), flush=True)
    return rows


def table(rows) -> str:
    lines = ["| task | data set | " + " | ".join(SCHEMES) + " |", "|---|---|" + "---:|" * len(SCHEMES)]
    for task, name, scores in rows:
        best = max(scores.values())
        cells = [f"**{scores[s]:.3f}**" if scores[s] == best else f"{scores[s]:.3f}" for s in SCHEMES]
        lines.append(f"| {task} | {name} | " + " | ".join(cells) + " |")
    for task in ("classification", "regression"):
        means = {s: np.mean([r[2][s] for r in rows if r[0] == task]) for s in SCHEMES}
        cells = [f"{means[s]:.3f}" for s in SCHEMES]
        lines.append(f"| {task} | mean | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one seed and 10 epochs; nothing written")
    args = parser.parse_args(argv)
    seeds, epochs = ((0,), 10) if args.quick else ((0, 1, 2), 60)
    print(f"{'task':15s}{'data set':20s}" + "".join(f"{s:>16s}" for s in SCHEMES))
    began = time.perf_counter()
    with threadpool_limits(1):
        rows = run(seeds, epochs)
    elapsed = time.perf_counter() - began
    text = table(rows)
    print(text)
    if not args.quick:
        out = Path(__file__).with_name("INITIALIZERS.md")
        out.write_text(f"# Initialisation schemes: held-out scores\n\nWritten by `python -m benchmarks.initializers` "
                       f"({elapsed:.0f} s on one core); the method is in that module's docstring. Mean over seeds "
                       f"{', '.join(map(str, seeds))}; accuracy for classification, R^2 for regression; the best "
                       f"of each row in bold.\n\n{text}\n")
        print(f"wrote {out}")


if __name__ == "__main__":
    main()
