"""Hostile model files and oversized networks: refused from the header, before anything large is allocated.

Cases that could hang (a FIFO) or allocate gigabytes run in a subprocess with
a timeout and an address-space limit, so that a regression fails the test
instead of hanging the suite or the machine.
"""

import json
import os
import resource
import subprocess
import sys
import tracemalloc
from pathlib import Path

import numpy as np
import pytest

import layerwise as lw
from layerwise.errors import ModelFileError, ResourceError
from layerwise.io import model_file as io

FIXTURES = Path(__file__).with_name("fixtures") / "v0_1_0"
MEMORY_LIMIT = 3 * 10**9  # bytes of address space for the subprocesses below


def small_net():
    return lw.Network([lw.Dense(16), lw.Dense(3, activation="softmax")], input_dim=4, seed=0)


def split(path):
    """The header document and the tensor data of a safetensors file."""
    data = Path(path).read_bytes()
    n = int.from_bytes(data[:8], "little")
    return json.loads(data[8:8 + n]), data[8 + n:]


def join(path, header, body):
    text = json.dumps(header).encode()
    Path(path).write_bytes(len(text).to_bytes(8, "little") + text + body)


def with_document(src, dst, change):
    header, body = split(src)
    document = json.loads(header["__metadata__"]["layerwise"])
    change(document)
    header["__metadata__"]["layerwise"] = json.dumps(document)
    join(dst, header, body)
    return dst


def peak_bytes_of(action):
    """Run ``action`` under tracemalloc; return (its exception, the peak of traced memory)."""
    tracemalloc.start()
    try:
        action()
    except lw.LayerwiseError as exc:
        caught = exc
    else:
        caught = None
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return caught, peak


def limited():
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))


def run_cli(*args, timeout=60, cwd=None):
    env = {**os.environ, "PYTHONPATH": str(Path(lw.__file__).parents[1])}
    return subprocess.run([sys.executable, "-m", "layerwise", *args], capture_output=True, text=True,
                          timeout=timeout, preexec_fn=limited, env=env, cwd=cwd)


def one_error_line(result) -> str:
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 2, result.stderr
    assert len(lines) == 1 and lines[0].startswith("layerwise: error: "), result.stderr
    return lines[0]


# ------------------------------------------------------------------ metadata that lies about the sizes
@pytest.mark.parametrize("change, expected", [
    (lambda d: (d["config"].update(input_dim=20000), d["config"]["layers"][0].update(units=20000)),
     r"W1 has shape \(16, 4\) in the file, the config expects \(20000, 20000\)"),
    (lambda d: d["config"]["layers"][0].update(units=10**9),
     r"W1 has shape \(16, 4\) in the file, the config expects \(1000000000, 4\)"),
    (lambda d: d["config"].update(input_dim=10**12),
     r"W1 has shape \(16, 4\) in the file, the config expects \(16, 1000000000000\)"),
    (lambda d: d["config"].update(input_dim=True), "input_dim must be a positive integer, received True"),
    (lambda d: d["config"]["layers"].insert(1, {"type": "Dense", "units": 10**9, "activation": "relu"}),
     r"missing parameter tensor\(s\) W3, b3; the config describes a network of 4 -> 16 -> 1000000000 -> 3"),
])
def test_metadata_is_checked_against_the_tensor_table_before_allocating(tmp_path, change, expected):
    small_net().save(tmp_path / "good.safetensors")
    path = with_document(tmp_path / "good.safetensors", tmp_path / "bad.safetensors", change)
    assert path.stat().st_size < 3000
    caught, peak = peak_bytes_of(lambda: io.read(path))
    assert isinstance(caught, ModelFileError)
    assert caught.args[0].count("\n") == 0
    assert __import__("re").search(expected, str(caught)), str(caught)
    assert peak < 1_000_000  # the network described (up to 4e12 values) is never built


def test_tensor_table_that_claims_more_than_the_file_holds(tmp_path):
    small_net().save(tmp_path / "good.safetensors")
    header, body = split(tmp_path / "good.safetensors")
    header["W1"]["shape"] = [10**6, 10**6]
    header["W1"]["data_offsets"][1] = header["W1"]["data_offsets"][0] + 4 * 10**12
    join(tmp_path / "bad.safetensors", header, body)
    caught, peak = peak_bytes_of(lambda: io.read(tmp_path / "bad.safetensors"))
    assert isinstance(caught, ModelFileError) and peak < 1_000_000
    assert "overlaps the tensor before it" in str(caught) or "truncated" in str(caught)


