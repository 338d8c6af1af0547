"""The fuzz cases of ``test_fuzz.py``, run in a subprocess under an address-space limit.

``python tests/fuzz_worker.py LIMIT_BYTES`` imports everything, then limits
the address space to what is mapped now plus ``LIMIT_BYTES``, and runs every
case below with a fixed number of examples (derandomised, so that a run is
repeatable). Each example writes hostile bytes to a file and hands it to a
reader; the only outcomes allowed are success and a ``LayerwiseError`` with
a one-line message. An unguarded allocation fails with ``MemoryError``
under the limit, which counts as a failure too. Exit status 0 when every case
holds; otherwise the falsifying example is printed.
"""

from __future__ import annotations

import functools
import gzip
import io
import json
import os
import resource
import struct
import sys
import tempfile
import traceback
import warnings
import zipfile
from collections import Counter
from pathlib import Path

import numpy as np
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import layerwise as lw
from layerwise.cli.config import resolve_train_options
from layerwise.cli.model import load_model
from layerwise.data.csvfile import read_csv
from layerwise.data.datasets import load_dataset, read_features
from layerwise.data.idx import read_idx
from layerwise.io import model_file

EXAMPLES = 25
SETTINGS = settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                    suppress_health_check=list(HealthCheck))
WORK = Path(tempfile.mkdtemp(prefix="layerwise-fuzz-"))
warnings.simplefilter("ignore")  # zipfile warns about the duplicate member names the NPZ case writes

# ------------------------------------------------------------------ the values hostile JSON and TOML are made of
scalars = st.one_of(st.none(), st.booleans(), st.integers(min_value=-2**70, max_value=2**70),
                    st.sampled_from([0, 1, -1, 2**31, 2**32, 2**63, 10**12, 10**9]),
                    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=12),
                    st.sampled_from(["Dense", "Dropout", "relu", "softmax", "float32", "float64", "adam", "cosine",
                                     "cross_entropy", "mse", "W1", "b1", "layerwise"]))
json_values = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                            st.dictionaries(st.text(max_size=8), inner, max_size=4)),
                           max_leaves=12)


OUTCOMES: Counter = Counter()


def outcome(action) -> None:
    """Run ``action``; anything but success or a one-line LayerwiseError fails the example."""
    try:
        action()
    except lw.LayerwiseError as exc:
        message = str(exc)
        assert message and "\n" not in message, f"error message not one line: {message!r}"
        OUTCOMES[type(exc).__name__] += 1
    else:
        OUTCOMES["success"] += 1


def flip(data: bytes, i: int, value: int) -> bytes:
    """``data`` with byte ``i`` replaced by ``value``."""
    return data[:i] + bytes([value]) + data[i + 1:]


def write(name: str, data: bytes) -> Path:
    path = WORK / name
    path.write_bytes(data)
    return path


# ------------------------------------------------------------------ model files
def _model_bytes() -> bytes:
    net = lw.Network([lw.Dense(5, "tanh"), lw.Dropout(0.2), lw.Dense(3, "softmax")], input_dim=4, seed=0)
    net.classes = ["a", "b", "c"]
    model_file.save(net, WORK / "model.safetensors", tensors={"scaler.mean": np.zeros(4),
                                                             "scaler.scale": np.ones(4)},
                    metadata={"cli": {"data": "iris", "test": {"accuracy": 0.5}}})
    return (WORK / "model.safetensors").read_bytes()


MODEL = _model_bytes()
_N = int.from_bytes(MODEL[:8], "little")
HEADER = json.loads(MODEL[8:8 + _N])
DOCUMENT = json.loads(HEADER["__metadata__"]["layerwise"])
BODY = MODEL[8 + _N:]


def assemble(header: dict, body: bytes = BODY, document: dict | None = None) -> bytes:
    header = json.loads(json.dumps(header))
    if document is not None:
        header.setdefault("__metadata__", {})["layerwise"] = json.dumps(document)
    text = json.dumps(header).encode()
    return len(text).to_bytes(8, "little") + text + body


