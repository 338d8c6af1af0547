import hashlib
import importlib.util
import json
import os
import pickle
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import safetensors.numpy
from safetensors import safe_open

import layerwise as lw
from layerwise.errors import ConfigError, DataError, ModelFileError
from layerwise.io import model_file as io

WORKER = Path(__file__).with_name("_save_worker.py")


def randomized(net, seed=0):
    """Give every parameter, biases included, a distinct random value."""
    net.theta[...] = np.random.default_rng(seed).standard_normal(net.theta.size)
    return net


def classifier(dtype="float32", classes=None):
    net = lw.Network([lw.Dense(8, activation="tanh"), lw.Dense(3, activation="softmax")], input_dim=4, seed=0,
                     dtype=dtype)
    net.classes = classes
    return randomized(net)


ARCHITECTURES = {
    "softmax-dropout-string-classes-float32": lambda: classifier("float32", ["cat", "dog", "emu"]),
    "softmax-input-dropout-float64": lambda: randomized(lw.Network(
        [lw.Dropout(0.1), lw.Dense(6, "relu"), lw.Dropout(0.5), lw.Dense(4, "softmax")], input_dim=5, seed=3,
        dtype="float64")),
    "sigmoid-int-classes-float64": lambda: _with_classes(randomized(lw.Network(
        [lw.Dense(7, "elu"), lw.Dense(1, "sigmoid")], input_dim=5, seed=1, dtype="float64")),
        list(np.array([3, 7]))),
    "multilabel-sigmoid-float32": lambda: randomized(lw.Network(
        [lw.Dense(5, "gelu"), lw.Dense(3, "sigmoid")], input_dim=5, seed=2, dtype="float32")),
    "regression-mse-l2-float64": lambda: randomized(lw.Network(
        [lw.Dense(9, "silu"), lw.Dropout(0.2), lw.Dense(4, "leaky_relu"), lw.Dense(2, "identity")],
        input_dim=5, seed=4, dtype="float64", l2=0.01)),
    "regression-huber-float32": lambda: randomized(lw.Network(
        [lw.Dense(4, "selu"), lw.Dense(1, "identity")], loss="huber", input_dim=5, seed=5, dtype="float32")),
    "softmax-float-classes": lambda: classifier("float64", [0.5, 1.5, 2.5]),
}


def _with_classes(net, classes):
    net.classes = classes
    return net


def temporaries(directory):
    return sorted(p.name for p in Path(directory).iterdir() if io.TEMP_MARKER in p.name)


# ------------------------------------------------------------------ round trip
@pytest.mark.parametrize("name", ARCHITECTURES)
def test_round_trip_is_bit_identical(tmp_path, name):
    net = ARCHITECTURES[name]()
    path = tmp_path / "model.safetensors"
    net.save(path)
    loaded = io.load(str(path))
    assert loaded.get_config() == net.get_config()
    assert loaded.theta.dtype == net.theta.dtype
    assert loaded.theta.tobytes() == net.theta.tobytes()
    for key, value in loaded.params.items():
        assert np.shares_memory(value, loaded.theta), f"{key} is not a view into the flat buffer"
    X = np.random.default_rng(9).standard_normal((25, net.input_dim))
    proba, proba_loaded = net.predict_proba(X), loaded.predict_proba(X)
    assert proba_loaded.dtype == proba.dtype and proba_loaded.tobytes() == proba.tobytes()
    predicted, predicted_loaded = net.predict(X), loaded.predict(X)
    assert predicted_loaded.dtype == predicted.dtype
    np.testing.assert_array_equal(predicted_loaded, predicted)
    assert temporaries(tmp_path) == []


def test_loaded_network_trains_like_the_original(tmp_path):
    net = classifier("float64")
    net.save(tmp_path / "m.safetensors")
    twin = io.load(tmp_path / "m.safetensors")
    X = np.random.default_rng(0).standard_normal((10, 4))
    y = np.arange(10) % 3
    g, g_twin = net.backward(net.forward(X)[1], y), twin.backward(twin.forward(X)[1], y)
    for key in ("dW1", "db1", "dW2", "db2"):
        np.testing.assert_array_equal(g_twin[key], g[key])


