"""Gradient-descent optimizers over dicts of arrays.

An optimizer updates parameters in place from their gradients::

    opt = get_optimizer("adam", lr=1e-3)
    opt.step(params, grads)          # params["W1"] -= ... using grads["dW1"]

``params`` maps names to arrays (the seed's ``{"W1": ..., "b1": ...}``, or one
flat ``{"theta": net.theta}``); the gradient of ``params[name]`` is
``grads["d" + name]``, the seed's naming. Gradients are only read, never
modified. ``weight_decay`` (every optimizer's) acts on the weights alone when
:meth:`Network.fit <layerwise.Network.fit>` trains: biases and normalisation
parameters are not decayed, as the L2 penalty does not penalise them; it
passes ``decayed={"theta": net.n_weights}`` to :meth:`Optimizer.step`, the
weights being the leading stretch of the flat buffer. ``opt.lr`` may be
changed between steps (that is how a learning-rate schedule drives the
optimizer).

The update rules follow ``torch.optim`` exactly, with the same defaults. Each
optimizer keeps, per parameter name, its state buffers (momentum, moment
estimates), created on the first step with the parameter's dtype, so a step
allocates nothing and float32 stays float32. Each rule is written twice, with
the same arithmetic in the same order: as in-place NumPy operations over whole
arrays (:meth:`Optimizer._update`, which also uses one or two scratch
buffers), and as one fused pass per parameter compiled by numba
(:meth:`Optimizer._fused_update` and :mod:`layerwise.optim.kernels`), which is used
when numba is installed and gives bit-identical results 3-5 times faster.

Checkpoints
-----------
:meth:`Optimizer.state_dict` returns::

    {"name": "adam",
     "hyper": {"lr": 0.001, "betas": [0.9, 0.999], "eps": 1e-08, ...},
     "step": 25,
     "state": {"theta": {"exp_avg": ndarray, "exp_avg_sq": ndarray}}}

Buffer names follow ``torch.optim``: ``momentum_buffer`` (SGD, RMSProp),
``exp_avg``, ``exp_avg_sq``, ``max_exp_avg_sq`` (Adam, AdamW),
``square_avg``, ``grad_avg`` (RMSProp). :func:`flatten_state` splits such a
nested dict into a flat ``{key: ndarray}`` (for a safetensors file) and a
JSON-compatible ``meta`` that names those keys; :func:`unflatten_state` puts it
back together, and :func:`optimizer_from_state` rebuilds the optimizer, so that
training resumes bit-identically.
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from typing import Any

import numpy as np

from .._checks import check_range
from ..errors import ConfigError
from . import kernels as fused
from .adam import Adam, AdamW
from .base import Optimizer, _add_scaled, _lerp
from .state import clip_grad_norm, flatten_state, unflatten_state

__all__ = ["ALIASES", "OPTIMIZERS", "SGD", "Adam", "AdamW", "Optimizer", "RMSProp", "clip_grad_norm",
           "flatten_state", "get_optimizer", "optimizer_from_state", "unflatten_state"]


class SGD(Optimizer):
    """Stochastic gradient descent with optional momentum, Nesterov momentum and L2 weight decay.

    As ``torch.optim.SGD`` (without dampening)::

        g = dW + weight_decay * W
        buf = momentum * buf + g                 (buf starts at g)
        W -= lr * (g + momentum * buf)           if nesterov
        W -= lr * buf                            if momentum > 0
        W -= lr * g                              otherwise

    Parameters
    ----------
    lr : float, default 0.01
    momentum : float in [0, 1), default 0
    nesterov : bool, default False
        Requires ``momentum > 0``.
    weight_decay : float >= 0, default 0
        L2 penalty added to the gradient (of the weights only, when trained by ``Network.fit``).
    """

    name = "sgd"

    def __init__(self, lr: float = 0.01, momentum: float = 0.0, nesterov: bool = False, weight_decay: float = 0.0):
        super().__init__(check_range("SGD: lr", lr, 0.0, low_open=True))
        self.momentum = check_range("SGD: momentum", momentum, 0.0, 1.0, high_open=True)
        self.weight_decay = check_range("SGD: weight_decay", weight_decay, 0.0)
        if not isinstance(nesterov, (bool, np.bool_)):
            raise ConfigError(f"SGD: nesterov must be True or False, received {nesterov!r}")
        if nesterov and self.momentum == 0:
            raise ConfigError("SGD: nesterov=True requires momentum > 0, received momentum=0")
        self.nesterov = bool(nesterov)

    def _buffers(self):
        return ("momentum_buffer",) if self.momentum else ()

    def _update(self, p, g, state, scratch, weight_decay):
        tmp = scratch[0]
        if weight_decay:
            g = _add_scaled(g, p, weight_decay, out=scratch[1])
        update = g
        if self.momentum:
            buf = state["momentum_buffer"]
            buf *= self.momentum
            buf += g
            update = buf
            if self.nesterov:
                np.multiply(buf, self.momentum, out=tmp)
                tmp += g
                update = tmp
        np.multiply(update, self._lr, out=tmp)
        p -= tmp

    def _fused_update(self, p, g, state, weight_decay):
        fused.sgd(p, g, state.get("momentum_buffer", self._absent(p.dtype)),
                  self._scalars(p.dtype, self._lr, self.momentum, weight_decay), self.nesterov)


class RMSProp(Optimizer):
    """RMSProp, as ``torch.optim.RMSprop``::

        g = dW + weight_decay * W
        s = alpha * s + (1 - alpha) * g**2
        a = alpha * a + (1 - alpha) * g                      (centered only)
        d = sqrt(s - a**2) + eps   if centered   else   sqrt(s) + eps
        buf = momentum * buf + g / d;  W -= lr * buf       if momentum > 0
        W -= lr * g / d                                    otherwise

    Parameters
    ----------
    lr : float, default 0.01
    alpha : float in [0, 1), default 0.99
        Decay of the running mean of squared gradients.
    eps : float > 0, default 1e-8
    momentum : float in [0, 1), default 0
    centered : bool, default False
        Normalise by an estimate of the gradient's variance instead of its second moment.
    weight_decay : float >= 0, default 0
        L2 penalty added to the gradient (of the weights only, when trained by ``Network.fit``).
    """

    name = "rmsprop"

    def __init__(self, lr: float = 0.01, alpha: float = 0.99, eps: float = 1e-8, momentum: float = 0.0,
                 centered: bool = False, weight_decay: float = 0.0):
        super().__init__(check_range("RMSProp: lr", lr, 0.0, low_open=True))
        self.alpha = check_range("RMSProp: alpha", alpha, 0.0, 1.0, high_open=True)
        self.eps = check_range("RMSProp: eps", eps, 0.0, low_open=True)
        self.momentum = check_range("RMSProp: momentum", momentum, 0.0, 1.0, high_open=True)
        self.weight_decay = check_range("RMSProp: weight_decay", weight_decay, 0.0)
        if not isinstance(centered, (bool, np.bool_)):
            raise ConfigError(f"RMSProp: centered must be True or False, received {centered!r}")
        self.centered = bool(centered)

    def _buffers(self):
        return ("square_avg",) + ("momentum_buffer",) * (self.momentum > 0) + ("grad_avg",) * self.centered

    def _update(self, p, g, state, scratch, weight_decay):
        tmp = scratch[0]
        if weight_decay:
            g = _add_scaled(g, p, weight_decay, out=scratch[1])
        square_avg = state["square_avg"]
        square_avg *= self.alpha
        np.multiply(g, g, out=tmp)
        tmp *= 1.0 - self.alpha
        square_avg += tmp
        if self.centered:
            grad_avg = state["grad_avg"]
            _lerp(grad_avg, g, 1.0 - self.alpha, tmp)
            np.multiply(grad_avg, grad_avg, out=tmp)
            np.subtract(square_avg, tmp, out=tmp)
            np.sqrt(tmp, out=tmp)
        else:
            np.sqrt(square_avg, out=tmp)
        tmp += self.eps
        np.divide(g, tmp, out=tmp)
        if self.momentum:
            buf = state["momentum_buffer"]
            buf *= self.momentum
            buf += tmp
            np.multiply(buf, self._lr, out=tmp)
        else:
            tmp *= self._lr
        p -= tmp

    def _fused_update(self, p, g, state, weight_decay):
        none = self._absent(p.dtype)
        fused.rmsprop(p, g, state["square_avg"], state.get("grad_avg", none), state.get("momentum_buffer", none),
                      self._scalars(p.dtype, self._lr, self.alpha, 1.0 - self.alpha, self.eps, self.momentum,
                                    weight_decay), self.centered)


OPTIMIZERS: dict[str, type[Optimizer]] = {cls.name: cls for cls in (SGD, RMSProp, Adam, AdamW)}
"""Registered optimizers by name."""

ALIASES: dict[str, tuple[str, dict[str, Any]]] = {
    "momentum": ("sgd", {"momentum": 0.9}),
    "nesterov": ("sgd", {"momentum": 0.9, "nesterov": True}),
}
"""Shorthand names: an optimizer and the defaults they change."""


def get_optimizer(optimizer: str | Optimizer = "adam", **kwargs) -> Optimizer:
    """Return an optimizer from its name and keyword arguments, or pass an instance through.

    Names are ``"sgd"``, ``"rmsprop"``, ``"adam"``, ``"adamw"``, and the shorthands
    ``"momentum"`` (SGD with momentum 0.9) and ``"nesterov"`` (SGD with Nesterov
    momentum 0.9).

    Raises
    ------
    ConfigError
        If the name is unknown (the message lists the valid names), a keyword
        argument is not accepted by that optimizer (the message lists those that
        are), a value is out of range, or keyword arguments come with an instance.
    """
    if isinstance(optimizer, Optimizer):
        if kwargs:
            raise ConfigError(f"optimizer arguments {sorted(kwargs)} apply only to an optimizer given by name; "
                              f"received an instance {optimizer!r}")
        return optimizer
    valid = sorted([*OPTIMIZERS, *ALIASES])
    key = optimizer.strip().lower() if isinstance(optimizer, str) else None
    if key not in valid:
        raise ConfigError(f"unknown optimizer {optimizer!r}; expected one of {', '.join(valid)} or an Optimizer")
    key, defaults = ALIASES.get(key, (key, {}))
    cls = OPTIMIZERS[key]
    accepted = list(inspect.signature(cls).parameters)
    unknown = sorted(set(kwargs) - set(accepted))
    if unknown:
        raise ConfigError(f"optimizer {key!r} got unexpected argument(s) {', '.join(unknown)}; "
                          f"accepted: {', '.join(accepted)}")
    return cls(**{**defaults, **kwargs})


def optimizer_from_state(state: Mapping[str, Any]) -> Optimizer:
    """Rebuild an optimizer, buffers included, from :meth:`Optimizer.state_dict` output."""
    if not isinstance(state, Mapping) or state.get("name") not in OPTIMIZERS:
        name = state.get("name") if isinstance(state, Mapping) else type(state).__name__
        raise ConfigError(f"optimizer state must name one of {', '.join(sorted(OPTIMIZERS))}; received {name!r}")
    optimizer = OPTIMIZERS[state["name"]]()
    optimizer.load_state_dict(state)
    return optimizer
