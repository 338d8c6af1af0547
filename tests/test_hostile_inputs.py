"""Broken and hostile inputs: every field checked, one clear error naming it, never a traceback.

The library raises a LayerwiseError whose message names the field, what was
expected and what was received; the installed command prints one
``layerwise: error:`` line and exits with status 2.
"""

import copy
import json
import os
import shutil
import struct
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

import layerwise as lw
from layerwise import cli
from layerwise.cli.config import read_config_file
from layerwise.cli.model import load_model
from layerwise.data.datasets import load_dataset
from layerwise.errors import ConfigError, DataError, LayerwiseError, ModelFileError
from layerwise.io import model_file as io
from layerwise.ops.activations import ELU, LeakyReLU
from layerwise.optim.optimizers import get_optimizer
from layerwise.optim.schedules import get_schedule
from layerwise.train.checkpoint import restore

SCRIPT = shutil.which("layerwise", path=os.path.dirname(sys.executable)) or shutil.which("layerwise")
COMMAND = [SCRIPT] if SCRIPT else [sys.executable, "-m", "layerwise"]


def small_data():
    rng = np.random.default_rng(0)
    return rng.standard_normal((20, 3)), np.arange(20) % 2


def small_net():
    return lw.Network([lw.Dense(4, "tanh"), lw.Dense(2, "softmax")], input_dim=3, seed=0)


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    """A real checkpoint after 2 epochs, with early stopping, written by fit."""
    path = tmp_path_factory.mktemp("ckpt") / "run.ckpt"
    small_net().fit(*small_data(), epochs=2, verbose=0, checkpoint=path, early_stopping=True, validation_split=0.25)
    return path


def tamper(source, target, change):
    """Rewrite a checkpoint through the library's own writer after ``change(state, tensors)``."""
    saved = io.read(source)
    state, tensors = copy.deepcopy(saved.metadata["checkpoint"]), dict(saved.tensors)
    change(state, tensors)
    io.save(saved.network, target, tensors=tensors, metadata={"checkpoint": state})
    return target


def setter(*keys, value):
    def change(state, tensors):
        node = state
        for key in keys[:-1]:
            node = node[key]
        node[keys[-1]] = value
    return change


def deleter(*keys):
    def change(state, tensors):
        node = state
        for key in keys[:-1]:
            node = node[key]
        del node[keys[-1]]
    return change


def tensor(name, array):
    def change(state, tensors):
        tensors[name] = array
    return change


EXP_AVG = "optimizer.state.theta.exp_avg"
CHECKPOINT_CASES = {
    "epochs_done absent": (deleter("epochs_done"), "lacks the field(s) epochs_done"),
    "epochs_done a string": (setter("epochs_done", value="2"), "epochs_done must be an integer >= 1, received '2'"),
    "epochs_done negative": (setter("epochs_done", value=-1), "epochs_done must be an integer >= 1, received -1"),
    "optimizer hyper unknown": (setter("optimizer", "hyper", "momentum2", value=0.5),
                                "hyper must be a dict with keys among lr, betas, eps, weight_decay, amsgrad; received"),
    "optimizer beta mistyped": (setter("optimizer", "hyper", "betas", value="x"),
                                "betas must be a pair (beta1, beta2), received 'x'"),
    "optimizer step negative": (setter("optimizer", "step", value=-3),
                                "step must be an integer in [0, inf), received -3"),
    "schedule hyper unknown": (setter("schedule", "hyper", "gamma", value=0.5),
                               "hyper must be a dict with keys among none; received ['gamma']"),
    "schedule lr a string": (setter("schedule", "lr", value="fast"),
                             "lr must be a number in [0.0, inf), received 'fast'"),
    "schedule epoch not epochs_done": (setter("schedule", "epoch", value=7),
                                       "the schedule has stepped 7 epochs, but epochs_done is 2"),
    "optimizer state shape": (tensor(EXP_AVG, np.zeros(3, np.float32)),
                              "theta.exp_avg must have the shape of the parameters, (26,); received (3,)"),
    "optimizer state dtype": (tensor(EXP_AVG, np.zeros(26, np.int32)),
                              "theta.exp_avg must be a floating-point array; received an array of int32"),
    "optimizer state not a tensor": (setter("optimizer", "state", "theta", "exp_avg", value=3),
                                     "theta.exp_avg must be a floating-point array; received int"),
    "optimizer state names a missing tensor": (setter("optimizer", "state", "theta", "exp_avg",
                                                      value={"__tensor__": ["x"]}), "refers to tensor ['x']"),
    "rng garbage": (setter("rng", "state", value="garbage"), "rng must be the state of a NumPy PCG64 generator"),
    "rng another generator": (setter("rng", "bit_generator", value="MT19937"),
                              "rng must be the state of a NumPy PCG64 generator"),
    "history not a dict": (setter("history", value=[1, 2]), "history must be a dict of lists, received [1, 2]"),
    "history too short": (setter("history", "loss", value=[0.5]), "history.loss must hold 2 numbers"),
    "history of strings": (setter("history", "loss", value=["a", "b"]), "history.loss must hold 2 numbers"),
    "history epochs wrong": (setter("history", "epoch", value=[0, 5]), "history.epoch must be the epochs 0 to 1"),
    "early stopping wait": (setter("early_stopping", "wait", value="x"),
                            "early_stopping.wait must be a non-negative integer, received 'x'"),
    "early stopping best_theta": (tensor("early_stopping.best_theta", np.zeros(5, np.float32)),
                                  "early_stopping.best_theta must be a floating-point array of shape (26,)"),
}