def test_extra_tensors_and_metadata_round_trip(tmp_path):
    net = classifier(classes=["a", "b", "c"])
    rng = np.random.default_rng(1)
    extras = {
        "optimizer/theta/exp_avg": rng.standard_normal(net.n_params).astype(np.float32),
        "scaler/mean": rng.standard_normal(4),
        "step": np.array(17, dtype=np.int64),
        "mask": np.array([True, False, True]),
        "transposed": np.arange(12.0).reshape(3, 4).T,
    }
    metadata = {"epoch": 3, "history": {"loss": [1.25, np.float32(0.5)], "val_loss": [float("inf")]},
                "rng": net.rng.bit_generator.state, "note": "unicode ok: \u00e9\u4e2d"}
    path = tmp_path / "ckpt.safetensors"
    io.save(net, path, tensors=extras, metadata=metadata)
    model = io.read(path)
    assert model.format_version == io.DENSE_FORMAT_VERSION == 1  # readable by 0.1.0
    assert model.library_version == lw.__version__
    assert set(model.tensors) == set(extras)
    for key, value in extras.items():
        assert model.tensors[key].dtype == value.dtype and model.tensors[key].shape == value.shape
        np.testing.assert_array_equal(model.tensors[key], value)
    assert model.metadata == {**metadata, "history": {"loss": [1.25, 0.5], "val_loss": [float("inf")]}}
    restored = np.random.default_rng()
    restored.bit_generator.state = model.metadata["rng"]
    assert restored.random() == net.rng.random()
    assert model.network.theta.tobytes() == net.theta.tobytes()
    model.tensors["scaler/mean"][0] = 99.0  # returned arrays are the caller's own


def test_file_layout_as_seen_by_a_plain_safetensors_reader(tmp_path):
    net = classifier(classes=["x", "y", "z"])
    path = tmp_path / "m.safetensors"
    io.save(net, path, tensors={"scaler/mean": np.zeros(4)}, metadata={"epoch": 2})
    with safe_open(path, framework="np") as handle:
        assert set(handle.keys()) == {"W1", "b1", "W2", "b2", "scaler/mean"}
        for key, value in net.params.items():
            stored = handle.get_tensor(key)
            assert stored.dtype == np.float32
            np.testing.assert_array_equal(stored, value)
        metadata = handle.metadata()
        stored = {key: handle.get_tensor(key) for key in handle.keys()}
    assert set(metadata) == {"layerwise"}
    document = json.loads(metadata["layerwise"])
    digest = hashlib.sha256()  # the documented recipe, from what a plain reader sees
    for key in sorted(stored):
        code = {"float32": "F32", "float64": "F64"}[stored[key].dtype.name]
        digest.update(f"{key}\0{code}\0{','.join(map(str, stored[key].shape))}\0".encode())
        digest.update(stored[key].astype(stored[key].dtype.newbyteorder("<")).tobytes())
    summary = document.pop("summary")
    assert document == {"format": "layerwise", "format_version": 1, "library_version": lw.__version__,
                        "config": net.get_config(), "extra": {"epoch": 2}, "tensors_sha256": digest.hexdigest()}
    assert summary["parameters"] == net.n_params and [layer["tensors"] for layer in summary["layers"]] == [
        {"W1": list(net.params["W1"].shape), "b1": list(net.params["b1"].shape)},
        {"W2": list(net.params["W2"].shape), "b2": list(net.params["b2"].shape)}]
    assert document["config"]["classes"] == ["x", "y", "z"]
    assert document["config"]["dtype"] == "float32"


def test_save_replaces_an_existing_file(tmp_path):
    path = tmp_path / "m.safetensors"
    first = classifier()
    first.save(path)
    second = randomized(classifier(), seed=5)
    second.save(path)
    assert io.load(path).theta.tobytes() == second.theta.tobytes()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.safetensors"]


