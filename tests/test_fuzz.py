"""Fuzzing: hostile bytes for every reader end in a result or a LayerwiseError, within a memory limit.

The library cases live in ``fuzz_worker.py`` and run in a subprocess whose
address space is limited to what it has mapped after its imports plus
``HEADROOM`` bytes, so an unguarded allocation fails there (``MemoryError``)
instead of taking the machine's memory, and a hang ends at the timeout. The
command-line cases run ``layerwise`` itself under the same kind of limit and
expect one ``layerwise: error:`` line and exit status 2.
"""

import json
import os
import resource
import subprocess
import sys
from pathlib import Path

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import layerwise as lw

WORKER = Path(__file__).with_name("fuzz_worker.py")
HEADROOM = 1_500_000_000
CLI_LIMIT = 3_000_000_000
ENV = {**os.environ, "PYTHONPATH": str(Path(lw.__file__).parents[1])}


FILE_CASES = ["fuzz_model_headers", "fuzz_tensor_table", "fuzz_model_metadata", "fuzz_csv", "fuzz_npy", "fuzz_npz",
              "fuzz_idx"]


def run_worker(cases):
    result = subprocess.run([sys.executable, str(WORKER), str(HEADROOM), *cases], capture_output=True, text=True,
                            timeout=540, env=ENV)
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-3000:]
    assert f"{len(cases)} of {len(cases)} fuzz cases held" in result.stdout


def test_every_file_reader_answers_hostile_bytes_with_a_result_or_a_layerwise_error():
    run_worker(FILE_CASES)


def test_checkpoint_fields_and_toml_values_are_checked():
    run_worker(["fuzz_checkpoints", "fuzz_toml"])


def limited():
    resource.setrlimit(resource.RLIMIT_AS, (CLI_LIMIT, CLI_LIMIT))


def layerwise(*args, cwd):
    return subprocess.run([sys.executable, "-m", "layerwise", *map(str, args)], capture_output=True, text=True,
                          timeout=120, preexec_fn=limited, env=ENV, cwd=cwd)


def assert_one_error_line(result):
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 2 and len(lines) == 1 and lines[0].startswith("layerwise: error: "), \
        (result.returncode, result.stderr[-3000:])


def model_bytes(tmp_path) -> bytes:
    lw.Network([lw.Dense(4), lw.Dense(3, "softmax")], input_dim=4, seed=0).save(tmp_path / "m.safetensors")
    return (tmp_path / "m.safetensors").read_bytes()


@settings(max_examples=3, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(cut=st.integers(1, 400), value=st.integers(0, 255), at=st.integers(0, 400))
def test_cli_info_on_damaged_model_files(tmp_path, cut, value, at):
    data = bytearray(model_bytes(tmp_path))
    data[at % len(data)] = value
    (tmp_path / "bad.safetensors").write_bytes(bytes(data[: len(data) - cut]))
    assert_one_error_line(layerwise("info", "bad.safetensors", cwd=tmp_path))


def test_cli_hostile_data_and_model_files(tmp_path):
    text = "{'descr': '<f8', 'fortran_order': False, 'shape': (100000000000, 3)}".ljust(70).encode()
    (tmp_path / "big.npy").write_bytes(b"\x93NUMPY\x01\x00" + len(text).to_bytes(2, "little") + text + bytes(64))
    assert_one_error_line(layerwise("train", "--data", "big.npy", "--epochs", "1", "--out", "r1", cwd=tmp_path))
    model = model_bytes(tmp_path)
    n = int.from_bytes(model[:8], "little")
    header = json.loads(model[8:8 + n])
    header["__metadata__"]["layerwise"] = "[" * 100_000 + "]" * 100_000
    text = json.dumps(header).encode()
    (tmp_path / "deep.safetensors").write_bytes(len(text).to_bytes(8, "little") + text + model[8 + n:])
    assert_one_error_line(layerwise("info", "deep.safetensors", cwd=tmp_path))
    np.save(tmp_path / "x.npy", np.zeros((3, 4)))
    (tmp_path / "x.npz").write_bytes(b"PK\x03\x04" + bytes(40))
    assert_one_error_line(layerwise("predict", "m.safetensors", "x.npz", cwd=tmp_path))