@pytest.mark.parametrize("case", CHECKPOINT_CASES)
def test_every_checkpoint_field_is_checked(checkpoint, tmp_path, case):
    change, message = CHECKPOINT_CASES[case]
    path = tamper(checkpoint, tmp_path / "bad.ckpt", change)
    with pytest.raises(ModelFileError) as info:
        small_net().fit(*small_data(), epochs=4, verbose=0, resume_from=path, early_stopping=True,
                        validation_split=0.25)
    assert message in str(info.value)
    assert str(path) in str(info.value)


def test_an_untouched_copy_of_the_checkpoint_resumes(checkpoint, tmp_path):
    path = tamper(checkpoint, tmp_path / "same.ckpt", lambda state, tensors: None)
    optimizer, schedule = get_optimizer("adam"), get_schedule("constant")
    epochs_done, history, stopping = restore(path, small_net(), optimizer, schedule)
    assert epochs_done == 2 and history.epoch == [0, 1] and stopping["wait"] == 1


# ---------------------------------------------------------------- model metadata of the command line
@pytest.fixture(scope="module")
def cli_model(tmp_path_factory):
    folder = tmp_path_factory.mktemp("cli_model")
    assert cli.main(["train", "--data", "iris", "--hidden", "4", "--epochs", "1", "--out", str(folder / "run"),
                     "--quiet"]) == 0
    return folder / "run" / "model.safetensors"


def retag(source, target, change):
    saved = io.read(source)
    info = copy.deepcopy(saved.metadata["cli"])
    change(info)
    io.save(saved.network, target, tensors=saved.tensors, metadata={"cli": info})
    return target


METADATA_CASES = {
    "data a string": (lambda info: info.update(data="iris"), "cli.data must be an object, received 'iris' (str)"),
    "metric not a number": (lambda info: info["test_metrics"].update(accuracy="high"),
                            "cli.test_metrics.accuracy must be a number, received 'high' (str)"),
    "source not a string": (lambda info: info["data"].update(source=5), "cli.data.source must be a string, received 5"),
    "seed out of range": (lambda info: info["data"].update(seed=-4), "cli.data.seed must be an integer in [0, 2**32)"),
    "metrics a list": (lambda info: info.update(test_metrics=[1]), "cli.test_metrics must be an object of numbers"),
}


@pytest.mark.parametrize("case", METADATA_CASES)
def test_model_metadata_of_the_wrong_type_is_named(cli_model, tmp_path, case):
    change, message = METADATA_CASES[case]
    path = retag(cli_model, tmp_path / "m.safetensors", change)
    with pytest.raises(ModelFileError, match="the metadata field " + message.replace("(", r"\(").replace(")", r"\)")
                       .replace("[", r"\[").replace("*", r"\*")):
        load_model(path)