# ----------------------------------------------------------------- save errors
def test_save_refuses_an_unbuilt_network(tmp_path):
    net = lw.Network([lw.Dense(3, "softmax")])
    with pytest.raises(ConfigError, match="not built"):
        io.save(net, tmp_path / "m.safetensors")
    with pytest.raises(ConfigError, match="expects a Network"):
        io.save({"W1": np.zeros(2)}, tmp_path / "m.safetensors")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("name, value, message", [
    ("W1", np.zeros((8, 4)), "reserved for network parameters"),
    ("b7", np.zeros(3), "reserved for network parameters"),
    ("", np.zeros(3), "non-empty strings"),
    ("__metadata__", np.zeros(3), "non-empty strings"),
    (3, np.zeros(3), "non-empty strings"),
    ("labels", np.array(["a", "b"]), "dtypes"),
    ("things", np.array([object()]), "dtypes"),
    ("complex", np.zeros(2, dtype=complex), "dtypes"),
])
def test_save_refuses_bad_extra_tensors(tmp_path, name, value, message):
    with pytest.raises(ConfigError, match=message):
        io.save(classifier(), tmp_path / "m.safetensors", tensors={name: value})
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("metadata", [{"x": {1, 2}}, {"x": object()}, {"x": np.zeros(2)}, ["not", "a dict"]])
def test_save_refuses_metadata_that_is_not_json(tmp_path, metadata):
    with pytest.raises(ConfigError, match="JSON-compatible|must be a dict"):
        io.save(classifier(), tmp_path / "m.safetensors", metadata=metadata)
    assert list(tmp_path.iterdir()) == []


def test_save_refuses_non_finite_parameters_and_inconsistent_classes(tmp_path):
    net = classifier()
    net.params["b2"][1] = np.nan
    with pytest.raises(DataError, match="b2 contains 1 NaN"):
        net.save(tmp_path / "m.safetensors")
    with pytest.raises(ConfigError, match="2 class label.* of 3 unit"):
        classifier(classes=["a", "b"]).save(tmp_path / "m.safetensors")
    assert list(tmp_path.iterdir()) == []


def test_save_reports_bad_destinations(tmp_path):
    net = classifier()
    with pytest.raises(ModelFileError, match="does not exist; create it first"):
        net.save(tmp_path / "missing" / "m.safetensors")
    assert not (tmp_path / "missing").exists()
    (tmp_path / "file.txt").write_text("x")
    with pytest.raises(ModelFileError, match="is not a directory"):
        net.save(tmp_path / "file.txt" / "m.safetensors")
    with pytest.raises(ModelFileError, match="is a directory"):
        net.save(tmp_path)
    with pytest.raises(ConfigError, match="path must be a str or os.PathLike, received int"):
        net.save(123)


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="needs POSIX permissions and a non-root user")
def test_save_reports_an_unwritable_directory(tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    try:
        with pytest.raises(ModelFileError, match="cannot create a file"):
            classifier().save(locked / "m.safetensors")
    finally:
        locked.chmod(0o700)


@pytest.mark.skipif(not hasattr(signal, "SIGXFSZ"), reason="needs RLIMIT_FSIZE")
def test_failed_write_keeps_the_old_file_and_removes_the_temporary(tmp_path):
    import resource

    path = tmp_path / "m.safetensors"
    old = classifier()
    old.save(path)
    before = path.read_bytes()
    big = randomized(lw.Network([lw.Dense(300, "relu"), lw.Dense(2, "softmax")], input_dim=1000, seed=0))
    limits = resource.getrlimit(resource.RLIMIT_FSIZE)
    handler = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (100_000, limits[1]))
    try:
        with pytest.raises(ModelFileError, match="could not write .* the previous file, if any, is unchanged"):
            big.save(path)
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, limits)
        signal.signal(signal.SIGXFSZ, handler)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.safetensors"]


# ----------------------------------------------------------------- load errors
def good_parts(net=None):
    """The tensors and the layerwise document of a valid file, for crafting bad ones."""
    net = net or classifier()
    tensors = {key: value.copy() for key, value in net.params.items()}
    document = {"format": "layerwise", "format_version": 1, "library_version": "0.1.0",
                "config": net.get_config(), "extra": {}}
    return tensors, document


