"""Resuming from a checkpoint at every epoch boundary, with every schedule, and past the planned end."""

import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits
from torch.optim import lr_scheduler

import layerwise as lw
from layerwise.errors import ConfigError
from layerwise.optim.schedules import CosineAnnealing, ExponentialDecay, ReduceOnPlateau, StepDecay
from layerwise.train.callbacks import Callback

EPOCHS = 4
BASE_LR = 0.01
SCHEDULES = {
    "constant": lambda: None,
    "step": lambda: StepDecay(step_size=2, gamma=0.5),
    "exponential": lambda: ExponentialDecay(gamma=0.7),
    "cosine": lambda: "cosine",
    "cosine_warmup": lambda: CosineAnnealing(warmup=2, warmup_start_factor=0.5),
    "plateau": lambda: ReduceOnPlateau(patience=0, factor=0.5, threshold=0.5),
}


class StopAfter(Callback):
    """Interrupt a run after ``epochs`` epochs, as a crash after the checkpoint of that epoch would."""

    def __init__(self, epochs):
        self.epochs = epochs

    def on_epoch_end(self, net, epoch, logs):
        if epoch + 1 == self.epochs:
            net.stop_training = True


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return X[:120] / 16.0, y[:120]


def train(data, schedule, epochs, **kwargs):
    net = lw.Network([lw.Dense(8, "tanh"), lw.Dense(10, "softmax")], input_dim=64, seed=3)
    history = net.fit(*data, epochs=epochs, batch_size=32, optimizer="adam", lr=BASE_LR,
                      schedule=SCHEDULES[schedule](), verbose=0, **kwargs)
    return net, history


def torch_cosine_lrs(epochs, warmup=0, start_factor=0.1):
    """The rate of each epoch of a cosine schedule over ``epochs`` epochs, from torch.optim.lr_scheduler."""
    optimizer = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=BASE_LR)
    cosine = lr_scheduler.CosineAnnealingLR(optimizer, T_max=epochs - warmup, eta_min=0.0)
    scheduler = cosine if not warmup else lr_scheduler.SequentialLR(optimizer, [
        lr_scheduler.LinearLR(optimizer, start_factor=start_factor, total_iters=warmup), cosine], milestones=[warmup])
    lrs = []
    for _ in range(epochs):
        lrs.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    return lrs


@pytest.mark.parametrize("schedule", SCHEDULES)
def test_resume_at_every_epoch_boundary_equals_the_uninterrupted_run(digits, tmp_path, schedule):
    straight, expected = train(digits, schedule, EPOCHS)
    for done in range(1, EPOCHS + 1):
        path = tmp_path / f"after{done}.ckpt"
        train(digits, schedule, EPOCHS, checkpoint=path, callbacks=[StopAfter(done)])
        resumed, history = train(digits, schedule, EPOCHS, resume_from=path)
        np.testing.assert_array_equal(resumed.theta, straight.theta, err_msg=f"resumed after epoch {done}")
        assert history["lr"] == expected["lr"]
        assert history["loss"] == expected["loss"]


@pytest.mark.parametrize("schedule", SCHEDULES)
def test_a_finished_run_extends_past_its_planned_end(digits, tmp_path, schedule):
    path = tmp_path / "done.ckpt"
    first, planned = train(digits, schedule, EPOCHS, checkpoint=path)
    extended, history = train(digits, schedule, 2 * EPOCHS, resume_from=path)
    assert history.epoch == list(range(2 * EPOCHS))
    assert history["lr"][:EPOCHS] == planned["lr"]
    if schedule.startswith("cosine"):
        # the horizon moves to the new last epoch: the added epochs get the rates of a run planned that long
        warmup = 2 if schedule == "cosine_warmup" else 0
        reference = torch_cosine_lrs(2 * EPOCHS, warmup, start_factor=0.5)
        assert history["lr"][EPOCHS:] == pytest.approx(reference[EPOCHS:], rel=1e-12)
        assert history["lr"][:EPOCHS] == pytest.approx(torch_cosine_lrs(EPOCHS, warmup, 0.5), rel=1e-12)
        assert min(history["lr"]) > 0
    else:
        # the schedule does not depend on the run's length: the same as a run planned that long from the start
        straight, expected = train(digits, schedule, 2 * EPOCHS)
        np.testing.assert_array_equal(extended.theta, straight.theta)
        assert history["lr"] == expected["lr"]


def test_a_cosine_with_its_own_horizon_and_min_lr_0_refuses_epochs_past_it(digits, tmp_path):
    net = lw.Network([lw.Dense(10, "softmax")], input_dim=64)
    with pytest.raises(ConfigError, match="epochs 5 to 6 of the run would train at rate 0; give min_lr > 0"):
        net.fit(*digits, epochs=6, schedule=CosineAnnealing(epochs=4), verbose=0)
    history = net.fit(*digits, epochs=6, schedule=CosineAnnealing(epochs=4, min_lr=1e-4), verbose=0)
    assert history["lr"][4:] == [1e-4, 1e-4]


SCRIPT = shutil.which("layerwise", path=os.path.dirname(sys.executable)) or shutil.which("layerwise")
COMMAND = [SCRIPT] if SCRIPT else [sys.executable, "-m", "layerwise"]


def test_the_command_resumes_a_finished_cosine_run_with_more_epochs(tmp_path):
    """The report's case: 3 epochs of cosine, then the same with --epochs 6 and --resume."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}

    def run(*args):
        return subprocess.run([*COMMAND, "train", "--data", "iris", "--schedule", "cosine", *args], cwd=tmp_path,
                              env=env, capture_output=True, text=True, timeout=300)

    first = run("--epochs", "3", "--out", "c1")
    assert first.returncode == 0, first.stderr
    second = run("--epochs", "6", "--resume", "c1/checkpoint.safetensors", "--out", "c2")
    assert second.returncode == 0, second.stderr
    lrs = json.loads((tmp_path / "c2" / "history.json").read_text())["lr"]
    base = 1e-3  # Adam's default rate
    reference = [lr * base / BASE_LR for lr in torch_cosine_lrs(6)]
    assert lrs[:3] == pytest.approx([lr * base / BASE_LR for lr in torch_cosine_lrs(3)], rel=1e-6)
    assert lrs[3:] == pytest.approx(reference[3:], rel=1e-6)
