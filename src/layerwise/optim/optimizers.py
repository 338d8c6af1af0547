"""Gradient-descent optimizers over dicts of arrays.

An optimizer updates parameters in place from their gradients::

    opt = get_optimizer("adam", lr=1e-3)
    opt.step(params, grads)          # params["W1"] -= ... using grads["dW1"]

``params`` maps names to arrays (the seed's ``{"W1": ..., "b1": ...}``, or one
flat ``{"theta": net.theta}``); the gradient of ``params[name]`` is
``grads["d" + name]``, the seed's naming. Gradients are only read, never
modified. ``opt.lr`` may be changed between steps (that is how a learning-rate
schedule drives the optimizer).

The update rules follow ``torch.optim`` exactly, with the same defaults. Each
optimizer keeps, per parameter name, its state buffers (momentum, moment
estimates), created on the first step with the parameter's dtype, so a step
allocates nothing and float32 stays float32. Each rule is written twice, with
the same arithmetic in the same order: as in-place NumPy operations over whole
arrays (:meth:`Optimizer._update`, which also uses one or two scratch
buffers), and as one fused pass per parameter compiled by numba
(:meth:`Optimizer._fused_update` and :mod:`layerwise.fused`), which is used
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
import math
from collections.abc import Iterable, Mapping
from typing import Any, ClassVar

import numpy as np

from .._checks import check_range
from ..errors import ConfigError, DataError, ModelFileError, ShapeError
from ..limits import require_memory
from . import kernels as fused

TENSOR = "__tensor__"


class Optimizer:
    """Base class: per-name state buffers and the loop over parameters.

    Subclasses set :attr:`name`, store their hyper-parameters as attributes
    named like their constructor arguments, and define :meth:`_buffers`,
    :meth:`_n_scratch`, :meth:`_update` and :meth:`_fused_update`.
    """

    name: ClassVar[str] = "optimizer"

    def __init__(self, lr: float):
        self.lr = lr
        self.steps = 0
        self._state: dict[str, dict[str, np.ndarray]] = {}
        self._scratch: dict[str, list[np.ndarray]] = {}
        self._loaded: dict[str, dict[str, np.ndarray]] = {}

    @property
    def lr(self) -> float:
        """The learning rate of the next step; a schedule may set it (0 is allowed, negative is not)."""
        return self._lr

    @lr.setter
    def lr(self, value: float) -> None:
        self._lr = check_range(f"{type(self).__name__}: lr", value, 0.0)

    def hyperparameters(self) -> dict[str, Any]:
        """The constructor arguments, with the current learning rate, as JSON-compatible values."""
        args = inspect.signature(type(self)).parameters
        return {arg: _plain(getattr(self, arg)) for arg in args}

    def _buffers(self) -> tuple[str, ...]:
        """Names of the state buffers kept for each parameter."""
        return ()

    def _n_scratch(self) -> int:
        """Number of scratch arrays per parameter: one work buffer, plus one for an L2-decayed gradient."""
        return 1 + (getattr(self, "weight_decay", 0.0) > 0 and not getattr(self, "decoupled", False))

    def _update(self, p: np.ndarray, g: np.ndarray, state: dict[str, np.ndarray], scratch: list) -> None:
        """The step in whole-array NumPy operations, using ``scratch`` for temporaries."""
        raise NotImplementedError

    def _fused_update(self, p: np.ndarray, g: np.ndarray, state: dict[str, np.ndarray], dtype: type) -> None:
        """The same step in one pass (:mod:`layerwise.fused`), on flat arrays, with scalars cast to ``dtype``."""
        raise NotImplementedError

    def step(self, params: Mapping[str, np.ndarray], grads: Mapping[str, np.ndarray]) -> None:
        """Update every array of ``params`` in place from ``grads["d" + name]``.

        Raises
        ------
        DataError
            If a gradient is missing or a parameter is not a floating-point array.
        ShapeError
            If a gradient's shape differs from its parameter's.
        """
        self.steps += 1
        for name, p in params.items():
            g = grads.get("d" + name)
            if g is None:
                raise DataError(f"no gradient 'd{name}' for parameter {name!r}; received gradients {sorted(grads)}")
            if g.shape != p.shape:
                raise ShapeError(f"gradient 'd{name}' must have the shape of {name!r}, {p.shape}; received {g.shape}")
            state = self._state.get(name)
            if state is None:
                state = self._create_state(name, p)
            if fused.ENABLED and p.flags.c_contiguous:
                g = np.ascontiguousarray(g, dtype=p.dtype)
                flat_state = {buf: array.reshape(-1) for buf, array in state.items()}  # views: the kernels walk 1-D
                self._fused_update(p.reshape(-1), g.reshape(-1), flat_state, p.dtype.type)
            else:
                scratch = self._scratch.get(name)
                if scratch is None:
                    scratch = self._scratch[name] = list(np.zeros((self._n_scratch(), *p.shape), dtype=p.dtype))
                self._update(p, g, state, scratch)

    def _create_state(self, name: str, p: np.ndarray) -> dict[str, np.ndarray]:
        if not isinstance(p, np.ndarray) or p.dtype.kind != "f":
            raise DataError(f"parameter {name!r} must be a floating-point NumPy array, received "
                            f"{type(p).__name__} of dtype {getattr(p, 'dtype', None)}")
        if self._loaded and name not in self._loaded:
            raise ConfigError(f"the loaded optimizer state holds parameters {sorted(self._loaded)}; "
                              f"step() received {name!r}")
        loaded = self._loaded.pop(name, None)
        for buf, array in (loaded or {}).items():
            if array.shape != p.shape:
                raise ShapeError(f"loaded optimizer state {name}.{buf} must have the shape of {name!r}, "
                                 f"{p.shape}; received {array.shape}")
        # One allocation for all of a parameter's buffers: they are walked together every step, and NumPy
        # asks the kernel for huge pages for a block this size (fewer TLB misses in a loop that also runs
        # large matrix products).
        copies = len(self._buffers()) + (0 if fused.ENABLED else self._n_scratch())
        require_memory(copies * p.nbytes, f"the {self.name} optimizer's state for {name!r} "
                       f"({copies} buffers of {p.size} {p.dtype} values)")
        state = dict(zip(self._buffers(), np.zeros((len(self._buffers()), *p.shape), dtype=p.dtype)))
        for buf, array in (loaded or {}).items():
            state[buf][...] = array
        self._state[name] = state
        return state

    def state_dict(self) -> dict[str, Any]:
        """Return ``{"name", "hyper", "step", "state": {param: {buffer: array copy}}}``."""
        buffers = {**self._loaded, **self._state}
        return {
            "name": self.name,
            "hyper": self.hyperparameters(),
            "step": self.steps,
            "state": {name: {buf: array.copy() for buf, array in state.items()} for name, state in buffers.items()},
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore hyper-parameters, step count and buffers from :meth:`state_dict` output.

        The buffers are adopted on the next :meth:`step`, which checks that they
        match the parameters' shapes and casts them to the parameters' dtype.

        Raises
        ------
        ConfigError
            If the state belongs to another optimizer or is malformed.
        """
        if not isinstance(state, Mapping) or not {"name", "hyper", "step", "state"} <= set(state):
            raise ConfigError("optimizer state must be a dict with keys 'name', 'hyper', 'step', 'state'; "
                              f"received {sorted(state) if isinstance(state, Mapping) else type(state).__name__}")
        if state["name"] != self.name:
            raise ConfigError(f"optimizer state is for {state['name']!r}, cannot load it into {self.name!r}")
        vars(self).update(vars(type(self)(**state["hyper"])))
        self.steps = check_range(f"{self.name}: step", state["step"], 0, integer=True)
        expected = set(self._buffers())
        loaded = {}
        for name, buffers in state["state"].items():
            if set(buffers) != expected:
                raise ConfigError(f"optimizer state for {name!r} must hold buffers {sorted(expected)}; "
                                  f"received {sorted(buffers)}")
            loaded[name] = {buf: np.asarray(array) for buf, array in buffers.items()}
        self._loaded = loaded

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.hyperparameters().items())
        return f"{type(self).__name__}({args})"


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
        L2 penalty added to the gradient.
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

    def _update(self, p, g, state, scratch):
        tmp = scratch[0]
        if self.weight_decay:
            g = _add_scaled(g, p, self.weight_decay, out=scratch[1])
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

    def _fused_update(self, p, g, state, dtype):
        fused.sgd(p, g, state.get("momentum_buffer", fused.absent(dtype)), dtype(self._lr), dtype(self.momentum),
                  self.nesterov, dtype(self.weight_decay))


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

    def _update(self, p, g, state, scratch):
        tmp = scratch[0]
        if self.weight_decay:
            g = _add_scaled(g, p, self.weight_decay, out=scratch[1])
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

    def _fused_update(self, p, g, state, dtype):
        none = fused.absent(dtype)
        fused.rmsprop(p, g, state["square_avg"], state.get("grad_avg", none), state.get("momentum_buffer", none),
                      dtype(self._lr), dtype(self.alpha), dtype(1.0 - self.alpha), dtype(self.eps),
                      dtype(self.momentum), self.centered, dtype(self.weight_decay))


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
        L2 penalty added to the gradient (see :class:`AdamW` for the decoupled form).
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

    def _update(self, p, g, state, scratch):
        tmp = scratch[0]
        beta1, beta2 = self.betas
        if self.weight_decay:
            if self.decoupled:
                p *= 1.0 - self._lr * self.weight_decay
            else:
                g = _add_scaled(g, p, self.weight_decay, out=scratch[1])
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

    def _fused_update(self, p, g, state, dtype):
        beta1, beta2 = self.betas
        correction2 = math.sqrt(1.0 - beta2**self.steps)
        step_size = self._lr * correction2 / (1.0 - beta1**self.steps)
        decay, shrink = (0.0, 1.0 - self._lr * self.weight_decay) if self.decoupled else (self.weight_decay, 1.0)
        fused.adam(p, g, state["exp_avg"], state["exp_avg_sq"], state.get("max_exp_avg_sq", fused.absent(dtype)),
                   dtype(step_size),
                   dtype(1.0 - beta1), dtype(beta2), dtype(1.0 - beta2), dtype(self.eps * correction2), self.amsgrad,
                   dtype(decay), dtype(shrink))