def nested(source, target, where):
    """A copy of a model file whose header or metadata nests 100 000 lists deep."""
    data = source.read_bytes()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8: 8 + n])
    deep = "[" * 100_000 + "]" * 100_000
    if where == "metadata":
        document = json.loads(header["__metadata__"]["layerwise"])
        document["extra"]["deep"] = "PLACEHOLDER"
        header["__metadata__"]["layerwise"] = json.dumps(document).replace('"PLACEHOLDER"', deep)
        text = json.dumps(header)
    else:
        text = json.dumps(header).replace('"__metadata__"', f'"deep": {deep}, "__metadata__"', 1)
    target.write_bytes(struct.pack("<Q", len(text)) + text.encode() + data[8 + n:])
    return target


@pytest.mark.parametrize("where", ["metadata", "header"])
def test_deeply_nested_json_is_refused(cli_model, tmp_path, where):
    path = nested(cli_model, tmp_path / "deep.safetensors", where)
    with pytest.raises(ModelFileError, match="nested too deeply to be read"):
        lw.load(path)


# ---------------------------------------------------------------- data, options and hyper-parameters
@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("files")
    X, y = small_data()
    np.savez(folder / "good.npz", X=X, y=y)
    good = (folder / "good.npz").read_bytes()
    (folder / "truncated.npz").write_bytes(good[: len(good) // 2])
    (folder / "garbage.npz").write_bytes(b"PK\x03\x04" + bytes(range(256)) * 4)
    (folder / "two.csv").write_text("a,b,y\n1,2,0\n3,4,1\n")
    (folder / "hidden.toml").write_text('hidden = "\u00b2"\n', encoding="utf-8")
    (folder / "nul.toml").write_text('data = "a\\u0000b.csv"\n')
    (folder / "bom.toml").write_bytes(b"\xef\xbb\xbfdata = \"iris\"\nepochs = 1\nhidden = [4]\n")
    (folder / "plain.toml").write_bytes(b"data = \"iris\"\nepochs = 1\nhidden = [4]\n")
    return folder


def fit_with(**kwargs):
    X, y = small_data()
    return lambda: small_net().fit(X, y, epochs=1, verbose=0, **kwargs)


LIBRARY_CASES = {
    "truncated npz": (lambda f: load_dataset(f / "truncated.npz"), DataError, "truncated.npz is not a readable NumPy"),
    "garbage npz": (lambda f: load_dataset(f / "garbage.npz"), DataError, "garbage.npz is not a readable NumPy"),
    "two rows and a validation split": (lambda f: small_net().fit(np.ones((1, 3)), [0], validation_split=0.1,
                                                                  verbose=0),
                                        DataError, "validation_split=0.1 of 1 training example(s) leaves none"),
    "hidden not digits": (lambda f: read_config_file(f / "hidden.toml"), ConfigError,
                          "hidden: expected comma-separated positive layer widths such as 128,64, received '²'"),
    "NUL in a config path": (lambda f: read_config_file(f / "nul.toml"), ConfigError,
                             "data: expected a value without NUL bytes, received 'a\\x00b.csv'"),
    "NUL in a data path": (lambda f: load_dataset("a\0b.csv"), ConfigError, "contains a NUL byte"),
    "NUL in a model path": (lambda f: lw.load("m\0.safetensors"), ConfigError, "contains a NUL byte"),
    "class weight a string": (lambda f: fit_with(class_weight={0: "x"})(), ConfigError,
                              "class_weight for class 0 must be a number in [0.0, inf), received 'x'"),
    "class weight infinite": (lambda f: fit_with(class_weight={0: float("inf")})(), ConfigError,
                              "class_weight for class 0 must be a number in [0.0, inf), received inf"),
    "l2 nan in fit": (lambda f: fit_with(l2=float("nan"))(), ConfigError,
                      "l2 must be a number in [0.0, inf), received nan"),
    "l2 nan in Network": (lambda f: lw.Network([lw.Dense(1)], l2=float("nan")), ConfigError,
                          "l2 must be a number in [0.0, inf), received nan"),
    "ELU alpha inf": (lambda f: ELU(alpha=float("inf")), ConfigError,
                      "ELU: alpha must be a finite number, received inf"),
    "ELU alpha text": (lambda f: ELU(alpha="x"), ConfigError, "ELU: alpha must be a finite number, received 'x'"),
    "LeakyReLU slope nan": (lambda f: LeakyReLU(float("nan")), ConfigError, "negative_slope must be a finite number"),
    "seed negative": (lambda f: lw.Network([lw.Dense(1)], seed=-1), ConfigError,
                      "seed must be an integer in [0, inf), received -1"),
}


@pytest.mark.parametrize("case", LIBRARY_CASES)
def test_bad_input_to_the_library_raises_one_layerwise_error(files, case):
    call, kind, message = LIBRARY_CASES[case]
    with pytest.raises(kind) as info:
        call(files)
    assert isinstance(info.value, LayerwiseError)
    assert message in str(info.value)


def test_a_config_file_with_a_byte_order_mark_reads_as_without(files):
    assert read_config_file(files / "bom.toml") == read_config_file(files / "plain.toml") == {
        "data": "iris", "epochs": 1, "hidden": (4,)}


def test_a_seed_beyond_two_to_the_32_still_splits_in_the_library():
    X, y = small_data()
    net = lw.Network([lw.Dense(2, "softmax")], input_dim=3, seed=2**32 + 5)
    history = net.fit(X, y, epochs=1, validation_split=0.25, verbose=0)
    assert len(history["val_loss"]) == 1


# ---------------------------------------------------------------- the installed command
def command_cases(folder, model):
    bad_ckpt = tamper(model.parent / "checkpoint.safetensors", folder / "bad.ckpt", setter("epochs_done", value="2"))
    metrics = retag(model, folder / "metrics.safetensors", lambda info: info["test_metrics"].update(accuracy="x"))
    deep = nested(model, folder / "deep.safetensors", "metadata")
    return {
        "checkpoint field": (["train", "--data", "iris", "--hidden", "4", "--resume", bad_ckpt, "--out", "r1"],
                             "epochs_done must be an integer >= 1, received '2'"),
        "metadata type": (["info", metrics], "cli.test_metrics.accuracy must be a number"),
        "deep JSON": (["evaluate", deep], "nested too deeply to be read"),
        "truncated npz": (["train", "--data", folder / "truncated.npz", "--out", "r2"], "is not a readable NumPy"),
        "garbage npz": (["predict", model, folder / "garbage.npz"], "is not a readable NumPy"),
        "two-row CSV, early stopping": (["train", "--data", folder / "two.csv", "--early-stopping", "--out", "r3"],
                                        "--val-split 0.2 (the default with early stopping) of the 1 training"),
        "seed 2**32": (["train", "--data", "iris", "--seed", "4294967296", "--out", "r4"],
                       "--seed: expected a seed, an integer in [0, 4294967295], received 4294967296"),
        "TOML hidden": (["train", "--config", folder / "hidden.toml", "--out", "r5"],
                        "hidden: expected comma-separated"),
        "NUL in a path": (["train", "--config", folder / "nul.toml", "--out", "r6"], "without NUL bytes"),
    }


@pytest.fixture(scope="module")
def command_results(files, cli_model):
    folder = files
    cases = command_cases(folder, cli_model)
    env = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}

    def run(args):
        return subprocess.run([*COMMAND, *map(str, args)], cwd=folder, env=env, capture_output=True, text=True,
                              timeout=300)

    with ThreadPoolExecutor(max_workers=3) as pool:
        results = dict(zip(cases, pool.map(run, [args for args, _ in cases.values()])))
    return {name: (results[name], cases[name][1]) for name in cases}


CASE_NAMES = ["checkpoint field", "metadata type", "deep JSON", "truncated npz", "garbage npz",
              "two-row CSV, early stopping", "seed 2**32", "TOML hidden", "NUL in a path"]


@pytest.mark.parametrize("case", CASE_NAMES)
def test_bad_input_to_the_command_gives_one_error_line_and_status_2(command_results, files, case):
    result, message = command_results[case]
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 2, result.stderr
    assert len(lines) == 1 and lines[0].startswith("layerwise: error: "), result.stderr
    assert message in lines[0]
    assert not any((files / f"r{k}").exists() for k in range(1, 7))


def test_the_command_accepts_a_config_file_with_a_byte_order_mark(files, capsys):
    assert cli.main(["train", "--config", str(files / "bom.toml"), "--out", str(files / "bom_run"), "--quiet"]) == 0
    options = io.read(files / "bom_run" / "model.safetensors").metadata["cli"]["options"]
    assert (options["data"], options["epochs"], options["hidden"]) == ("iris", 1, [4])
