"""The fused one-pass optimizer kernels give the NumPy form's parameters bit for bit."""

import os
import subprocess
import sys

import numpy as np
import pytest
from test_optim import CASES

from layerwise.optim import kernels as fused
from layerwise.optim.optimizers import get_optimizer

pytest.importorskip("numba")


def run_steps(name, kwargs, dtype, shape, enabled, monkeypatch, steps=12, order="C", lr_decay=0.97):
    """``steps`` updates of a parameter from a fixed start and gradient sequence; returns it and the state."""
    monkeypatch.setattr(fused, "ENABLED", enabled)
    rng = np.random.default_rng(7)
    param = np.array(rng.standard_normal(shape).astype(dtype), order=order)
    optimizer = get_optimizer(name, **kwargs)
    for _ in range(steps):
        grad = (rng.standard_normal(shape) * 10.0 ** rng.uniform(-3, 1)).astype(dtype)
        optimizer.step({"w": param}, {"dw": grad})
        optimizer.lr *= lr_decay
    return param, optimizer.state_dict()["state"]["w"]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(1,), (3, 7), (1031,)])
@pytest.mark.parametrize("case", CASES)
def test_fused_step_is_bit_identical_to_numpy_form(case, shape, dtype, monkeypatch):
    name, kwargs, _, _ = CASES[case]
    fused_param, fused_state = run_steps(name, kwargs, dtype, shape, True, monkeypatch)
    numpy_param, numpy_state = run_steps(name, kwargs, dtype, shape, False, monkeypatch)
    assert fused_param.dtype == dtype
    np.testing.assert_array_equal(fused_param, numpy_param)
    assert fused_state.keys() == numpy_state.keys()
    for buffer, array in fused_state.items():
        np.testing.assert_array_equal(array, numpy_state[buffer], err_msg=buffer)


def test_fortran_ordered_parameter_is_updated_in_place(monkeypatch):
    """A parameter whose memory is not C-ordered takes the NumPy form, with the same result."""
    expected, _ = run_steps("adam", {"amsgrad": True}, np.float64, (6, 5), False, monkeypatch)
    param, _ = run_steps("adam", {"amsgrad": True}, np.float64, (6, 5), True, monkeypatch, order="F")
    assert param.flags.f_contiguous and not param.flags.c_contiguous
    np.testing.assert_array_equal(param, expected)


def test_gradient_of_another_dtype_and_layout_is_read_correctly(monkeypatch):
    monkeypatch.setattr(fused, "ENABLED", True)
    rng = np.random.default_rng(0)
    start = rng.standard_normal((4, 6)).astype(np.float32)
    grad = rng.standard_normal((6, 4)).T
    results = []
    for g in (np.ascontiguousarray(grad, dtype=np.float32), grad):
        param = start.copy()
        get_optimizer("sgd", lr=0.1, momentum=0.9).step({"w": param}, {"dw": g})
        results.append(param)
    np.testing.assert_array_equal(results[0], results[1])
    assert not np.array_equal(results[0], start)


def test_environment_variable_turns_the_kernels_off():
    code = "import layerwise.optim.kernels as f; print(f.ENABLED)"
    env = {**os.environ, "LAYERWISE_NUMBA": "0"}
    off = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    env["LAYERWISE_NUMBA"] = "1"
    on = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert (off.stdout.strip(), on.stdout.strip()) == ("False", "True")