def paths_of(document, prefix=()) -> list[tuple]:
    """Every key or index path into a JSON document, containers included."""
    paths = [prefix] if prefix else []
    items = document.items() if isinstance(document, dict) else enumerate(document) \
        if isinstance(document, list) else ()
    for key, value in items:
        paths += paths_of(value, (*prefix, key))
    return paths


def set_at(document, path: tuple, value):
    """A copy of ``document`` with the item at ``path`` replaced by ``value`` (None: removed)."""
    document = json.loads(json.dumps(document))
    target = document
    for key in path[:-1]:
        target = target[key]
    if value is REMOVE:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return document


REMOVE = object()
hostile_values = st.one_of(st.just(REMOVE), json_values)


def read_model(data: bytes) -> None:
    path = write("m.safetensors", data)
    outcome(lambda: model_file.read(path))
    outcome(lambda: load_model(path))


@SETTINGS
@given(st.one_of(
    st.binary(max_size=64),
    st.builds(lambda n, rest: n.to_bytes(8, "little") + rest,
              st.one_of(st.integers(0, 2**64 - 1), st.integers(0, 300)), st.binary(max_size=300)),
    st.builds(lambda h: assemble(h, b""), st.dictionaries(st.text(max_size=6), json_values, max_size=4)),
    st.builds(lambda cut: MODEL[:cut], st.integers(0, len(MODEL))),
    st.builds(lambda i, b: flip(MODEL, i, b), st.integers(0, len(MODEL) - 1), st.integers(0, 255)),
))
def fuzz_model_headers(data):
    read_model(data)


TABLE_PATHS = [path for path in paths_of(HEADER) if path[0] != "__metadata__"]
DOCUMENT_PATHS = paths_of(DOCUMENT)


@SETTINGS
@given(st.sampled_from(TABLE_PATHS), hostile_values)
def fuzz_tensor_table(path, value):
    read_model(assemble(set_at(HEADER, path, value)))


@settings(SETTINGS, max_examples=3 * EXAMPLES)
@given(st.sampled_from(DOCUMENT_PATHS), hostile_values)
@example(("extra", "cli", "data"), 5)
@example(("extra", "cli", "test", "accuracy"), "high")
@example(("config", "layers", 0, "units"), 10**9)
@example(("config", "input_dim"), 10**12)
def fuzz_model_metadata(path, value):
    read_model(assemble(HEADER, document=set_at(DOCUMENT, path, value)))


# ------------------------------------------------------------------ checkpoints
def _checkpoint() -> tuple[bytes, np.ndarray, np.ndarray]:
    X = np.random.default_rng(0).standard_normal((24, 4))
    y = np.arange(24) % 3
    net = lw.Network([lw.Dense(5), lw.Dense(3, "softmax")], input_dim=4, seed=0)
    net.fit(X, y, epochs=2, verbose=0, early_stopping=True, validation_split=0.25,
            checkpoint=WORK / "c.safetensors")
    return (WORK / "c.safetensors").read_bytes(), X, y


CHECKPOINT, X_CK, Y_CK = _checkpoint()
_NC = int.from_bytes(CHECKPOINT[:8], "little")
CK_HEADER = json.loads(CHECKPOINT[8:8 + _NC])
CK_DOCUMENT = json.loads(CK_HEADER["__metadata__"]["layerwise"])


CHECKPOINT_PATHS = [path for path in paths_of(CK_DOCUMENT) if path[:2] == ("extra", "checkpoint")]


@settings(SETTINGS, max_examples=2 * EXAMPLES)
@given(st.sampled_from(CHECKPOINT_PATHS), hostile_values)
@example(("extra", "checkpoint", "epochs_done"), REMOVE)
@example(("extra", "checkpoint", "epochs_done"), "2")
@example(("extra", "checkpoint", "epochs_done"), -1)
@example(("extra", "checkpoint", "rng"), {"bit_generator": "PCG64", "state": "garbage"})
@example(("extra", "checkpoint", "history"), {"loss": "x"})
def fuzz_checkpoints(path, value):
    document = set_at(CK_DOCUMENT, path, value)
    data = assemble(CK_HEADER, CHECKPOINT[8 + _NC:], document)
    checkpoint = write("c2.safetensors", data)
    net = lw.Network([lw.Dense(5), lw.Dense(3, "softmax")], input_dim=4, seed=0)
    outcome(lambda: net.fit(X_CK, Y_CK, epochs=3, verbose=0, early_stopping=True,
                            validation_split=0.25, resume_from=checkpoint))