class AdamW(Adam):
    """Adam with decoupled weight decay, as ``torch.optim.AdamW``.

    Each step first shrinks the parameters, ``W *= 1 - lr * weight_decay``, then
    applies the Adam update to the raw gradient. Same parameters as :class:`Adam`;
    ``weight_decay`` defaults to 0.01.
    """

    name = "adamw"
    decoupled = True

    def __init__(self, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.01, amsgrad: bool = False):
        super().__init__(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, amsgrad=amsgrad)


def _add_scaled(g: np.ndarray, p: np.ndarray, scale: float, out: np.ndarray) -> np.ndarray:
    """``out = g + scale * p``: the L2-decayed gradient, written into a scratch buffer."""
    np.multiply(p, scale, out=out)
    out += g
    return out


def _lerp(avg: np.ndarray, x: np.ndarray, weight: float, tmp: np.ndarray) -> None:
    """``avg += weight * (x - avg)`` in place: an exponential moving average step."""
    np.subtract(x, avg, out=tmp)
    tmp *= weight
    avg += tmp


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


def clip_grad_norm(grads: Mapping[str, np.ndarray] | Iterable[np.ndarray], max_norm: float) -> float:
    """Scale gradients in place so that their global L2 norm is at most ``max_norm``.

    As ``torch.nn.utils.clip_grad_norm_``: the norm is taken over all arrays
    together; when it exceeds ``max_norm`` every array is multiplied by
    ``max_norm / (norm + 1e-6)``. Pass only parameter gradients (for instance
    ``{"dtheta": net.dtheta}``), not ``dZ`` / ``dA``.

    Returns
    -------
    float
        The global norm before clipping (NaN or inf if a gradient is not finite;
        the arrays are then scaled into NaN too, as in PyTorch).
    """
    max_norm = check_range("clip_grad_norm: max_norm", max_norm, 0.0, low_open=True)
    arrays = list(grads.values()) if isinstance(grads, Mapping) else list(grads)
    total = 0.0
    for g in arrays:
        flat = g.reshape(-1)
        total += float(np.dot(flat, flat))
    norm = math.sqrt(total)
    coef = max_norm / (norm + 1e-6)
    if not coef >= 1.0:
        for g in arrays:
            g *= coef
    return norm


