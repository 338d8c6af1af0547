"""Learning-rate schedules against torch.optim.lr_scheduler, state round trips, validation."""

import json
import math

import pytest
import torch
from torch.optim import lr_scheduler

from layerwise.errors import ConfigError
from layerwise.optim.schedules import (
    Constant,
    CosineAnnealing,
    ReduceOnPlateau,
    StepDecay,
    get_schedule,
    schedule_from_state,
)

BASE_LR = 0.1
EPOCHS = 30

# A validation loss that falls, then plateaus with small wiggles, falls again and stalls.
METRICS = [1.0 / (1 + e) for e in range(8)] + [0.125, 0.1249, 0.126, 0.1251, 0.1252, 0.124, 0.12495, 0.1248] + \
    [0.1 - 0.01 * e for e in range(6)] + [0.051, 0.0502, 0.05, 0.0501, 0.05, 0.0499, 0.05, 0.0501, 0.05, 0.05]


def torch_lrs(make_scheduler, epochs, metrics=None):
    """The learning rate torch uses in each of ``epochs`` epochs."""
    param = torch.zeros(1, requires_grad=True)
    optimizer = torch.optim.SGD([param], lr=BASE_LR)
    scheduler = make_scheduler(optimizer)
    lrs = []
    for epoch in range(epochs):
        lrs.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step(metrics[epoch]) if metrics is not None else scheduler.step()
    return lrs


def our_lrs(schedule, epochs, metrics=None, total=None):
    lrs = [schedule.start(BASE_LR, epochs=total)]
    for epoch in range(epochs - 1):
        lrs.append(schedule.step(metrics[epoch] if metrics is not None else None))
    return lrs


TORCH_EQUIVALENTS = {
    "step": ({"step_size": 7, "gamma": 0.5}, lambda opt: lr_scheduler.StepLR(opt, step_size=7, gamma=0.5)),
    "exponential": ({"gamma": 0.9}, lambda opt: lr_scheduler.ExponentialLR(opt, gamma=0.9)),
    "cosine": ({"epochs": EPOCHS, "min_lr": 1e-3},
               lambda opt: lr_scheduler.CosineAnnealingLR(opt, T_max=EPOCHS, eta_min=1e-3)),
    "cosine_warmup": ({"epochs": EPOCHS, "warmup": 5, "min_lr": 1e-3, "warmup_start_factor": 0.2},
                      lambda opt: lr_scheduler.SequentialLR(opt, [
                          lr_scheduler.LinearLR(opt, start_factor=0.2, total_iters=5),
                          lr_scheduler.CosineAnnealingLR(opt, T_max=EPOCHS - 5, eta_min=1e-3)], milestones=[5])),
}


@pytest.mark.parametrize("case", TORCH_EQUIVALENTS)
def test_epoch_schedules_match_torch(case):
    kwargs, make = TORCH_EQUIVALENTS[case]
    ours = our_lrs(get_schedule(case.split("_")[0], **kwargs), EPOCHS + 1)
    expected = torch_lrs(make, EPOCHS + 1)
    assert ours == pytest.approx(expected, rel=1e-12, abs=1e-15)
    assert len(set(ours)) > 3


def test_cosine_reaches_min_lr_and_stays_there():
    schedule = CosineAnnealing(warmup=2, min_lr=0.01)
    lrs = our_lrs(schedule, 15, total=10)
    assert lrs[0] == pytest.approx(0.1 * BASE_LR)
    assert lrs[2] == BASE_LR
    assert lrs[10:] == [0.01] * 5
    assert all(a > b for a, b in zip(lrs[2:10], lrs[3:11]))


def test_constant_schedule_keeps_the_base_rate():
    assert our_lrs(get_schedule(None), 5) == [BASE_LR] * 5
    assert isinstance(get_schedule("Constant"), Constant)


PLATEAU_CASES = [
    {"patience": 2, "factor": 0.5},
    {"patience": 1, "factor": 0.3, "cooldown": 2, "threshold": 1e-2, "min_lr": 0.01},
    {"patience": 0, "factor": 0.5, "threshold": 1e-3, "threshold_mode": "abs", "min_lr": 0.004},
]


@pytest.mark.parametrize("kwargs", PLATEAU_CASES)
@pytest.mark.parametrize("mode", ["min", "max"])
def test_plateau_matches_torch(kwargs, mode):
    metrics = METRICS if mode == "min" else [1.0 - m for m in METRICS]
    expected = torch_lrs(lambda opt: lr_scheduler.ReduceLROnPlateau(opt, mode=mode, **kwargs), len(metrics),
                         metrics)
    ours = our_lrs(ReduceOnPlateau(mode=mode, **kwargs), len(metrics), metrics)
    assert ours == pytest.approx(expected, rel=1e-12)
    assert len(set(ours)) > 2


