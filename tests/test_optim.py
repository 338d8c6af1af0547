"""Optimizers against torch.optim on identical gradient sequences, state round trips, validation.

Every test runs twice: with the fused one-pass kernels (when numba is
installed) and with the NumPy form of each step.
"""

import json

import numpy as np
import pytest
import torch
from safetensors.numpy import load as load_tensors
from safetensors.numpy import save as save_tensors

from layerwise.errors import ConfigError, DataError, LayerwiseError, ShapeError
from layerwise.optim import kernels as fused
from layerwise.optim.optimizers import (
    SGD,
    Adam,
    AdamW,
    RMSProp,
    clip_grad_norm,
    flatten_state,
    get_optimizer,
    optimizer_from_state,
    unflatten_state,
)

SHAPES = {"W1": (4, 3), "b1": (4,), "W2": (2, 4), "b2": (2,)}

CASES = {
    "sgd": ("sgd", {"lr": 0.1}, torch.optim.SGD, {"lr": 0.1}),
    "sgd_wd": ("sgd", {"lr": 0.1, "weight_decay": 0.05}, torch.optim.SGD, {"lr": 0.1, "weight_decay": 0.05}),
    "momentum": ("momentum", {"lr": 0.05}, torch.optim.SGD, {"lr": 0.05, "momentum": 0.9}),
    "nesterov_wd": ("sgd", {"lr": 0.05, "momentum": 0.8, "nesterov": True, "weight_decay": 0.01}, torch.optim.SGD,
                    {"lr": 0.05, "momentum": 0.8, "nesterov": True, "weight_decay": 0.01}),
    "rmsprop": ("rmsprop", {}, torch.optim.RMSprop, {}),
    "rmsprop_momentum": ("rmsprop", {"lr": 0.003, "momentum": 0.5}, torch.optim.RMSprop,
                         {"lr": 0.003, "momentum": 0.5}),
    "rmsprop_centered_wd": ("rmsprop", {"alpha": 0.9, "centered": True, "momentum": 0.3, "weight_decay": 0.02},
                            torch.optim.RMSprop, {"alpha": 0.9, "centered": True, "momentum": 0.3,
                                                  "weight_decay": 0.02}),
    "adam": ("adam", {}, torch.optim.Adam, {}),
    "adam_wd": ("adam", {"lr": 0.01, "betas": (0.8, 0.99), "weight_decay": 0.1}, torch.optim.Adam,
                {"lr": 0.01, "betas": (0.8, 0.99), "weight_decay": 0.1}),
    "amsgrad": ("adam", {"lr": 0.01, "amsgrad": True}, torch.optim.Adam, {"lr": 0.01, "amsgrad": True}),
    "adamw": ("adamw", {"lr": 0.01}, torch.optim.AdamW, {"lr": 0.01}),
    "adamw_amsgrad": ("adamw", {"lr": 0.01, "weight_decay": 0.1, "amsgrad": True}, torch.optim.AdamW,
                      {"lr": 0.01, "weight_decay": 0.1, "amsgrad": True}),
}


@pytest.fixture(autouse=True, params=["fused", "numpy"])
def step_form(request, monkeypatch):
    """Which form of the update rules a test exercises (see :mod:`layerwise.optim.kernels`)."""
    if request.param == "fused":
        pytest.importorskip("numba")
    monkeypatch.setattr(fused, "ENABLED", request.param == "fused")
    return request.param


def initial_params(dtype, seed=0):
    rng = np.random.default_rng(seed)
    return {name: rng.standard_normal(shape).astype(dtype) for name, shape in SHAPES.items()}


def gradient_sequence(steps, dtype, seed=1):
    """Random gradients whose scale drifts, so that moment estimates and bias corrections matter."""
    rng = np.random.default_rng(seed)
    return [{"d" + name: (rng.standard_normal(shape) * 10.0 ** rng.uniform(-2, 1)).astype(dtype)
             for name, shape in SHAPES.items()} for _ in range(steps)]


def run_layerwise(optimizer, params, grad_seq):
    for grads in grad_seq:
        optimizer.step(params, grads)
    return params


def run_torch(cls, kwargs, params, grad_seq):
    tensors = {name: torch.tensor(value.copy()) for name, value in params.items()}
    opt = cls(list(tensors.values()), **kwargs)
    for grads in grad_seq:
        for name, tensor in tensors.items():
            tensor.grad = torch.tensor(grads["d" + name])
        opt.step()
    return {name: tensor.numpy() for name, tensor in tensors.items()}


