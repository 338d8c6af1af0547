"""Resumable checkpoints: a model file that also holds the state of training.

A checkpoint is an ordinary layerwise model file (so ``layerwise.load`` opens
it as a network) whose extras hold everything needed to continue bit for bit:
the optimizer's buffers (as tensors ``optimizer.*``) and, in the JSON
metadata under ``"checkpoint"``, the number of epochs done, the optimizer's
scalars, the schedule's state, the network generator's state and the history.
A run with early stopping adds the callback's progress under
``"early_stopping"``, its best parameters as the tensor
``early_stopping.best_theta``.
"""

from __future__ import annotations

import numpy as np

from ..errors import ConfigError, ModelFileError
from ..io import model_file as io
from ..optim.optimizers import flatten_state, unflatten_state
from .callbacks import Callback
from .history import History

PREFIX = "optimizer."
STOPPING_PREFIX = "early_stopping."


class CheckpointWriter(Callback):
    """Write a checkpoint to ``path`` (atomically) at the end of every epoch.

    Place it after ``early_stopping``, if any, so that each checkpoint holds that epoch's verdict.
    """

    def __init__(self, path, optimizer, schedule, history, early_stopping=None):
        self.path, self.optimizer, self.schedule, self.history = path, optimizer, schedule, history
        self.early_stopping = early_stopping

    def on_epoch_end(self, net, epoch, logs):
        save_checkpoint(self.path, net, self.optimizer, self.schedule, self.history, epochs_done=epoch + 1,
                        early_stopping=self.early_stopping)


def save_checkpoint(path, net, optimizer, schedule, history, epochs_done: int, early_stopping=None) -> None:
    """Save ``net`` with the optimizer, schedule, generator, history and early stopping needed to resume."""
    tensors, optimizer_meta = flatten_state(optimizer.state_dict(), prefix=PREFIX)
    state = {
        "epochs_done": epochs_done,
        "optimizer": optimizer_meta,
        "schedule": schedule.state_dict(),
        "rng": net.rng.bit_generator.state,
        "history": history.to_dict(),
    }
    if early_stopping is not None:
        stopping_tensors, state["early_stopping"] = flatten_state(early_stopping.state_dict(), prefix=STOPPING_PREFIX)
        tensors |= stopping_tensors
    io.save(net, path, tensors=tensors, metadata={"checkpoint": state})


def restore(path, net, optimizer, schedule):
    """Load a checkpoint into ``net``, ``optimizer`` and ``schedule``.

    Every field is checked before it is used: a missing, mistyped or
    out-of-range one raises :class:`ModelFileError` naming the checkpoint, the
    field, what was expected and what was found.

    Returns
    -------
    epochs_done : int
        The epoch to continue from.
    history : History
        The history so far, to be extended.
    early_stopping : dict or None
        The state for :meth:`EarlyStopping.load_state_dict`, or None if the
        run had no early stopping.

    Raises
    ------
    ModelFileError
        If the file is not a checkpoint, its network differs from ``net`` or
        a field of its training state is invalid.
    """
    saved = io.read(path)
    state = saved.metadata.get("checkpoint")
    if not isinstance(state, dict):
        raise ModelFileError(f"{path} is a model file without training state; resume needs a checkpoint "
                             "written by fit(..., checkpoint=...)")
    mine, theirs = _architecture(net.get_config()), _architecture(saved.network.get_config())
    if net.built and mine != theirs:
        raise ModelFileError(f"the checkpoint {path} holds a different network ({theirs}) from the one being "
                             f"trained ({mine})")
    theta = saved.network.theta
    missing = sorted({"epochs_done", "optimizer", "schedule", "rng", "history"} - set(state))
    if missing:
        raise ModelFileError(f"checkpoint {path}: the training state lacks the field(s) {', '.join(missing)}")
    epochs_done = state["epochs_done"]
    if isinstance(epochs_done, bool) or not isinstance(epochs_done, int) or epochs_done < 1:
        raise ModelFileError(f"checkpoint {path}: epochs_done must be an integer >= 1, received {epochs_done!r}")
    history = _history(path, state["history"], epochs_done)
    try:
        optimizer_state = unflatten_state(saved.tensors, state["optimizer"])
        _check_buffers(optimizer_state, theta)
        optimizer.load_state_dict(optimizer_state)
        schedule.load_state_dict(state["schedule"])
        stopping = state.get("early_stopping")
        if stopping is not None:
            stopping = unflatten_state(saved.tensors, stopping)
            _check_stopping(stopping, theta)
    except (ConfigError, ModelFileError) as exc:
        raise ModelFileError(f"checkpoint {path}: {exc}") from None
    if schedule.epoch != epochs_done:
        raise ModelFileError(f"checkpoint {path}: the schedule has stepped {schedule.epoch} epochs, but "
                             f"epochs_done is {epochs_done}")
    generator = type(net.rng.bit_generator)()
    try:
        generator.state = state["rng"]
    except (TypeError, ValueError, KeyError, OverflowError):
        raise ModelFileError(f"checkpoint {path}: rng must be the state of a NumPy {type(generator).__name__} "
                             f"generator, received {_brief(state['rng'])}") from None
    if not net.built:
        net.build(saved.network.input_shape, initialize=False)
    net.theta[...] = theta
    net.state[...] = saved.network.state
    net.classes = saved.network.classes
    optimizer.lr = schedule.lr
    net.rng.bit_generator.state = generator.state
    return epochs_done, history, stopping


