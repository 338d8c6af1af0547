"""The optimizer base class: per-name state buffers, the loop over parameters, the state round trip.

Subclasses (:mod:`layerwise.optim.optimizers`) write each update rule twice with
the same arithmetic: in-place NumPy operations (:meth:`Optimizer._update`) and
one fused pass compiled by numba (:meth:`Optimizer._fused_update`, see
:mod:`layerwise.optim.kernels`).
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np

from .._checks import check_range
from ..errors import ConfigError, DataError, ShapeError
from ..limits import require_memory
from . import kernels as fused
from .state import plain


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
        self._flat: dict[str, tuple] = {}
        self._hyper: dict[np.dtype, np.ndarray] = {}
        self._empty: dict[np.dtype, np.ndarray] = {}

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
        return {arg: plain(getattr(self, arg)) for arg in args}

    def _buffers(self) -> tuple[str, ...]:
        """Names of the state buffers kept for each parameter."""
        return ()

    def _n_scratch(self) -> int:
        """Number of scratch arrays per parameter: one work buffer, plus one for an L2-decayed gradient."""
        return 1 + (getattr(self, "weight_decay", 0.0) > 0 and not getattr(self, "decoupled", False))

    def _update(self, p: np.ndarray, g: np.ndarray, state: dict[str, np.ndarray], scratch: list,
                weight_decay: float) -> None:
        """The step in whole-array NumPy operations, using ``scratch`` for temporaries, with ``weight_decay``
        in place of the attribute (0 for the parts of ``p`` that are not decayed)."""
        raise NotImplementedError

    def _fused_update(self, p: np.ndarray, g: np.ndarray, state: dict[str, np.ndarray],
                      weight_decay: float) -> None:
        """The same step in one pass (:mod:`layerwise.optim.kernels`), on flat arrays, its scalars in
        :meth:`_scalars`."""
        raise NotImplementedError

    def _scalars(self, dtype: np.dtype, *values: float) -> np.ndarray:
        """``values`` cast to ``dtype`` (as ``dtype.type(value)`` rounds), in an array reused from step to step."""
        h = self._hyper.get(dtype)
        if h is None or h.size != len(values):
            h = self._hyper[dtype] = np.empty(len(values), dtype)
        for i, value in enumerate(values):
            h[i] = value
        return h

    def _absent(self, dtype: np.dtype) -> np.ndarray:
        """An empty array to pass for a buffer the step does not use.

        Passing another argument instead (the parameter itself) would make the
        arrays overlap, and the compiled loop would fall back to one element at a
        time.
        """
        empty = self._empty.get(dtype)
        if empty is None:
            empty = self._empty[dtype] = np.empty(0, dtype)
        return empty

    def step(self, params: Mapping[str, np.ndarray], grads: Mapping[str, np.ndarray],
             decayed: Mapping[str, int] | None = None) -> None:
        """Update every array of ``params`` in place from ``grads["d" + name]``.

        Parameters
        ----------
        params, grads : mapping of str to ndarray
            The parameters and their gradients (``grads["d" + name]``).
        decayed : mapping of str to int, optional
            For a parameter named here, how many of its leading elements (in C order) ``weight_decay``
            acts on; the rest are updated without it. A parameter not named, and every parameter when
            ``decayed`` is None, decays whole (``torch.optim`` with one parameter group). The training
            loop passes ``{"theta": net.n_weights}``: the weights lead the flat buffer, and biases and
            normalisation parameters are not decayed.

        Raises
        ------
        DataError
            If a gradient is missing or a parameter is not a floating-point array.
        ShapeError
            If a gradient's shape differs from its parameter's.
        ConfigError
            If a decayed length is not an integer in ``[0, size]``, or splits an array that is not contiguous.
        """
        self.steps += 1
        for name, p in params.items():
            g = grads.get("d" + name)
            if g is None:
                raise DataError(f"no gradient 'd{name}' for parameter {name!r}; received gradients {sorted(grads)}")
            if g.shape != p.shape:
                raise ShapeError(f"gradient 'd{name}' must have the shape of {name!r}, {p.shape}; received {g.shape}")
            state = self._state_of(name, p)
            parts = self._parts(name, p, decayed)
            if fused.ENABLED and p.flags.c_contiguous:
                g = np.ascontiguousarray(g, dtype=p.dtype)
                for flat_part in self._flat_parts(name, p, g, state, parts):
                    self._fused_update(*flat_part)
                continue
            scratch = self._scratch.get(name)
            if scratch is None:
                scratch = self._scratch[name] = list(np.zeros((self._n_scratch(), *p.shape), dtype=p.dtype))
            if len(parts) == 1 and parts[0][0] == slice(None):
                self._update(p, g, state, scratch, parts[0][1])
                continue
            g = np.ascontiguousarray(g).reshape(-1)
            flat, flat_state = p.reshape(-1), {buf: array.reshape(-1) for buf, array in state.items()}
            for part, weight_decay in parts:
                self._update(flat[part], g[part], {buf: array[part] for buf, array in flat_state.items()},
                             [array.reshape(-1)[part] for array in scratch], weight_decay)

    def _flat_parts(self, name: str, p: np.ndarray, g: np.ndarray, state: dict[str, np.ndarray],
                    parts: list[tuple[slice, float]]) -> list[tuple]:
        """Per part, the fused step's arguments: 1-D views of ``p``, ``g`` and the state (the kernels walk
        1-D), and the part's weight decay; kept from step to step while the arrays stay the same."""
        cached = self._flat.get(name)
        if cached is None or cached[0] is not p or cached[1] is not g or cached[2] is not state or cached[3] != parts:
            flat, flat_g, flat_state = p.reshape(-1), g.reshape(-1), {buf: a.reshape(-1) for buf, a in state.items()}
            views = [(flat[part], flat_g[part], {buf: a[part] for buf, a in flat_state.items()}, weight_decay)
                     for part, weight_decay in parts]
            cached = self._flat[name] = (p, g, state, parts, views)
        return cached[4]

    def _parts(self, name: str, p: np.ndarray, decayed: Mapping[str, int] | None) -> list[tuple[slice, float]]:
        """``[(part of the flattened p, its weight decay)]``: the decayed leading elements, then the rest."""
        weight_decay = getattr(self, "weight_decay", 0.0)
        if not weight_decay or decayed is None or name not in decayed:
            return [(slice(None), weight_decay)]
        n = check_range(f"{type(self).__name__}: decayed[{name!r}]", decayed[name], 0, p.size, integer=True)
        if n == p.size:
            return [(slice(None), weight_decay)]
        if not p.flags.c_contiguous:
            raise ConfigError(f"{type(self).__name__}: decayed[{name!r}]={n} splits parameter {name!r}, which "
                              f"must then be a contiguous array; received one with strides {p.strides}")
        return [(slice(0, n), weight_decay), (slice(n, None), 0.0)] if n else [(slice(None), 0.0)]

    def _state_of(self, name: str, p: np.ndarray) -> dict[str, np.ndarray]:
        """The state buffers of parameter ``name``, made (or taken from a loaded state) on its first step."""
        state = self._state.get(name)
        return self._create_state(name, p) if state is None else state

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

    def __getstate__(self) -> dict[str, Any]:
        """Pickles and copies leave out the cached flat views (they would carry the parameters along)."""
        return {**vars(self), "_flat": {}}

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
        hyper = state["hyper"]
        accepted = list(inspect.signature(type(self)).parameters)
        if not isinstance(hyper, Mapping) or not set(hyper) <= set(accepted):
            received = sorted(map(str, hyper)) if isinstance(hyper, Mapping) else type(hyper).__name__
            raise ConfigError(f"optimizer state: hyper must be a dict with keys among {', '.join(accepted)}; "
                              f"received {received}")
        rebuilt = type(self)(**{key: value for key, value in hyper.items() if key != "lr"})
        rebuilt.lr = hyper.get("lr", rebuilt.lr)  # a schedule may have brought the rate to 0
        vars(self).update(vars(rebuilt))
        self.steps = check_range(f"{self.name}: step", state["step"], 0, integer=True)
        expected = set(self._buffers())
        loaded = {}
        if not isinstance(state["state"], Mapping):
            raise ConfigError(f"optimizer state: state must be a dict of buffers per parameter; received "
                              f"{type(state['state']).__name__}")
        for name, buffers in state["state"].items():
            if not isinstance(buffers, Mapping) or set(buffers) != expected:
                received = sorted(buffers) if isinstance(buffers, Mapping) else type(buffers).__name__
                raise ConfigError(f"optimizer state for {name!r} must hold buffers {sorted(expected)}; "
                                  f"received {received}")
            for buf, array in buffers.items():
                if not isinstance(array, np.ndarray) or array.dtype.kind != "f":
                    kind = f"an array of {array.dtype}" if isinstance(array, np.ndarray) else type(array).__name__
                    raise ConfigError(f"optimizer state {name}.{buf} must be a floating-point array; received {kind}")
            loaded[name] = dict(buffers)
        self._loaded = loaded

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.hyperparameters().items())
        return f"{type(self).__name__}({args})"


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