@pytest.mark.parametrize("case", CASES)
def test_matches_torch_in_float64(case):
    name, kwargs, torch_cls, torch_kwargs = CASES[case]
    start = initial_params(np.float64)
    grad_seq = gradient_sequence(50, np.float64)
    ours = run_layerwise(get_optimizer(name, **kwargs), {k: v.copy() for k, v in start.items()}, grad_seq)
    expected = run_torch(torch_cls, torch_kwargs, start, grad_seq)
    for key in SHAPES:
        assert not np.array_equal(ours[key], start[key])
        np.testing.assert_allclose(ours[key], expected[key], rtol=1e-10, atol=1e-12, err_msg=key)


@pytest.mark.parametrize("case", CASES)
def test_float32_stays_float32_and_tracks_torch(case):
    name, kwargs, torch_cls, torch_kwargs = CASES[case]
    start = initial_params(np.float32)
    grad_seq = gradient_sequence(20, np.float32)
    optimizer = get_optimizer(name, **kwargs)
    ours = run_layerwise(optimizer, {k: v.copy() for k, v in start.items()}, grad_seq)
    expected = run_torch(torch_cls, torch_kwargs, start, grad_seq)
    for key in SHAPES:
        assert ours[key].dtype == np.float32
        np.testing.assert_allclose(ours[key], expected[key], rtol=1e-4, atol=1e-5, err_msg=key)
    for buffers in optimizer.state_dict()["state"].values():
        assert all(array.dtype == np.float32 for array in buffers.values())


@pytest.mark.parametrize("case", CASES)
def test_flat_buffer_and_dict_of_arrays_give_identical_updates(case):
    name, kwargs, _, _ = CASES[case]
    start = initial_params(np.float64)
    grad_seq = gradient_sequence(10, np.float64)
    by_name = run_layerwise(get_optimizer(name, **kwargs), {k: v.copy() for k, v in start.items()}, grad_seq)
    theta = np.concatenate([v.ravel() for v in start.values()])
    flat_grads = [{"dtheta": np.concatenate([g["d" + k].ravel() for k in SHAPES])} for g in grad_seq]
    flat = run_layerwise(get_optimizer(name, **kwargs), {"theta": theta}, flat_grads)["theta"]
    np.testing.assert_array_equal(flat, np.concatenate([v.ravel() for v in by_name.values()]))


@pytest.mark.parametrize("case", CASES)
def test_step_leaves_gradients_untouched(case):
    name, kwargs, _, _ = CASES[case]
    grads = gradient_sequence(1, np.float64)[0]
    before = {k: v.copy() for k, v in grads.items()}
    optimizer = get_optimizer(name, **kwargs)
    params = initial_params(np.float64)
    optimizer.step(params, grads)
    optimizer.step(params, grads)
    for key, value in grads.items():
        np.testing.assert_array_equal(value, before[key])


@pytest.mark.parametrize("case", CASES)
def test_state_round_trip_resumes_bit_identically(case):
    name, kwargs, _, _ = CASES[case]
    grad_seq = gradient_sequence(50, np.float32)
    straight = get_optimizer(name, **kwargs)
    expected = initial_params(np.float32)
    for i, grads in enumerate(grad_seq):
        straight.lr = straight.lr * 0.98 if i >= 10 else straight.lr
        straight.step(expected, grads)

    first = get_optimizer(name, **kwargs)
    params = initial_params(np.float32)
    for i, grads in enumerate(grad_seq[:25]):
        first.lr = first.lr * 0.98 if i >= 10 else first.lr
        first.step(params, grads)
    tensors, meta = flatten_state(first.state_dict(), prefix="optimizer.")
    assert all(key.startswith("optimizer.state.") for key in tensors)
    tensors = load_tensors(save_tensors(tensors))
    meta = json.loads(json.dumps(meta))
    resumed = optimizer_from_state(unflatten_state(tensors, meta))
    assert type(resumed) is type(first) and resumed.steps == 25 and resumed.lr == first.lr
    for grads in grad_seq[25:]:
        resumed.lr = resumed.lr * 0.98
        resumed.step(params, grads)
    for key in SHAPES:
        np.testing.assert_array_equal(params[key], expected[key], err_msg=key)


