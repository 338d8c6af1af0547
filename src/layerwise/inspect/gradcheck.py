"""Numerical gradient checking: the seed's "nudge", done carefully.

Each checked parameter entry ``theta_i`` is nudged by ``±h`` and ``±2h`` and
the fourth-order central difference::

    (8 [J(theta + h e_i) - J(theta - h e_i)] - [J(theta + 2h e_i) - J(theta - 2h e_i)]) / (12 h)

is compared with the analytic ``dJ/dtheta_i`` from backpropagation. Its
truncation error is ``O(h^4)`` instead of the two-point formula's
``O(h^2)``, so a larger ``h`` can be used and the round-off error, which
grows as ``1/h``, stays near 1e-13: small gradient entries are then checked
as tightly as large ones.

Two things keep the verdict trustworthy on unscaled inputs (raw pixel values,
for instance). The nudge of ``W[l][j, k]`` is ``epsilon / max(1, max |A[l-1][:, k]|)``,
so that no nudge moves a pre-activation by more than ``epsilon``. And an
entry's error is measured against what the differences can resolve: their
round-off is about ``eps_float64 * |J| / h``, and the denominator of the
relative error is never below a million times that round-off: with the
default tolerance 1e-6, an entry passes when ``|a - n| < max(1e-6 (|a| + |n|), round-off)``.
A gradient entry too small for the differences to see (a saturated softmax
under a large loss) is then not counted as a failure. Everything
runs in float64 on a copy of the network, so the check never disturbs the
network it is given. A nudge that moves a pre-activation across a kink (ReLU
at zero, for example) makes the central difference meaningless; such entries
are detected by comparing the activation patterns of both nudges and are
reported apart instead of being counted as errors; so are nudges that move the
maximum of a max-pooling window to another input.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

KINKED = frozenset({"relu", "leaky_relu", "selu", "elu"})
"""Activations with a kink at 0, or (ELU) a jump of the second derivative there: a nudge must not cross 0."""
ROUNDING = 16 * np.finfo(np.float64).eps * 18 / 12
"""Round-off of the difference formula per unit of ``|J| / h``: its coefficients sum to 18/12 in absolute
value, and each float64 cost is taken to be accurate to 16 units in the last place (a mean over the batch)."""


@dataclass
class GradcheckReport:
    """Result of :func:`gradcheck`.

    Attributes
    ----------
    ok : bool
        True when every checked entry's relative error is below ``tolerance``.
    max_rel_error : float
        Largest relative error ``|a - n| / max(|a| + |n|, 1e6 * round-off, tiny)`` over all entries.
    errors : dict
        Largest relative error per parameter (``W1``, ``b1``, ...).
    checked : dict
        Number of entries checked per parameter.
    kinks : dict
        Number of entries per parameter skipped because a nudge crossed a kink.
    tolerance : float
    """

    ok: bool
    max_rel_error: float
    errors: dict = field(default_factory=dict)
    checked: dict = field(default_factory=dict)
    kinks: dict = field(default_factory=dict)
    tolerance: float = 1e-6

    def __str__(self) -> str:
        lines = [f"{'parameter':<10} {'checked':>8} {'on kink':>8} {'max rel error':>14}"]
        for name, error in self.errors.items():
            lines.append(f"{name:<10} {self.checked[name]:>8} {self.kinks[name]:>8} {error:>14.3e}")
        verdict = "OK" if self.ok else "FAILED"
        lines.append(f"{verdict}: max relative error {self.max_rel_error:.3e} (tolerance {self.tolerance:.0e})")
        skipped = sum(self.kinks.values())
        if skipped:
            lines.append(
                f"{skipped} entr{'y' if skipped == 1 else 'ies'} skipped: a nudge of the parameter moved a "
                "pre-activation across a kink (e.g. ReLU at 0), where the function has no derivative"
            )
        return "\n".join(lines)


def gradcheck(net, X, Y, sample_weight=None, *, epsilon: float = 1e-3, tolerance: float = 1e-6,
              tiny: float = 1e-12, max_entries: int = 64, seed: int = 0, training: bool = False
              ) -> GradcheckReport:
    """Compare backpropagation's gradients with central differences.

    Parameters
    ----------
    net : Network
        The network to check; it is copied to float64 and left untouched.
    X, Y : array-like
        Inputs and targets, as for :meth:`Network.backward`.
    sample_weight : array-like, optional
        Per-example weights of the loss.
    epsilon : float, default 1e-3
        The nudge ``h`` of the fourth-order central difference (divided, for
        ``W[l][j, k]``, by ``max(1, max |A[l-1][:, k]|)``).
    tolerance : float, default 1e-6
        Largest relative error accepted.
    tiny : float, default 1e-12
        Floor of the denominator of the relative error.
    max_entries : int, default 64
        Entries checked per parameter; larger parameters are sampled.
    seed : int, default 0
        Seed of the sampling of entries.
    training : bool, default False
        Check the training-mode pass; dropout masks are drawn once and reused
        for every nudge.

    Returns
    -------
    GradcheckReport
    """
    twin = net.astype("float64")
    X = twin.check_X(X)
    Y = twin.check_Y(Y, X.shape[0])
    w = twin.check_sample_weight(sample_weight, X.shape[0])
    rng_state = twin.rng.bit_generator.state

    def run():
        twin.rng.bit_generator.state = rng_state
        return twin._forward(X, training)

    def cost_and_pattern():
        cache = run()
        pattern = [cache[layer.Z_key] > 0 for layer in twin.layers
                   if layer.activation is not None and layer.activation.name in KINKED]
        pattern += [cache[layer.argmax_key] for layer in twin.layers if hasattr(layer, "argmax_key")]  # max pooling
        AL = cache[twin.output.output_key]
        pieces = twin.loss_fn.pieces(AL, Y)
        if pieces is not None:
            pattern.append(pieces)
        return twin._loss(AL, Y, w), pattern

    cache = run()
    grads = twin.backward(cache, Y, w)
    steps = _steps(twin, cache, epsilon)
    sampler = np.random.default_rng(seed)
    report = GradcheckReport(ok=True, max_rel_error=0.0, tolerance=tolerance)
    for name, param in twin.params.items():
        flat, analytic, h = param.reshape(-1), grads["d" + name].reshape(-1), steps[name].reshape(-1)
        count = min(max_entries, flat.size)
        entries = sampler.choice(flat.size, size=count, replace=False) if count < flat.size else range(count)
        worst, skipped = 0.0, 0
        for i in entries:
            original = flat[i]
            costs, patterns = [], []
            for step in (2, 1, -1, -2):
                flat[i] = original + step * h[i]
                cost, pattern = cost_and_pattern()
                costs.append(cost)
                patterns.append(pattern)
            flat[i] = original
            if any(not np.array_equal(p, q) for other in patterns[1:] for p, q in zip(patterns[0], other)):
                skipped += 1
                continue
            J_2h, J_h, J_minus_h, J_minus_2h = costs
            numeric = (8 * (J_h - J_minus_h) - (J_2h - J_minus_2h)) / (12 * h[i])
            resolution = ROUNDING * max(map(abs, costs)) / h[i]
            error = abs(analytic[i] - numeric) / max(abs(analytic[i]) + abs(numeric), 1e6 * resolution, tiny)
            worst = max(worst, float(error))
        report.errors[name], report.checked[name], report.kinks[name] = worst, count - skipped, skipped
    report.max_rel_error = max(report.errors.values())
    report.ok = report.max_rel_error < tolerance
    return report


def _steps(net, cache: dict, epsilon: float) -> dict:
    """The nudge of every entry: ``epsilon`` for a bias, ``epsilon / max(1, max |A_prev[:, k]|)`` for ``W[j, k]``.

    Nudging ``W[j, k]`` by ``h`` moves ``Z[:, j]`` by ``h * A_prev[:, k]``: with raw inputs such as pixel values
    0..255, a fixed ``h`` would move the pre-activations (and a saturated softmax) far beyond the range where the
    difference formula's truncation error is small. The scaled step moves every pre-activation by at most ``epsilon``.
    """
    steps = {}
    for layer in net.layers:
        for spec in layer.params():
            name = f"{spec.kind}{layer.l}"
            A_prev = cache[layer.input_key]
            if spec.kind == "W" and A_prev.ndim == 2:  # the weights of a Dense layer: scaled by their inputs
                reach = np.abs(A_prev).max(axis=0) if A_prev.shape[0] else 1.0
                steps[name] = np.broadcast_to(epsilon / np.maximum(1.0, reach), spec.shape)
            else:
                steps[name] = np.full(spec.shape, epsilon)
    return steps