def craft(path, tensors, document=None, metadata=None):
    if document is not None:
        metadata = {"layerwise": document if isinstance(document, str) else json.dumps(document)}
    path.write_bytes(safetensors.numpy.save(tensors, metadata=metadata))
    return path


def test_crafted_file_with_good_parts_loads(tmp_path):
    net = classifier()
    path = craft(tmp_path / "m.safetensors", *good_parts(net))
    assert io.load(path).theta.tobytes() == net.theta.tobytes()


def test_missing_file_and_directory(tmp_path):
    with pytest.raises(ModelFileError, match=r"model file .*nope\.safetensors does not exist"):
        io.load(tmp_path / "nope.safetensors")
    with pytest.raises(ModelFileError, match="is a directory; expected a regular file"):
        io.load(tmp_path)


def test_empty_file(tmp_path):
    (tmp_path / "m.safetensors").write_bytes(b"")
    with pytest.raises(ModelFileError, match=r"is empty \(0 bytes\)"):
        io.load(tmp_path / "m.safetensors")


def test_truncated_files_are_detected_at_every_cut(tmp_path):
    path = tmp_path / "m.safetensors"
    classifier().save(path)
    data = path.read_bytes()
    header_end = 8 + int.from_bytes(data[:8], "little")
    cuts = {1, 7, 8, 9, 40, header_end - 1, header_end, header_end + 1, header_end + 50, len(data) - 1}
    cuts |= set(np.random.default_rng(0).integers(1, len(data), size=20).tolist())
    for cut in sorted(cuts):
        path.write_bytes(data[:cut])
        with pytest.raises(ModelFileError, match="truncated") as info:
            io.load(path)
        assert str(path) in str(info.value)


def test_random_bytes_are_not_a_model(tmp_path):
    rng = np.random.default_rng(0)
    for size in (8, 100, 5000):
        path = tmp_path / f"random{size}.bin"
        data = rng.bytes(size)
        path.write_bytes(data if data[8:9] != b"{" else b"x" + data[1:])
        with pytest.raises(ModelFileError, match="not a layerwise model file|truncated"):
            io.load(path)
    (tmp_path / "text.txt").write_text("W1,b1\n1,2\n" * 50)
    with pytest.raises(ModelFileError, match=r"not in safetensors format: the first bytes are not a safetensors"):
        io.load(tmp_path / "text.txt")


def test_trailing_bytes_and_broken_header_json(tmp_path):
    path = tmp_path / "m.safetensors"
    classifier().save(path)
    data = path.read_bytes()
    path.write_bytes(data + b"\x00" * 16)
    with pytest.raises(ModelFileError, match="16 unexpected bytes follow the tensor data"):
        io.load(path)
    header_end = 8 + int.from_bytes(data[:8], "little")
    path.write_bytes(data[:header_end - 3] + b"@@@" + data[header_end:])
    with pytest.raises(ModelFileError, match="header is not valid JSON"):
        io.load(path)


def break_document(key, value):
    def mutate(tensors, document):
        if value is _DELETE:
            del document[key]
        else:
            document[key] = value
    return mutate


def break_config(key, value):
    def mutate(tensors, document):
        if value is _DELETE:
            del document["config"][key]
        else:
            document["config"][key] = value
    return mutate


_DELETE = object()


def set_tensor(name, value):
    def mutate(tensors, document):
        if value is _DELETE:
            del tensors[name]
        else:
            tensors[name] = value
    return mutate


def nan_in_w1(tensors, document):
    tensors["W1"][2, 1] = np.inf


def unknown_activation(tensors, document):
    document["config"]["layers"][0]["activation"] = "swishy"