def test_state_dict_layout_names_torch_buffers():
    optimizer = Adam(amsgrad=True)
    params = {"theta": np.zeros(5, dtype=np.float32)}
    optimizer.step(params, {"dtheta": np.ones(5, dtype=np.float32)})
    state = optimizer.state_dict()
    assert state["name"] == "adam" and state["step"] == 1
    assert state["hyper"] == {"lr": 1e-3, "betas": [0.9, 0.999], "eps": 1e-8, "weight_decay": 0.0, "amsgrad": True}
    assert set(state["state"]["theta"]) == {"exp_avg", "exp_avg_sq", "max_exp_avg_sq"}
    np.testing.assert_allclose(state["state"]["theta"]["exp_avg"], 0.1, rtol=1e-6)
    state["state"]["theta"]["exp_avg"][:] = 7.0
    assert optimizer.state_dict()["state"]["theta"]["exp_avg"][0] != 7.0


@pytest.mark.parametrize(
    "name,cls",
    [("sgd", torch.optim.SGD), ("rmsprop", torch.optim.RMSprop), ("adam", torch.optim.Adam),
     ("adamw", torch.optim.AdamW)],
)
def test_defaults_match_torch(name, cls):
    ours = get_optimizer(name).hyperparameters()
    theirs = cls([torch.zeros(1, requires_grad=True)]).defaults
    if name == "sgd":
        theirs["lr"] = 0.01
    for key, value in ours.items():
        assert theirs[key] == (tuple(value) if isinstance(value, list) else value), key


def test_shorthand_names_configure_sgd():
    momentum, nesterov = get_optimizer("momentum"), get_optimizer("Nesterov", lr=0.1)
    assert isinstance(momentum, SGD) and momentum.momentum == 0.9 and not momentum.nesterov
    assert nesterov.nesterov and nesterov.lr == 0.1
    opt = AdamW()
    assert get_optimizer(opt) is opt


@pytest.mark.parametrize(
    "name,kwargs,message",
    [
        ("adam", {"lr": 0}, "Adam: lr must be a number in (0.0, inf), received 0"),
        ("sgd", {"lr": -0.1}, "SGD: lr must be a number in (0.0, inf), received -0.1"),
        ("adam", {"lr": "fast"}, "received 'fast' (str)"),
        ("adam", {"lr": float("nan")}, "received nan"),
        ("sgd", {"momentum": 1.0}, "momentum must be a number in [0.0, 1.0), received 1.0"),
        ("rmsprop", {"momentum": -0.5}, "RMSProp: momentum must be a number in [0.0, 1.0)"),
        ("adam", {"betas": (0.9, 1.0)}, "Adam: betas[1] must be a number in [0.0, 1.0), received 1.0"),
        ("adamw", {"betas": 0.9}, "AdamW: betas must be a pair (beta1, beta2), received 0.9"),
        ("adam", {"eps": 0.0}, "eps must be a number in (0.0, inf), received 0.0"),
        ("adamw", {"weight_decay": -1e-4}, "AdamW: weight_decay must be a number in [0.0, inf), received -0.0001"),
        ("sgd", {"nesterov": True}, "nesterov=True requires momentum > 0"),
        ("rmsprop", {"alpha": 1.5}, "alpha must be a number in [0.0, 1.0), received 1.5"),
        ("adam", {"amsgrad": "yes"}, "amsgrad must be True or False, received 'yes'"),
        ("lion", {}, "unknown optimizer 'lion'; expected one of adam, adamw, momentum, nesterov, rmsprop, sgd"),
        (3, {}, "unknown optimizer 3"),
        ("sgd", {"betas": (0.9, 0.99)}, "unexpected argument(s) betas; accepted: lr, momentum, nesterov, weight_decay"),
    ],
)
def test_invalid_arguments_raise_config_error(name, kwargs, message):
    with pytest.raises(ConfigError) as info:
        get_optimizer(name, **kwargs)
    assert message in str(info.value)


def test_instance_with_arguments_is_rejected():
    with pytest.raises(ConfigError, match="apply only to an optimizer given by name"):
        get_optimizer(Adam(), lr=0.1)