def _brief(value, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "..."


def _history(path, data, epochs_done: int):
    """The saved history, after checking it holds one number per epoch done in every list."""
    if not isinstance(data, dict) or not all(isinstance(value, list) for value in data.values()):
        raise ModelFileError(f"checkpoint {path}: history must be a dict of lists, received {_brief(data)}")
    if data.get("epoch") != list(range(epochs_done)):
        raise ModelFileError(f"checkpoint {path}: history.epoch must be the epochs 0 to {epochs_done - 1}, "
                             f"received {_brief(data.get('epoch'))}")
    for key, values in data.items():
        if len(values) != epochs_done or not all(isinstance(v, (int, float)) and not isinstance(v, bool)
                                                 for v in values):
            raise ModelFileError(f"checkpoint {path}: history.{key} must hold {epochs_done} numbers (one per epoch "
                                 f"done), received {_brief(values)}")
    return History.from_dict(data)


def _check_buffers(state, theta) -> None:
    """Optimizer buffers must be floating-point arrays shaped like the parameters."""
    buffers = state.get("state") if isinstance(state, dict) else None
    if not isinstance(buffers, dict):
        return  # the optimizer's own check names what is wrong
    for name, arrays in buffers.items():
        if name != "theta":
            raise ConfigError(f"optimizer state holds buffers for {name!r}; expected only 'theta'")
        for buf, array in (arrays.items() if isinstance(arrays, dict) else ()):
            if isinstance(array, np.ndarray) and array.shape != theta.shape:
                raise ConfigError(f"optimizer state theta.{buf} must have the shape of the parameters, "
                                  f"{theta.shape}; received {array.shape}")


def _check_stopping(state, theta) -> None:
    """The fields of a saved EarlyStopping, before :meth:`EarlyStopping.load_state_dict` uses them."""
    if not isinstance(state, dict):
        return  # load_state_dict names what is wrong
    best = state.get("best")
    if isinstance(best, bool) or not (isinstance(best, (int, float)) or best in ("inf", "-inf")):
        raise ConfigError(f"early_stopping.best must be a number, received {_brief(best)}")
    for key in ("best_epoch", "stopped_epoch", "wait"):
        value = state.get(key)
        if (value is not None or key == "wait") and (isinstance(value, bool) or not isinstance(value, int)
                                                     or value < 0):
            raise ConfigError(f"early_stopping.{key} must be a non-negative integer"
                              f"{'' if key == 'wait' else ' or null'}, received {_brief(value)}")
    best_theta = state.get("best_theta")
    if best_theta is not None and (not isinstance(best_theta, np.ndarray) or best_theta.shape != theta.shape
                                   or best_theta.dtype.kind != "f"):
        found = f"{best_theta.dtype} {best_theta.shape}" if isinstance(best_theta, np.ndarray) else _brief(best_theta)
        raise ConfigError(f"early_stopping.best_theta must be a floating-point array of shape {theta.shape}, "
                          f"received {found}")


def _architecture(config: dict) -> dict:
    """What must match to resume: the layers (but not how they were initialised), loss, dtype and inputs."""
    layers = [{key: value for key, value in layer.items() if key != "init"} for layer in config["layers"]]
    return {"layers": layers, "loss": config["loss"], "dtype": config["dtype"]} | {
        key: config.get(key) for key in ("input_dim", "loss_args")}