# ------------------------------------------------------------------ CSV
csv_cells = st.one_of(st.sampled_from(["1", "2.5", "-3e2", "", "NA", "nan", "inf", "1e999", "x", '"a,b"', " 4 ",
                                       "\ufeff", "0x10", "1_000"]), st.text(max_size=6))


@SETTINGS
@given(st.one_of(
    st.binary(max_size=200),
    st.builds(lambda rows: "\n".join(",".join(row) for row in rows).encode(),
              st.lists(st.lists(csv_cells, min_size=1, max_size=4), max_size=6)),
))
def fuzz_csv(data):
    path = write("d.csv", data)
    outcome(lambda: load_dataset(path))
    outcome(lambda: read_csv(path, target=0))
    outcome(lambda: read_features(path))


# ------------------------------------------------------------------ NPY and NPZ
npy_headers = st.builds(
    lambda descr, fortran, shape: repr({"descr": descr, "fortran_order": fortran, "shape": shape}),
    st.one_of(st.sampled_from(["<f8", "<f4", "|u1", "<i8", "|b1", "<U3", "|S2", "|O", "<c16", "V8", "<M8[s]"]),
              st.text(max_size=6), st.just([("a", "<f8")])),
    st.one_of(st.booleans(), st.integers(0, 2)),
    st.one_of(st.tuples(), st.tuples(st.integers(0, 6)), st.tuples(st.integers(0, 6), st.integers(0, 4)),
              st.tuples(st.integers(0, 2**62), st.integers(0, 4)), st.just((10**11, 3)),
              st.lists(st.integers(-3, 3), max_size=3).map(tuple)))


def npy_bytes(header: str, version: int, body: bytes) -> bytes:
    text = header.encode("latin1", "replace")
    width = 2 if version == 1 else 4
    return b"\x93NUMPY" + bytes([version, 0]) + len(text).to_bytes(width, "little") + text + body


npy_files = st.one_of(
    st.binary(max_size=80),
    st.builds(npy_bytes, npy_headers, st.sampled_from([1, 2, 3]), st.binary(max_size=200)),
    st.builds(lambda n, rest: b"\x93NUMPY\x01\x00" + n.to_bytes(2, "little") + rest, st.integers(0, 2**16 - 1),
              st.binary(max_size=40)),
)


def _saved_npy(array) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array)
    return buffer.getvalue()


NPY = _saved_npy(np.arange(12.0).reshape(4, 3))


@SETTINGS
@given(st.one_of(npy_files, st.builds(lambda cut: NPY[:cut], st.integers(0, len(NPY))),
                 st.builds(flip, st.just(NPY), st.integers(0, len(NPY) - 1), st.integers(0, 255))))
def fuzz_npy(data):
    path = write("d.npy", data)
    outcome(lambda: load_dataset(path))
    outcome(lambda: read_features(path))


def zip_bytes(members: list[tuple[str, bytes]], compress: bool) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED) as archive:
        for name, data in members:
            archive.writestr(name, data)
    return buffer.getvalue()


ARCHIVE = zip_bytes([("X.npy", _saved_npy(np.ones((3, 2)))), ("y.npy", _saved_npy(np.arange(3)))], True)


@SETTINGS
@given(st.one_of(
    st.binary(max_size=100),
    st.builds(zip_bytes, st.lists(st.tuples(st.sampled_from(["X.npy", "y.npy", "x.npy", "data.npy", "X", "y.txt"]),
                                            st.one_of(npy_files, st.just(_saved_npy(np.ones((3, 2)))),
                                                      st.just(_saved_npy(np.arange(3))))), max_size=3),
              st.booleans()),
    st.builds(flip, st.just(ARCHIVE), st.integers(0, len(ARCHIVE) - 1), st.integers(0, 255)),
))
def fuzz_npz(data):
    path = write("d.npz", data)
    outcome(lambda: load_dataset(path))
    outcome(lambda: read_features(path))


