"""Detectors: rules that turn gradient-diagnostics records into warnings.

A :class:`layerwise.inspect.diagnostics.GradientMonitor` measures every layer on
sampled batches; the :class:`Detectors` here read those measurements and
report what is going wrong, once per kind of problem and layer, with a
remedy. The rules and their default :class:`Thresholds`:

=============  ==============================================  ========================  =========
kind           condition on a sampled batch                    default threshold         checks
=============  ==============================================  ========================  =========
``nan``        a weight, pre-activation, activation or         (any)                     1
               gradient norm of the layer is NaN or inf
``exploding``  ``||dZ_l|| / ||dZ_L|| > exploding``             ``exploding = 1e3``       1
``exploding``  ``||dW_l|| > growth *`` its recent median       ``growth = 100``          1
``exploding``  batch loss ``> loss_growth * first loss``       ``loss_growth = 10``      1
``vanishing``  ``||dZ_l|| / ||dZ_L|| < vanishing`` (hidden     ``vanishing = 1e-3``      patience
               layers not at or below a dead ReLU layer)
``dead_relu``  fraction of dead units of a ReLU layer (not     ``dead = 0.5``            patience
               below a layer whose units are all dead)
``saturation`` fraction of saturated units of a sigmoid or     ``saturated = 0.5``       patience
               tanh layer
``lr_high``    ``||W update|| / ||W|| > update_high``          ``update_high = 0.1``     patience
``lr_high``    ``||W update|| / ||W|| > update_extreme``       ``update_extreme = 1``    1
``lr_low``     ``||W update|| / ||W|| < update_low`` while     ``update_low = 1e-6``     patience
               the loss is not small and the layer's
               gradient is neither 0 nor vanishing nor cut
               off by dead units
``plateau``    relative change of the epoch loss over the      ``plateau_epochs = 5``,   per epoch
               last ``plateau_epochs`` epochs below            ``plateau_change = 1e-3``
               ``plateau_change`` while the loss is not small
=============  ==============================================  ========================  =========

"patience" means the condition must hold on ``patience`` (default 3)
consecutive sampled batches, so that one odd batch does not raise a
warning; the rules marked 1 fire at once because training may not survive
the next few batches. The loss "is small" once it is below ``small_loss``
(default 0.1) times its first value.

Why these values:

* **Vanishing / exploding across layers.** ``dZ_l`` is the error signal that
  the seed's backward pass hands down to layer ``l`` (``dZ = dA * g'(Z)``,
  ``dA_prev = dZ . W``). Each layer multiplies it by ``W`` and ``g'(Z)``; with
  a sensible initialisation the product stays within a factor of ten or so
  from the output to the input. Eight sigmoid layers multiply it by about
  ``0.25`` each (the largest slope of the sigmoid) and reach ``1e-5``. A
  factor of 1000 either way (``vanishing = 1e-3``, ``exploding = 1e3``) is
  far outside healthy networks and well inside broken ones. The ratio uses
  ``dZ`` rather than ``dW`` so that the scale of the inputs (which enters
  ``dW_1 = (1/m) dZ_1^T . A_0``) does not masquerade as a gradient problem.
* **Exploding over time.** Gradient norms normally shrink as training
  proceeds; a layer whose gradient norm jumps to 100 times its median over
  the recent sampled batches is diverging. Absolute norms are not used: they
  scale with the loss and the data and have no universal "too large".
  The batch loss is watched on every batch (one comparison), and a loss ten
  times its first value, above the loss of the untrained network, triggers
  an extra sample at once so that the warning comes before the loss turns
  into NaN and training stops.
* **Dead ReLUs.** A ReLU unit with ``Z <= 0`` on every example of a batch
  passes no gradient and, if it stays so, never learns again. Occasional dead
  units are harmless; more than half of a layer means it has lost most of its
  capacity.
* **Saturation.** A sigmoid unit with ``A < 0.01`` or ``A > 0.99`` has a slope
  ``g'(Z) < 0.0099``, under 4% of its maximum 0.25; a tanh unit with
  ``|A| > 0.99`` has ``g'(Z) < 0.02``, 2% of its maximum 1. A unit counts as
  saturated when it is so on at least 90% of the batch's examples (see
  :mod:`layerwise.inspect.diagnostics`); more than half the layer saturated blocks
  most of the gradient. The output layer is not checked when the output shortcut
  pairs it with its loss (sigmoid with binary cross-entropy, softmax with
  cross-entropy), whose ``dZ_L = A_L - Y`` has no ``g'`` factor.
* **Learning rate per layer.** The update-to-weight ratio
  ``||W_after - W_before|| / ||W_before||`` of a healthy layer is about
  ``1e-3`` (plain SGD) to ``1e-2`` (Adam's first steps). Above ``0.1`` a
  single step rewrites a tenth of the layer and training oscillates or
  diverges; above ``1`` the step is larger than the weights themselves.
  Below ``1e-6`` the layer would need a million steps to change noticeably.
  A converged network legitimately takes tiny steps, hence the "loss not
  small" condition.
* **Plateau.** Less than 0.1% relative improvement of the training loss in
  five epochs, while the loss is still more than a tenth of its first-epoch
  value, means training has stalled rather than converged.
"""