def test_lr_attribute_accepts_zero_rejects_negative():
    opt = SGD(lr=0.5)
    opt.lr = 0.0
    params = {"w": np.ones(3)}
    opt.step(params, {"dw": np.ones(3)})
    np.testing.assert_array_equal(params["w"], 1.0)
    with pytest.raises(ConfigError, match="lr must be a number in \\[0.0, inf\\), received -1"):
        opt.lr = -1


def test_step_reports_missing_and_mismatched_gradients():
    opt = Adam()
    with pytest.raises(DataError, match="no gradient 'dW1' for parameter 'W1'; received gradients \\['dW2'\\]"):
        opt.step({"W1": np.zeros(3)}, {"dW2": np.zeros(3)})
    with pytest.raises(ShapeError, match=r"gradient 'dW1' must have the shape of 'W1', \(3,\); received \(1,\)"):
        opt.step({"W1": np.zeros(3)}, {"dW1": np.zeros(1)})
    with pytest.raises(DataError, match="must be a floating-point NumPy array"):
        opt.step({"W1": np.zeros(3, dtype=int)}, {"dW1": np.zeros(3)})


def test_loading_mismatched_state_raises():
    params = {"theta": np.zeros(4)}
    opt = SGD(momentum=0.9)
    opt.step(params, {"dtheta": np.ones(4)})
    state = opt.state_dict()
    with pytest.raises(ConfigError, match="state is for 'sgd', cannot load it into 'adam'"):
        Adam().load_state_dict(state)
    with pytest.raises(ConfigError, match="must hold buffers \\[\\]; received \\['momentum_buffer'\\]"):
        SGD().load_state_dict({**state, "hyper": {**state["hyper"], "momentum": 0.0}})
    resumed = optimizer_from_state(state)
    with pytest.raises(ShapeError, match=r"theta.momentum_buffer must have the shape of 'theta', \(5,\); received"):
        resumed.step({"theta": np.zeros(5)}, {"dtheta": np.zeros(5)})
    resumed = optimizer_from_state(state)
    with pytest.raises(ConfigError, match="holds parameters \\['theta'\\]; step\\(\\) received 'W1'"):
        resumed.step({"W1": np.zeros(4)}, {"dW1": np.zeros(4)})
    with pytest.raises(ConfigError, match="must name one of adam, adamw, rmsprop, sgd; received 'lbfgs'"):
        optimizer_from_state({"name": "lbfgs"})


def test_unflatten_reports_missing_tensor():
    opt = RMSProp()
    opt.step({"w": np.zeros(2)}, {"dw": np.ones(2)})
    tensors, meta = flatten_state(opt.state_dict())
    tensors.pop("state.w.square_avg")
    with pytest.raises(LayerwiseError, match="refers to tensor 'state.w.square_avg'"):
        unflatten_state(tensors, meta)


@pytest.mark.parametrize("max_norm", [0.5, 3.0, 1e3])
def test_clip_grad_norm_matches_torch(max_norm):
    rng = np.random.default_rng(3)
    grads = {"dW1": rng.standard_normal((5, 4)), "db1": rng.standard_normal(5), "dW2": rng.standard_normal((2, 5))}
    tensors = []
    for value in grads.values():
        tensor = torch.zeros(value.shape, dtype=torch.float64, requires_grad=True)
        tensor.grad = torch.tensor(value.copy())
        tensors.append(tensor)
    expected_norm = torch.nn.utils.clip_grad_norm_(tensors, max_norm).item()
    norm = clip_grad_norm(grads, max_norm)
    assert norm == pytest.approx(expected_norm, rel=1e-13)
    for value, tensor in zip(grads.values(), tensors):
        np.testing.assert_allclose(value, tensor.grad.numpy(), rtol=1e-13)


def test_clip_grad_norm_on_float32_list_in_place():
    rng = np.random.default_rng(4)
    theta_grad = rng.standard_normal(1000).astype(np.float32)
    before = np.linalg.norm(theta_grad.astype(np.float64))
    assert clip_grad_norm([theta_grad], 1.0) == pytest.approx(before, rel=1e-5)
    assert theta_grad.dtype == np.float32
    assert np.linalg.norm(theta_grad.astype(np.float64)) == pytest.approx(1.0, rel=1e-5)
    with pytest.raises(ConfigError, match="max_norm must be a number in \\(0.0, inf\\), received 0"):
        clip_grad_norm([theta_grad], 0)