@pytest.mark.parametrize("edit, expected", [
    (lambda h: h["W1"].update(data_offsets=[0, 4]), r"spans 4 bytes, but shape \(16, 4\) of F32 needs 256"),
    (lambda h: h["W1"].update(shape=[16, -4]), "shape of at most 32 non-negative integers"),
    (lambda h: h["W1"].update(shape=[1] * 40), "shape of at most 32 non-negative integers"),
    (lambda h: h["W1"].update(data_offsets=["0", 256]), "no valid data_offsets"),
    (lambda h: h["W1"].update(dtype=7), "has no dtype string, received 7"),
    (lambda h: h.update(W1=[1, 2]), "must be a JSON object, received list"),
    (lambda h: h["__metadata__"].update(extra=3), "__metadata__ must map names to strings"),
])
def test_malformed_tensor_tables(tmp_path, edit, expected):
    small_net().save(tmp_path / "good.safetensors")
    header, body = split(tmp_path / "good.safetensors")
    edit(header)
    join(tmp_path / "bad.safetensors", header, body)
    with pytest.raises(ModelFileError, match=expected):
        io.read(tmp_path / "bad.safetensors")


def test_overlapping_and_gapped_byte_ranges(tmp_path):
    small_net().save(tmp_path / "good.safetensors")
    header, body = split(tmp_path / "good.safetensors")
    first, second = sorted((entry for name, entry in header.items() if name != "__metadata__"),
                           key=lambda entry: entry["data_offsets"][0])[:2]
    size = second["data_offsets"][1] - second["data_offsets"][0]
    second["data_offsets"] = [first["data_offsets"][0], first["data_offsets"][0] + size]
    join(tmp_path / "overlap.safetensors", header, body)
    with pytest.raises(ModelFileError, match="overlaps the tensor before it"):
        io.read(tmp_path / "overlap.safetensors")


def test_deeply_nested_header_json(tmp_path):
    text = b'{"a":' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    (tmp_path / "deep.safetensors").write_bytes(len(text).to_bytes(8, "little") + text)
    with pytest.raises(ModelFileError, match="nested too deeply"):
        io.read(tmp_path / "deep.safetensors")


# ------------------------------------------------------------------ files that are not regular files
def test_directory_device_and_sparse_file(tmp_path):
    with pytest.raises(ModelFileError, match="is a directory; expected a regular file"):
        io.read(tmp_path)
    (tmp_path / "zero.safetensors").symlink_to("/dev/zero")
    with pytest.raises(ModelFileError, match="is a character device; expected a regular file"):
        io.read(tmp_path / "zero.safetensors")
    sparse = tmp_path / "sparse.safetensors"
    with open(sparse, "wb") as handle:
        handle.truncate(2 * 10**9)  # 2 GB of holes, no disk used
    caught, peak = peak_bytes_of(lambda: io.read(sparse))
    assert isinstance(caught, ModelFileError) and "not a safetensors header" in str(caught)
    assert peak < 1_000_000


def test_a_fifo_is_refused_without_waiting_for_a_writer(tmp_path):
    fifo = tmp_path / "model.safetensors"
    os.mkfifo(fifo)
    result = run_cli("info", str(fifo), timeout=60)
    assert one_error_line(result) == f"layerwise: error: model file {fifo} is a FIFO (named pipe); expected a " \
                                     f"regular file (see 'layerwise info --help')"


def test_the_cli_answers_the_20000_by_20000_metadata_in_one_line(tmp_path):
    small_net().save(tmp_path / "good.safetensors")
    path = with_document(tmp_path / "good.safetensors", tmp_path / "big.safetensors",
                         lambda d: (d["config"].update(input_dim=20000),
                                    d["config"]["layers"][0].update(units=20000)))
    line = one_error_line(run_cli("info", str(path)))
    assert line.endswith("W1 has shape (16, 4) in the file, the config expects (20000, 20000) "
                         "(see 'layerwise info --help')")


# ------------------------------------------------------------------ networks too large for memory
def test_network_construction_says_how_much_memory_it_would_need():
    with pytest.raises(ResourceError) as info:
        lw.Network([lw.Dense(10**11), lw.Dense(3)], input_dim=4, dtype="float64")
    message = str(info.value)
    assert "a network of 4 -> 100000000000 -> 3 (800000000003 float64 values each)" in message
    # theta and dtheta (2 x 8 bytes per value: 12.8 TB) plus the float64 draw of W1 (8 x 4e11 bytes: 3.2 TB)
    assert "would need 16.0 TB of memory, but only" in message
    assert isinstance(info.value, MemoryError) and isinstance(info.value, lw.LayerwiseError)


@pytest.mark.parametrize("hidden, needed", [("100000000000", "9.6 TB"), ("50000,50000", "40.0 GB")])
def test_cli_train_refuses_a_network_that_cannot_fit(tmp_path, hidden, needed):
    # float32: 4 + 4 bytes per parameter for theta and dtheta, plus 8 per value of the largest weight matrix
    result = run_cli("train", "--data", "iris", "--hidden", hidden, "--epochs", "1", "--out", str(tmp_path / "r"))
    line = one_error_line(result)
    assert f"would need {needed} of memory, but only" in line
    assert not (tmp_path / "r").exists()