from __future__ import annotations

import math
from collections import deque

import numpy as np

from .thresholds import Finding, Thresholds

__all__ = ["KINDS", "Detectors", "Finding", "Thresholds"]

KINDS = ("nan", "exploding", "vanishing", "dead_relu", "saturation", "lr_high", "lr_low", "plateau")
"""Every kind of warning, in the order they are checked."""

_PERSISTENT = ("vanishing", "dead_relu", "saturation", "lr_high", "lr_low")
_GROWTH_WINDOW = 20  # sampled batches whose median is the reference of the growth rule
_ALWAYS_MEASURED = ("weight_norm", "grad_norm_W", "grad_norm_b", "z_mean", "z_std", "a_mean", "a_std", "dz_norm")
_WHAT = {"weight_norm": "weights W", "grad_norm_W": "gradient dW", "grad_norm_b": "gradient db",
         "z_mean": "pre-activations Z", "z_std": "pre-activations Z", "a_mean": "activations A",
         "a_std": "activations A", "dz_norm": "backpropagated dZ"}


class Detectors:
    """The rules of this module, with the little state they need between sampled batches.

    Parameters
    ----------
    thresholds : Thresholds
    layers : list of dict
        ``{"l": number, "type": "Dense", "units": n_l, "activation": name}`` per layer with weights, as
        :attr:`GradientMonitor.layers <layerwise.inspect.diagnostics.GradientMonitor.layers>`.
    warned : iterable of (kind, layer), optional
        Pairs already reported; they are not reported again.
    """

    def __init__(self, thresholds: Thresholds, layers: list[dict], warned=()):
        self.t = thresholds
        self.layers = layers
        self.warned = set(warned)
        self.counts = {kind: np.zeros(len(layers), dtype=np.int64) for kind in _PERSISTENT}
        self.recent = deque(maxlen=_GROWTH_WINDOW)
        self.first_loss = None

    @property
    def loss_alarm(self) -> float:
        """Batch loss above which an extra sample is taken and exploding is checked."""
        if ("exploding", None) in self.warned or not self.first_loss or not math.isfinite(self.first_loss):
            return math.inf
        return self.t.loss_growth * self.first_loss

    # ------------------------------------------------------------ per sample
    def check(self, record: dict, lr: float | None = None) -> list[Finding]:
        """Apply the per-batch rules to one record of the monitor."""
        t, L = self.t, len(self.layers)
        v = {key: np.array([np.nan if x is None else x for x in record[key]], dtype=np.float64)
             for key in record if isinstance(record[key], list)}
        where = (record["epoch"], record["batch"])
        loss = record["loss"]
        if self.first_loss is None and math.isfinite(loss):
            self.first_loss = loss
        found = []
        if self._check_finite(v, where, found):
            return found

        rel = v["dz_norm"] / v["dz_norm"][-1] if v["dz_norm"][-1] > 0 else np.full(L, np.nan)
        for i in np.flatnonzero(rel[:-1] > t.exploding):
            self._add(found, "exploding", i, where, _exploding_across(self._who(i), self._l(i), self._l(L - 1),
                                                                      rel[i], t.exploding))
        self._check_growth(v["grad_norm_W"], loss, where, found)

        ratio = v["update_ratio"]
        for i in np.flatnonzero(ratio > t.update_extreme):
            self._add(found, "lr_high", i, where, _lr_high(self._who(i), self._l(i), ratio[i], t.update_extreme, lr,
                                                           once=True))
        loss_small = self.first_loss is not None and loss < t.small_loss * self.first_loss
        dead = v["dead_fraction"] > t.dead
        dead_here_or_above = np.logical_or.accumulate(dead[::-1])[::-1]
        input_all_zero = np.r_[False, v["dead_fraction"][:-1] == 1]  # its units cannot help being dead
        vanishing = (rel < t.vanishing) & (np.arange(L) < L - 1) & ~dead_here_or_above
        conditions = {
            "vanishing": vanishing,
            "dead_relu": dead & ~input_all_zero,
            "saturation": v["saturated_fraction"] > t.saturated,
            "lr_high": ratio > t.update_high,
            "lr_low": (ratio < t.update_low) & (v["grad_norm_W"] > 0) & ~vanishing & ~dead_here_or_above
            & (not loss_small),
        }
        measured = {"vanishing": np.isfinite(rel), "lr_high": np.isfinite(ratio), "lr_low": np.isfinite(ratio)}
        for kind, condition in conditions.items():
            known = measured.get(kind, np.ones(L, dtype=bool))
            counts = self.counts[kind]
            counts[:] = np.where(known, (counts + 1) * condition, counts)
            for i in np.flatnonzero(counts >= t.patience):
                self._add(found, kind, i, where, self._persistent_message(kind, i, v, rel, lr))
        return found

    def _check_finite(self, v: dict, where: tuple, found: list) -> bool:
        bad = {key: ~np.isfinite(v[key]) for key in _ALWAYS_MEASURED}
        any_bad = np.logical_or.reduce(list(bad.values()))
        if not any_bad.any():
            return False
        i = int(np.argmax(any_bad))
        what = sorted({_WHAT[key] for key in _ALWAYS_MEASURED if bad[key][i]})
        self._add(found, "nan", i, where,
                  f"{self._who(i)}: non-finite values (NaN or inf) appeared in its {', '.join(what)} at "
                  f"{_at(*where)}; training is diverging. Remedy: a lower learning rate, gradient clipping via "
                  "clip_norm (e.g. clip_norm=1.0), and standardised inputs (zero mean, unit variance).")
        return True

    def _check_growth(self, grad_norm: np.ndarray, loss: float, where: tuple, found: list) -> None:
        t = self.t
        reference = np.median(np.array(self.recent), axis=0) if len(self.recent) >= 3 else None
        if reference is not None:
            with np.errstate(divide="ignore", invalid="ignore"):
                growth = grad_norm / reference
            for i in np.flatnonzero((growth > t.growth) & (reference > 0)):
                self._add(found, "exploding", i, where,
                          f"{self._who(i)}: exploding gradients: ||dW{self._l(i)}|| = {grad_norm[i]:.3g} is "
                          f"{growth[i]:.3g} times its recent median {reference[i]:.3g} (threshold "
                          f"{t.growth:g}x) at {_at(*where)}. Remedy: a lower learning rate, or gradient clipping "
                          "via clip_norm (e.g. clip_norm=1.0).")
        if loss > self.loss_alarm:
            if reference is None:
                reference = np.array(self.recent[0]) if self.recent else grad_norm
            with np.errstate(divide="ignore", invalid="ignore"):
                growth = np.nan_to_num(grad_norm / reference, nan=0.0)
            i = int(np.argmax(growth))
            self._add(found, "exploding", None, where,
                      f"exploding loss: the batch loss {loss:.4g} at {_at(*where)} is over {t.loss_growth:g} times "
                      f"its first value {self.first_loss:.4g}; the gradient of {self._who(i)} grew the most "
                      f"({growth[i]:.3g}x). Remedy: a lower learning rate, or gradient clipping via clip_norm "
                      "(e.g. clip_norm=1.0).")
        if np.all(np.isfinite(grad_norm)):
            self.recent.append(grad_norm)

    def _persistent_message(self, kind: str, i: int, v: dict, rel: np.ndarray, lr: float | None) -> str:
        t, layer, who, l = self.t, self.layers[i], self._who(i), self._l(i)
        n, act = layer["units"], layer["activation"]
        if kind == "vanishing":
            squashing = [self._l(k) for k in range(i, len(self.layers) - 1)
                         if self.layers[k]["activation"] in ("sigmoid", "tanh")]
            cause = (f"the sigmoid/tanh slopes of layer(s) {', '.join(map(str, squashing))} shrink it; use relu "
                     "or leaky_relu hidden layers with He initialisation" if squashing else
                     "use He initialisation for ReLU layers (Glorot otherwise), fewer layers, or check for dead "
                     "units")
            return (f"{who}: vanishing gradients: the backpropagated signal ||dZ{l}|| is {rel[i]:.2g} "
                    f"of the output layer's (threshold {t.vanishing:g}), so this layer barely learns. Remedy: {cause}.")
        if kind == "dead_relu":
            return (f"{who}: {v['dead_fraction'][i]:.0%} of its {n} ReLU units are dead (Z <= 0 on "
                    f"every example of the batch; threshold {t.dead:.0%}): they pass no gradient and stop learning. "
                    "Remedy: leaky_relu (or elu), He initialisation, a lower learning rate, standardised inputs, and "
                    "no large negative biases.")
        if kind == "saturation":
            return (f"{who}: {v['saturated_fraction'][i]:.0%} of its {n} {act} units are saturated "
                    f"(within 1% of an asymptote on most examples; threshold {t.saturated:.0%}), so g'(Z) is nearly "
                    "0 and blocks the gradient. Remedy: standardised inputs (zero mean, unit variance), Glorot "
                    "initialisation, or relu/leaky_relu with He initialisation.")
        if kind == "lr_high":
            return _lr_high(who, l, v["update_ratio"][i], t.update_high, lr, once=False)
        now = "" if lr is None else f" (now {lr:g}; try {lr * 10:g})"
        return (f"{who}: learning rate too low for this layer: an update changes W{l} by only "
                f"{v['update_ratio'][i]:.2g} of its norm (healthy about 1e-3, threshold {t.update_low:g}) while "
                f"the loss is still high. Remedy: a higher learning rate{now}, or the adam optimizer.")

    def _l(self, i: int) -> int:
        """The number ``l`` of the ``i``-th watched layer."""
        return self.layers[i]["l"]

    def _who(self, i: int) -> str:
        """``Dense layer 3``: the ``i``-th watched layer's type and number."""
        return f"{self.layers[i]['type']} layer {self.layers[i]['l']}"

    # ------------------------------------------------------------- per epoch
    def check_epoch(self, epoch: int, losses: list[float]) -> list[Finding]:
        """Apply the plateau rule to the training losses of the epochs so far."""
        t, found = self.t, []
        n = t.plateau_epochs
        if len(losses) <= n:
            return found
        first, old, new = losses[0], losses[-n - 1], losses[-1]
        if not (math.isfinite(old) and math.isfinite(new) and old != 0):
            return found
        change = (old - new) / abs(old)
        if abs(change) < t.plateau_change and new >= t.small_loss * first:
            self._add(found, "plateau", None, (epoch, None),
                      f"loss plateau: the training loss changed by {change:.3%} over the last {n} epochs "
                      f"({old:.4g} -> {new:.4g}, threshold {t.plateau_change:.1%}) while still {new / first:.0%} of "
                      "its first-epoch value. Remedy: a higher learning rate or a schedule, standardised inputs, "
                      "leaky_relu if units are dead, or a larger network.")
        return found

    def _add(self, found: list, kind: str, i, where: tuple, message: str) -> None:
        """Report ``message`` about the ``i``-th watched layer (None: the network), unless already reported."""
        layer = None if i is None else self._l(int(i))
        if (kind, layer) in self.warned:
            return
        self.warned.add((kind, layer))
        found.append(Finding(kind, layer, int(where[0]), None if where[1] is None else int(where[1]), message))


def _at(epoch: int, batch: int | None) -> str:
    return f"epoch {epoch + 1}" if batch is None else f"epoch {epoch + 1}, batch {batch + 1}"


def _exploding_across(who: str, l: int, L: int, rel: float, limit: float) -> str:
    return (f"{who}: exploding gradients: the backpropagated signal ||dZ{l}|| is {rel:.3g} times the "
            f"output layer's ||dZ{L}|| (threshold {limit:g}). Remedy: smaller initial weights (He initialisation for "
            "ReLU layers, Glorot otherwise), a lower learning rate, or gradient clipping via clip_norm "
            "(e.g. clip_norm=1.0).")


def _lr_high(who: str, l: int, ratio: float, limit: float, lr: float | None, once: bool) -> str:
    now = "" if lr is None else f" (now {lr:g}; try {lr / 10:g})"
    span = "a single update" if once else "each update"
    return (f"{who}: learning rate too high for this layer: {span} changes W{l} by {ratio:.2g} of its "
            f"norm (healthy about 1e-3, threshold {limit:g}). Remedy: a lower learning rate{now}, or gradient "
            "clipping via clip_norm (e.g. clip_norm=1.0).")
