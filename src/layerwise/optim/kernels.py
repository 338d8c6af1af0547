"""Fused optimizer updates: one pass over memory per step, compiled by numba.

The NumPy form of an optimizer step (:mod:`layerwise.optim`) is a dozen
whole-array passes, each reading and writing megabytes; here the same
equations run element by element in one loop, so each array is read once and
written once. The arithmetic is the NumPy form's, operation for operation and
in the parameters' dtype, so both give bit-identical parameters (tested). The
scalars of a step come in one small array ``h`` of that dtype (filled by
:meth:`Optimizer._scalars`): numba types an array argument several times
faster than nine NumPy scalars, which on a small network is most of the
cost of a step.

numba is a dependency, but it is imported, and each kernel compiled, only on
first use (``import layerwise`` does not pay for it); compiled code is cached
on disk, so the compile cost is paid once per machine. :data:`ENABLED` is
false when numba cannot be imported or the environment sets
``LAYERWISE_NUMBA=0``, and the optimizers then take their NumPy form.
"""

from __future__ import annotations

import numpy as np

from .._compile import ENABLED, compiled

__all__ = ["ENABLED", "adam", "rmsprop", "sgd"]


@compiled
def sgd(p, g, momentum_buffer, h, nesterov):
    """One step of :class:`layerwise.optim.SGD`, ``h = [lr, momentum, weight_decay]`` (``momentum_buffer``
    unused when ``momentum`` is 0)."""
    lr, momentum, weight_decay = h[0], h[1], h[2]
    for i in range(p.size):
        d = g[i]
        if weight_decay:
            d = p[i] * weight_decay + d
        if momentum:
            buf = momentum_buffer[i] * momentum + d
            momentum_buffer[i] = buf
            d = buf * momentum + d if nesterov else buf
        p[i] -= d * lr


@compiled
def rmsprop(p, g, square_avg, grad_avg, momentum_buffer, h, centered):
    """One step of :class:`layerwise.optim.RMSProp`, ``h = [lr, alpha, 1 - alpha, eps, momentum, weight_decay]``;
    ``grad_avg`` is used only when centered."""
    lr, alpha, one_minus_alpha, eps, momentum, weight_decay = h[0], h[1], h[2], h[3], h[4], h[5]
    for i in range(p.size):
        d = g[i]
        if weight_decay:
            d = p[i] * weight_decay + d
        s = square_avg[i] * alpha + (d * d) * one_minus_alpha
        square_avg[i] = s
        if centered:
            a = grad_avg[i] + (d - grad_avg[i]) * one_minus_alpha
            grad_avg[i] = a
            s = s - a * a
        q = d / (np.sqrt(s) + eps)
        if momentum:
            q = momentum_buffer[i] * momentum + q
            momentum_buffer[i] = q
        p[i] -= q * lr


@compiled
def adam(p, g, exp_avg, exp_avg_sq, max_exp_avg_sq, h, amsgrad):
    """One step of :class:`layerwise.optim.Adam`, ``h = [step_size, 1 - beta1, beta2, 1 - beta2, eps,
    weight_decay, shrink]``: L2 decay via ``weight_decay``, AdamW's via ``shrink``."""
    step_size, one_minus_beta1, beta2, one_minus_beta2, eps, weight_decay, shrink = h[0], h[1], h[2], h[3], h[4], \
        h[5], h[6]
    for i in range(p.size):
        d = g[i]
        if weight_decay:
            d = p[i] * weight_decay + d
        w = p[i] * shrink
        m = exp_avg[i] + (d - exp_avg[i]) * one_minus_beta1
        v = exp_avg_sq[i] * beta2 + (d * d) * one_minus_beta2
        exp_avg[i] = m
        exp_avg_sq[i] = v
        if amsgrad:
            v = np.maximum(max_exp_avg_sq[i], v)
            max_exp_avg_sq[i] = v
        p[i] = w - m / (np.sqrt(v) + eps) * step_size

