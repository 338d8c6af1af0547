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

from ..errors import ModelFileError
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
        If the file is not a checkpoint or its network differs from ``net``.
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
    if not net.built:
        net.build(saved.network.input_dim)
    net.theta[...] = saved.network.theta
    net.state[...] = saved.network.state
    net.classes = saved.network.classes
    optimizer.load_state_dict(unflatten_state(saved.tensors, state["optimizer"]))
    schedule.load_state_dict(state["schedule"])
    optimizer.lr = schedule.lr
    net.rng.bit_generator.state = state["rng"]
    stopping = state.get("early_stopping")
    if stopping is not None:
        stopping = unflatten_state(saved.tensors, stopping)
    return state["epochs_done"], History.from_dict(state["history"]), stopping


def _architecture(config: dict) -> dict:
    return {key: config[key] for key in ("layers", "loss", "dtype")} | {"input_dim": config.get("input_dim")}