@pytest.mark.parametrize("mutate, message", [
    (break_document("format", "other"), r"not a layerwise model file: its metadata format is 'other'"),
    (break_document("format_version", 3), r"was written by a newer layerwise \(format 3, layerwise 0\.1\.0\); "
                                          r"this version reads format 2; upgrade layerwise"),
    (break_document("format_version", "1"), "format_version must be a positive integer, received '1'"),
    (break_document("format_version", 0), "format_version must be a positive integer, received 0"),
    (break_document("format_version", True), "format_version must be a positive integer, received True"),
    (break_document("format_version", _DELETE), "format_version must be a positive integer, received None"),
    (break_document("config", _DELETE), "'config' must be a dict, received NoneType"),
    (break_document("config", [1, 2]), "'config' must be a dict, received list"),
    (break_document("extra", "x"), "'extra' must be a dict, received str"),
    (break_document("library_version", 1), "'library_version' must be a str, received int"),
    (unknown_activation, "invalid network config: unknown activation 'swishy'"),
    (break_config("layers", _DELETE), "invalid network config: KeyError: 'layers'"),
    (break_config("layers", [{"type": "Conv"}, {"type": "Dense", "units": 3}]), "unknown layer type 'Conv'"),
    (break_config("dtype", "float16"), "invalid network config: dtype must be one of"),
    (break_config("input_dim", None), "config has no input_dim"),
    (break_config("classes", ["a", "b"]), "2 class label\\(s\\) for a softmax output layer of 3 unit"),
    (set_tensor("b2", _DELETE), r"missing parameter tensor\(s\) b2; the config describes a network of "
                                r"4 -> 8 -> 3, with parameters W1, b1, W2, b2"),
    (set_tensor("W3", np.zeros((3, 3), np.float32)), r"unexpected parameter tensor\(s\) W3; the config describes "
                                                     r"a network of 4 -> 8 -> 3"),
    (set_tensor("W1", np.zeros((3, 4), np.float32)), r"W1 has shape \(3, 4\) in the file, the config expects \(8, 4\)"),
    (set_tensor("b1", np.zeros((8, 1), np.float32)), r"b1 has shape \(8, 1\) in the file, the config expects \(8,\)"),
    (set_tensor("W2", np.zeros((3, 8), np.float64)), "W2 is float64 in the file, the config expects float32"),
    (set_tensor("b1", np.zeros(8, np.int32)), "b1 is int32 in the file, the config expects float32"),
    (nan_in_w1, r"W1 contains 1 NaN or infinite value\(s\)"),
])
def test_invalid_contents_are_named(tmp_path, mutate, message):
    tensors, document = good_parts()
    mutate(tensors, document)
    path = craft(tmp_path / "m.safetensors", tensors, document)
    with pytest.raises(ModelFileError, match=message):
        io.load(path)


def test_format_version_is_checked_before_the_rest(tmp_path):
    tensors, document = good_parts()
    document = {"format": "layerwise", "format_version": 7, "library_version": "3.0", "graph": {"nodes": []}}
    path = craft(tmp_path / "m.safetensors", tensors, document)
    with pytest.raises(ModelFileError, match=r"newer layerwise \(format 7, layerwise 3\.0\)"):
        io.load(path)


@pytest.mark.parametrize("metadata, message", [
    (None, "safetensors file but not a layerwise model file: its metadata has no 'layerwise' entry "
           r"\(tensors in the file: W1, W2, b1, b2\)"),
    ({"format": "pt"}, "has no 'layerwise' entry"),
    ({"layerwise": "{not json"}, "'layerwise' metadata is not valid JSON"),
    ({"layerwise": "[1, 2]"}, "its metadata format is 'list'"),
])
def test_foreign_or_broken_metadata(tmp_path, metadata, message):
    tensors, _ = good_parts()
    path = craft(tmp_path / "m.safetensors", tensors, metadata=metadata)
    with pytest.raises(ModelFileError, match=message):
        io.load(path)


def test_tensor_dtype_numpy_cannot_hold(tmp_path):
    torch = pytest.importorskip("torch")
    import safetensors.torch

    tensors, document = good_parts()
    tensors = {key: torch.from_numpy(value) for key, value in tensors.items()}
    tensors["half"] = torch.zeros(3, dtype=torch.bfloat16)
    path = tmp_path / "m.safetensors"
    path.write_bytes(safetensors.torch.save(tensors, metadata={"layerwise": json.dumps(document)}))
    with pytest.raises(ModelFileError, match="dtype 'BF16', which NumPy cannot represent"):
        io.load(path)