def flatten_state(state: Mapping[str, Any], prefix: str = "") -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """Split a nested state dict into ``(tensors, meta)`` for a safetensors file plus JSON.

    Every array is moved to ``tensors`` under the dotted path of its position,
    ``prefix + "state.theta.exp_avg"``, and replaced in ``meta`` by
    ``{"__tensor__": key}``; everything else is copied as plain JSON values.
    """
    tensors: dict[str, np.ndarray] = {}

    def walk(node, path):
        if isinstance(node, np.ndarray):
            key = prefix + ".".join(path)
            if key in tensors:
                raise ConfigError(f"two state entries flatten to the same key {key!r}; rename the parameters")
            tensors[key] = np.ascontiguousarray(node)
            return {TENSOR: key}
        if isinstance(node, Mapping):
            return {str(k): walk(v, [*path, str(k)]) for k, v in node.items()}
        if isinstance(node, (list, tuple)):
            return [walk(v, [*path, str(i)]) for i, v in enumerate(node)]
        return _plain(node)

    return tensors, walk(state, [])


def unflatten_state(tensors: Mapping[str, np.ndarray], meta: Mapping[str, Any]) -> dict[str, Any]:
    """Inverse of :func:`flatten_state`.

    Raises
    ------
    ModelFileError
        If ``meta`` names a tensor that ``tensors`` does not hold.
    """

    def walk(node):
        if isinstance(node, Mapping):
            if set(node) == {TENSOR}:
                key = node[TENSOR]
                if key not in tensors:
                    raise ModelFileError(f"saved state refers to tensor {key!r}, which the file does not contain")
                return tensors[key]
            return {k: walk(v) for k, v in node.items()}
        if isinstance(node, list):
            return [walk(v) for v in node]
        return node

    return walk(meta)


def _plain(value):
    """A JSON-compatible Python value: NumPy scalars become Python scalars, tuples lists."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, tuple):
        return [_plain(v) for v in value]
    return value
