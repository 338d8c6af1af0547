"""Adam and AdamW, as ``torch.optim.Adam`` and ``torch.optim.AdamW``; see :mod:`layerwise.optim.optimizers` for how
optimizers are driven and checkpointed."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import ClassVar

import numpy as np

from .._checks import check_range
from ..errors import ConfigError
from . import kernels as fused
from .base import Optimizer, _add_scaled, _lerp


class Adam(Optimizer):
    """Adam, as ``torch.optim.Adam``, with optional AMSGrad and L2 weight decay::

        g = dW + weight_decay * W
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g**2
        v_max = max(v_max, v)                                (amsgrad only; used in place of v)
        W -= lr / (1 - beta1**t) * m / (sqrt(v / (1 - beta2**t)) + eps)

    The last line is evaluated as ``W -= (lr * c / (1 - beta1**t)) * m / (sqrt(v) + eps * c)``
    with ``c = sqrt(1 - beta2**t)``, the same quantity in one pass fewer.

    Parameters
    ----------
    lr : float, default 0.001
    betas : (float, float) in [0, 1), default (0.9, 0.999)
    eps : float > 0, default 1e-8
    weight_decay : float >= 0, default 0
        L2 penalty added to the gradient (see :class:`AdamW` for the decoupled form); of the weights only,
        when trained by ``Network.fit``.
    amsgrad : bool, default False
    """

    name = "adam"
    decoupled: ClassVar[bool] = False

    def __init__(self, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.0, amsgrad: bool = False):
        owner = type(self).__name__
        super().__init__(check_range(f"{owner}: lr", lr, 0.0, low_open=True))
        if not isinstance(betas, (list, tuple, np.ndarray)) or len(betas) != 2:
            raise ConfigError(f"{owner}: betas must be a pair (beta1, beta2), received {betas!r}")
        beta1, beta2 = betas
        self.betas = (check_range(f"{owner}: betas[0]", beta1, 0.0, 1.0, high_open=True),
                      check_range(f"{owner}: betas[1]", beta2, 0.0, 1.0, high_open=True))
        self.eps = check_range(f"{owner}: eps", eps, 0.0, low_open=True)
        self.weight_decay = check_range(f"{owner}: weight_decay", weight_decay, 0.0)
        if not isinstance(amsgrad, (bool, np.bool_)):
            raise ConfigError(f"{owner}: amsgrad must be True or False, received {amsgrad!r}")
        self.amsgrad = bool(amsgrad)

    def _buffers(self):
        return ("exp_avg", "exp_avg_sq") + ("max_exp_avg_sq",) * self.amsgrad

    def _update(self, p, g, state, scratch, weight_decay):
        tmp = scratch[0]
        beta1, beta2 = self.betas
        if weight_decay:
            if self.decoupled:
                p *= 1.0 - self._lr * weight_decay
            else:
                g = _add_scaled(g, p, weight_decay, out=scratch[1])
        exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
        _lerp(exp_avg, g, 1.0 - beta1, tmp)
        exp_avg_sq *= beta2
        np.multiply(g, g, out=tmp)
        tmp *= 1.0 - beta2
        exp_avg_sq += tmp
        if self.amsgrad:
            exp_avg_sq = np.maximum(state["max_exp_avg_sq"], exp_avg_sq, out=state["max_exp_avg_sq"])
        correction2 = math.sqrt(1.0 - beta2**self.steps)
        step_size = self._lr * correction2 / (1.0 - beta1**self.steps)
        np.sqrt(exp_avg_sq, out=tmp)
        tmp += self.eps * correction2
        np.divide(exp_avg, tmp, out=tmp)
        tmp *= step_size
        p -= tmp

    def _fused_update(self, p, g, state, weight_decay):
        h = self._scalars(p.dtype, *self._fused_scalars(self.steps, weight_decay))
        fused.adam(p, g, state["exp_avg"], state["exp_avg_sq"], state.get("max_exp_avg_sq", self._absent(p.dtype)),
                   h, self.amsgrad)

    def _fused_scalars(self, step: int, weight_decay: float) -> tuple[float, ...]:
        """The scalars ``h`` of the fused step number ``step`` (see :func:`layerwise.optim.kernels.adam`)."""
        beta1, beta2 = self.betas
        correction2 = math.sqrt(1.0 - beta2**step)
        step_size = self._lr * correction2 / (1.0 - beta1**step)
        decay, shrink = (0.0, 1.0 - self._lr * weight_decay) if self.decoupled else (weight_decay, 1.0)
        return step_size, 1.0 - beta1, beta2, 1.0 - beta2, self.eps * correction2, decay, shrink

    def fused_steps(self, name: str, p: np.ndarray, decayed: Mapping[str, int] | None, count: int) -> tuple:
        """What the next ``count`` steps of parameter ``name`` need when a compiled loop runs them
        (:mod:`layerwise.train.dense_epoch`), as :meth:`step` with ``decayed`` would make them.

        Returns ``(exp_avg, exp_avg_sq, max_exp_avg_sq, bounds, h)``: the state as flat arrays (an empty
        one for ``max_exp_avg_sq`` without AMSGrad), the ends of the parts of the flattened ``p``
        (``bounds[k]:bounds[k + 1]``, the decayed weights then the rest), and each step's scalars for each
        part, shape ``(count, parts, 7)``. The loop calls :func:`layerwise.optim.kernels.adam` once per part
        and step; the caller then adds the steps it ran to :attr:`steps`.
        """
        state = self._state_of(name, p)
        parts = self._parts(name, p, decayed)
        bounds = np.array([0] + [p.size if part.stop is None else part.stop for part, _ in parts], dtype=np.int64)
        h = np.array([[self._fused_scalars(self.steps + k, weight_decay) for _, weight_decay in parts]
                      for k in range(1, count + 1)], dtype=p.dtype).reshape(count, len(parts), 7)
        flat = {buf: array.reshape(-1) for buf, array in state.items()}
        return (flat["exp_avg"], flat["exp_avg_sq"], flat.get("max_exp_avg_sq", self._absent(p.dtype)), bounds, h)


class AdamW(Adam):
    """Adam with decoupled weight decay, as ``torch.optim.AdamW``.

    Each step first shrinks the parameters, ``W *= 1 - lr * weight_decay``, then
    applies the Adam update to the raw gradient. Same parameters as :class:`Adam`;
    ``weight_decay`` defaults to 0.01. ``Network.fit`` shrinks the weights alone: biases and
    normalisation parameters (BatchNorm's gamma and beta) are not decayed.
    """

    name = "adamw"
    decoupled = True

    def __init__(self, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.01, amsgrad: bool = False):
        super().__init__(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, amsgrad=amsgrad)