# -------------------------------------------------------------------- no pickle
class Payload:
    """Unpickling this object creates the file ``marker``."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return open, (self.marker, "w")


def test_pickle_payloads_are_rejected_and_never_run(tmp_path):
    payload = pickle.dumps({"W1": np.zeros((8, 4)), "evil": Payload(tmp_path / "marker")})
    pickle.loads(payload).pop("evil").close()  # the payload is live: unpickling it runs code
    assert (tmp_path / "marker").exists()
    (tmp_path / "marker").unlink()
    (tmp_path / "model.pkl").write_bytes(payload)
    with pytest.raises(ModelFileError, match="not in safetensors format"):
        io.load(tmp_path / "model.pkl")
    torch = pytest.importorskip("torch")
    torch.save({"W1": torch.zeros(8, 4), "evil": Payload(tmp_path / "marker")}, tmp_path / "model.pt")
    with pytest.raises(ModelFileError, match="not in safetensors format"):
        io.load(tmp_path / "model.pt")
    assert not (tmp_path / "marker").exists()


def test_pickle_bytes_inside_a_model_file_stay_data(tmp_path):
    payload = pickle.dumps(Payload(tmp_path / "marker"))
    net = classifier()
    path = tmp_path / "m.safetensors"
    io.save(net, path, tensors={"blob": np.frombuffer(payload, dtype=np.uint8)},
            metadata={"blob": payload.decode("latin-1")})
    model = io.read(path)
    assert model.tensors["blob"].tobytes() == payload
    assert model.metadata["blob"].encode("latin-1") == payload
    assert not (tmp_path / "marker").exists()


# -------------------------------------------------------------------- kill test
def _load_worker():
    spec = importlib.util.spec_from_file_location("_save_worker", WORKER)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _readline(server, expected):
    line = server.stdout.readline().decode()
    if not line.startswith(expected):
        server.kill()
        pytest.fail(f"worker said {line!r}, expected {expected!r}; its stderr:\n{server.stderr.read().decode()}")
    return line


def _wait_for_temporary(directory, timeout=10.0):
    deadline = time.monotonic() + timeout
    while not temporaries(directory):
        if time.monotonic() > deadline:
            pytest.fail(f"no save started within {timeout} s")
        time.sleep(0.0005)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="SIGKILL, fork and stale-temporary cleanup are POSIX only")
def test_killed_saves_never_leave_a_broken_file(tmp_path):
    worker = _load_worker()
    n_params = worker.WIDTH * (worker.WIDTH + 1) + (worker.WIDTH + 1)  # W1, b1, W2, b2
    sets = worker.weight_sets(n_params)
    path = tmp_path / "big.safetensors"
    rng = np.random.default_rng(2024)
    seen, killed_mid_write = set(), 0
    single_threaded = {name: "1" for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")}
    server = subprocess.Popen([sys.executable, str(WORKER), str(path)], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, env={**os.environ, **single_threaded})
    try:
        for kill in range(25):
            server.stdin.write(b"save\n")
            server.stdin.flush()
            _, saver, took = _readline(server, "ready ").split()
            saver = int(saver)
            if kill % 2:  # at a random moment within the next few saves, however long a save takes here
                time.sleep(rng.uniform(0.0, 3 * float(took)))
            else:  # soon after a save has created its temporary file
                _wait_for_temporary(tmp_path)
                time.sleep(rng.uniform(0.0, 0.01))
            os.kill(saver, signal.SIGKILL)
            _readline(server, "reaped")
            left = temporaries(tmp_path)
            assert len(left) <= 1, left
            killed_mid_write += len(left)
            theta = io.load(path).theta
            matches = [index for index, weights in enumerate(sets) if np.array_equal(theta, weights)]
            assert len(matches) == 1
            seen.add(matches[0])
    finally:
        server.kill()
        server.communicate()
    assert killed_mid_write >= 5, f"only {killed_mid_write} kill(s) interrupted a save"
    assert seen == {0, 1}
    net = io.load(path)
    net.save(path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["big.safetensors"]