def test_an_honest_large_file_is_refused_when_its_network_cannot_fit(tmp_path):
    """A file whose header and config agree on 2e8 parameters, all zeros (a sparse file), under a 3 GB limit."""
    net = lw.Network([lw.Dense(1)], input_dim=1)
    net.save(tmp_path / "one.safetensors")
    header, _ = split(tmp_path / "one.safetensors")
    document = json.loads(header["__metadata__"]["layerwise"])
    document["config"]["input_dim"] = 2 * 10**8
    del document["tensors_sha256"]
    header["__metadata__"]["layerwise"] = json.dumps(document)
    header["W1"] = {"dtype": "F32", "shape": [1, 2 * 10**8], "data_offsets": [0, 8 * 10**8]}
    header["b1"] = {"dtype": "F32", "shape": [1], "data_offsets": [8 * 10**8, 8 * 10**8 + 4]}
    text = json.dumps(header).encode()
    path = tmp_path / "large.safetensors"
    with open(path, "wb") as handle:
        handle.write(len(text).to_bytes(8, "little") + text)
        handle.truncate(8 + len(text) + 8 * 10**8 + 4)
    line = one_error_line(run_cli("info", str(path)))
    # theta and dtheta (2 x 0.8 GB) and the float64 draw of W1 (1.6 GB)
    assert line.startswith(f"layerwise: error: loading {path} (a network of 200000000 -> 1 with 200000001 float32 "
                           f"parameters and their gradients, plus 0 bytes of other tensors) would need 3.2 GB of "
                           f"memory, but only")


# ------------------------------------------------------------------ integrity
def flip_a_tensor_byte(path, offset_in_data=5):
    data = bytearray(Path(path).read_bytes())
    n = int.from_bytes(data[:8], "little")
    data[8 + n + offset_in_data] ^= 0x10
    Path(path).write_bytes(bytes(data))


def test_a_flipped_tensor_byte_is_reported_as_corrupt(tmp_path):
    path = tmp_path / "m.safetensors"
    small_net().save(path)
    assert io.read(path).network.n_params == 4 * 16 + 16 + 16 * 3 + 3
    flip_a_tensor_byte(path)
    with pytest.raises(ModelFileError, match=r"is corrupt: the SHA-256 digest of its tensors is [0-9a-f]{64}, "
                                             r"but the file records [0-9a-f]{64}"):
        io.read(path)


def test_a_flip_that_makes_a_nan_is_reported_as_corrupt_not_as_divergence(tmp_path):
    net = lw.Network([lw.Dense(1, activation="identity")], input_dim=1, dtype="float32")
    path = tmp_path / "m.safetensors"
    io.save(net, path, tensors={"extra/x": np.ones(1, np.float32)})
    header, body = split(path)
    start = header["W1"]["data_offsets"][0]
    body = body[:start] + np.float32("nan").tobytes() + body[start + 4:]
    join(path, header, body)
    with pytest.raises(ModelFileError, match="is corrupt: the SHA-256 digest"):
        io.read(path)


def test_a_corrupt_checkpoint_is_not_resumed(tmp_path):
    X = np.random.default_rng(0).standard_normal((20, 4))
    y = np.arange(20) % 3
    small_net().fit(X, y, epochs=1, verbose=0, checkpoint=tmp_path / "c.safetensors")
    header, _ = split(tmp_path / "c.safetensors")
    flip_a_tensor_byte(tmp_path / "c.safetensors", header["optimizer.state.theta.exp_avg"]["data_offsets"][0] + 2)
    with pytest.raises(ModelFileError, match="is corrupt: the SHA-256 digest"):
        small_net().fit(X, y, epochs=2, verbose=0, resume_from=tmp_path / "c.safetensors")


def test_files_without_a_digest_still_load(tmp_path):
    for fixture in ("classifier_float32", "regressor_float64", "checkpoint_float64"):
        header, _ = split(FIXTURES / f"{fixture}.safetensors")
        document = json.loads(header["__metadata__"]["layerwise"])
        assert document["library_version"] == "0.1.0" and "tensors_sha256" not in document
        assert io.read(FIXTURES / f"{fixture}.safetensors").network.built
    path = with_document(FIXTURES / "classifier_float32.safetensors", tmp_path / "old.safetensors", lambda d: None)
    flip_a_tensor_byte(path)  # without a digest a changed value cannot be noticed: it loads as written
    changed = io.read(path).network
    original = io.read(FIXTURES / "classifier_float32.safetensors").network
    assert (changed.theta != original.theta).sum() == 1


def test_a_malformed_digest_is_corrupt(tmp_path):
    small_net().save(tmp_path / "good.safetensors")
    path = with_document(tmp_path / "good.safetensors", tmp_path / "bad.safetensors",
                         lambda d: d.update(tensors_sha256=12))
    with pytest.raises(ModelFileError, match="'tensors_sha256' must be 64 lowercase hexadecimal digits, received '12'"):
        io.read(path)