# ------------------------------------------------------------------ IDX, raw and gzip
idx_files = st.builds(
    lambda zero, code, dims, body: struct.pack(">HBB", zero, code, len(dims)) + struct.pack(f">{len(dims)}I", *dims)
    + body,
    st.sampled_from([0, 0, 0, 1]), st.sampled_from([0x08, 0x09, 0x0B, 0x0C, 0x0D, 0x0E, 0x07]),
    st.lists(st.one_of(st.integers(0, 5), st.just(2**32 - 1), st.integers(0, 2**32 - 1)), max_size=12),
    st.binary(max_size=120))


IDX = struct.pack(">HBBIII", 0, 0x08, 3, 2, 3, 4) + bytes(range(24))


@SETTINGS
@given(st.one_of(st.binary(max_size=60), idx_files,
                 st.builds(flip, st.just(IDX), st.integers(0, len(IDX) - 1), st.integers(0, 255)),
                 st.builds(lambda i, b: flip(gzip.compress(IDX, mtime=0), i, b), st.integers(0, 40),
                           st.integers(0, 255)), idx_files.map(lambda data: gzip.compress(data, mtime=0)),
                 idx_files.map(lambda data: gzip.compress(data, mtime=0)[:-5]),
                 st.builds(lambda dims: gzip.compress(struct.pack(">HBB", 0, 8, len(dims))
                                                      + struct.pack(f">{len(dims)}I", *dims) + bytes(10**6)),
                           st.lists(st.integers(0, 200), min_size=1, max_size=3))))
def fuzz_idx(data):
    path = write("d.idx", data)
    outcome(lambda: read_idx(path))


# ------------------------------------------------------------------ TOML config files
toml_values = st.one_of(st.sampled_from(['"32,16"', "[32, 16]", '"²"', "3", "-1", "0", "1e400", "nan", "inf",
                                         "4294967296", "true", '"x"', "[]", "{}", "[[1]]", '"\\u0000"', "1979-05-27",
                                         "0.5", "[1, \"a\"]"]),
                        st.integers(-2**65, 2**65).map(str))


TOML_KEYS = ["hidden", "epochs", "lr", "data", "seed", "dropout", "l2", "optimizer", "schedule", "batch-size",
             "early-stopping", "test-split", "dtype", "activation", "loss", "target", "task", "unknown"]


@SETTINGS
@given(st.one_of(
    st.binary(max_size=80).map(lambda data: [data]),
    st.builds(lambda bom, value: [(b"\xef\xbb\xbf" if bom else b"") + f"{key} = {value}".encode()
                                  for key in TOML_KEYS], st.booleans(), toml_values),
    st.builds(lambda lines: ["\n".join(lines).encode()],
              st.lists(st.builds("{} = {}".format, st.sampled_from(TOML_KEYS), toml_values), max_size=4)),
))
@example([b'hidden = "\xc2\xb2"', b"seed = 4294967296", b'\xef\xbb\xbfhidden = "8"', b"l2 = nan",
          b"lr = inf", b"hidden = [8, 0]"])
def fuzz_toml(documents):
    for data in documents:  # one value under every option
        path = write("c.toml", data)
        outcome(functools.partial(resolve_train_options, {}, path))


CASES = [fuzz_model_headers, fuzz_tensor_table, fuzz_model_metadata, fuzz_checkpoints, fuzz_csv, fuzz_npy,
         fuzz_npz, fuzz_idx, fuzz_toml]


def main(limit: int) -> int:
    used = int(Path("/proc/self/statm").read_text().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    resource.setrlimit(resource.RLIMIT_AS, (used + limit, resource.getrlimit(resource.RLIMIT_AS)[1]))
    failed = []
    cases = CASES if len(sys.argv) < 3 else [case for case in CASES if case.__name__ in sys.argv[2:]]
    for case in cases:
        OUTCOMES.clear()
        try:
            case()
        except Exception:
            failed.append(case.__name__)
            print(f"--- {case.__name__} failed:\n{traceback.format_exc()}", flush=True)
        print(f"{case.__name__}: {dict(OUTCOMES)}", flush=True)
    print(f"{len(cases) - len(failed)} of {len(cases)} fuzz cases held ({EXAMPLES} examples each)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(int(sys.argv[1])))