def test_plateau_treats_nan_as_no_improvement():
    schedule = ReduceOnPlateau(patience=0, factor=0.5)
    schedule.start(1.0)
    assert schedule.step(1.0) == 1.0
    assert schedule.step(float("nan")) == 0.5


SCHEDULE_CASES = [
    ("step", {"step_size": 4, "gamma": 0.5}, None),
    ("exponential", {"gamma": 0.8}, None),
    ("cosine", {"warmup": 3, "min_lr": 1e-4}, EPOCHS),
    ("plateau", {"patience": 1, "cooldown": 1, "factor": 0.5}, None),
]


@pytest.mark.parametrize("name,kwargs,total", SCHEDULE_CASES)
def test_state_round_trip_resumes_exactly(name, kwargs, total):
    straight = our_lrs(get_schedule(name, **kwargs), EPOCHS, METRICS, total=total)
    first = get_schedule(name, **kwargs)
    lrs = [first.start(BASE_LR, epochs=total)] + [first.step(METRICS[e]) for e in range(11)]
    resumed = schedule_from_state(json.loads(json.dumps(first.state_dict())))
    assert resumed.state_dict() == first.state_dict()
    lrs += [resumed.step(METRICS[e]) for e in range(11, EPOCHS - 1)]
    assert lrs == straight


@pytest.mark.parametrize(
    "name,kwargs,message",
    [
        ("step", {"step_size": 0}, "StepDecay: step_size must be a positive integer, received 0"),
        ("step", {"step_size": 2.5}, "step_size must be a positive integer, received 2.5 (float)"),
        ("step", {"gamma": 0}, "StepDecay: gamma must be a number in (0.0, 1.0], received 0"),
        ("exponential", {"gamma": 1.5}, "ExponentialDecay: gamma must be a number in (0.0, 1.0], received 1.5"),
        ("cosine", {"epochs": 10, "warmup": 10}, "warmup must be less than epochs (10), received 10"),
        ("cosine", {"min_lr": -1.0}, "min_lr must be a number in [0.0, inf), received -1.0"),
        ("cosine", {"warmup_start_factor": 0.0}, "warmup_start_factor must be a number in (0.0, 1.0], received 0.0"),
        ("plateau", {"mode": "lowest"}, "mode must be 'min' or 'max', received 'lowest'"),
        ("plateau", {"factor": 1.0}, "factor must be a number in (0.0, 1.0), received 1.0"),
        ("plateau", {"patience": -1}, "patience must be an integer in [0, inf), received -1"),
        ("plateau", {"threshold_mode": "pct"}, "threshold_mode must be 'rel' or 'abs', received 'pct'"),
        ("onecycle", {}, "unknown schedule 'onecycle'; expected one of constant, cosine, exponential, plateau, step"),
        ("step", {"T_max": 3}, "schedule 'step' got unexpected argument(s) T_max; accepted: step_size, gamma"),
        ("constant", {"gamma": 3}, "accepted: none"),
    ],
)
def test_invalid_arguments_raise_config_error(name, kwargs, message):
    with pytest.raises(ConfigError) as info:
        get_schedule(name, **kwargs)
    assert message in str(info.value)


def test_misuse_raises_config_error():
    with pytest.raises(ConfigError, match="call start\\(base_lr\\) before step\\(\\)"):
        StepDecay().step()
    with pytest.raises(ConfigError, match="number of epochs is unknown"):
        CosineAnnealing().start(0.1)
    with pytest.raises(ConfigError, match="warmup must be less than the number of epochs \\(4\\), received 4"):
        CosineAnnealing(warmup=4).start(0.1, epochs=4)
    with pytest.raises(ConfigError, match="min_lr must not exceed the base learning rate 0.1, received 0.5"):
        CosineAnnealing(min_lr=0.5).start(0.1, epochs=4)
    with pytest.raises(ConfigError, match="base_lr must be a number in \\(0.0, inf\\), received 0"):
        StepDecay().start(0)
    plateau = ReduceOnPlateau()
    plateau.start(0.1)
    with pytest.raises(ConfigError, match="needs the monitored metric of the epoch, received None"):
        plateau.step()
    with pytest.raises(ConfigError, match="the metric must be a number, received 'low'"):
        plateau.step("low")
    with pytest.raises(ConfigError, match="apply only to a schedule given by name"):
        get_schedule(StepDecay(), gamma=0.5)
    with pytest.raises(ConfigError, match="schedule state is for 'step', cannot load it into 'exponential'"):
        get_schedule("exponential").load_state_dict(StepDecay().state_dict())


def test_cosine_value_is_the_closed_form():
    schedule = CosineAnnealing(epochs=20, warmup=4, min_lr=0.0, warmup_start_factor=0.5)
    schedule.start(2.0)
    assert schedule.lr_at(2) == pytest.approx(2.0 * (0.5 + 0.5 * 2 / 4))
    assert schedule.lr_at(12) == pytest.approx(2.0 * (1 + math.cos(math.pi * 8 / 16)) / 2)
