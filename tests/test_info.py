"""``layerwise info`` reads the summary a trained model's file records, without NumPy, and checks the file as it
goes; what it shows must be what loading the model describes, and a file it cannot trust is loaded as a whole."""

import json
import os
import re
from pathlib import Path

import pytest

import layerwise as lw
from layerwise import cli
from layerwise.cli.info import model_description, recorded_description
from layerwise.cli.model import load_model


def train(out, *options):
    assert cli.main(["train", "--data", "iris", "--epochs", "2", "--out", str(out), "--quiet", *options]) == 0
    return out / "model.safetensors"


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    folder = tmp_path_factory.mktemp("info")
    return {"dense": train(folder / "dense", "--hidden", "5"),
            "batchnorm and dropout": train(folder / "bn", "--layers", "dense:6,tanh; batchnorm:relu; dropout:0.2")}


def edited(src, dst, change):
    """A copy of model file ``src`` at ``dst`` whose layerwise document ``change`` edited in place."""
    data = Path(src).read_bytes()
    n = int.from_bytes(data[:8], "little")
    header = json.loads(data[8:8 + n])
    document = json.loads(header["__metadata__"]["layerwise"])
    change(document)
    header["__metadata__"]["layerwise"] = json.dumps(document)
    text = json.dumps(header).encode()
    Path(dst).write_bytes(len(text).to_bytes(8, "little") + text + data[8 + n:])
    return dst


def summary_of(document):
    return document["summary"]


@pytest.mark.parametrize("kind", ["dense", "batchnorm and dropout"])
def test_the_recorded_description_is_what_loading_the_model_describes(models, kind):
    recorded = recorded_description(models[kind])
    assert recorded is not None
    assert recorded == model_description(load_model(models[kind]))


def test_the_batchnorm_state_is_in_the_file_but_not_in_the_summary(models):
    # the running statistics are tensors of the file that no layer counts as parameters
    path = models["batchnorm and dropout"]
    tensors = lw.io.read(path).network.table.tensors
    recorded = recorded_description(path)
    assert {"running_mean2", "running_var2"} <= tensors.keys()
    assert recorded["layers"][1]["tensors"] == {"gamma2": [6], "beta2": [6]}
    assert recorded["parameters"] == sum(value.size for name, value in tensors.items() if "running" not in name)


def test_a_file_saved_by_the_library_and_a_checkpoint_record_their_summary(models, tmp_path):
    net = lw.Network([lw.Dense(3), lw.Dense(2, activation="softmax")], input_dim=4, seed=0)
    net.save(tmp_path / "net.safetensors")
    for path in (tmp_path / "net.safetensors", models["dense"].parent / "checkpoint.safetensors"):
        recorded = recorded_description(path)
        assert recorded is not None and recorded == model_description(load_model(path))


def test_a_file_without_a_summary_is_described_from_its_network(tmp_path, capsys):
    fixture = Path(__file__).parent / "fixtures" / "v0_1_0" / "classifier_float32.safetensors"  # written by 0.1.0
    assert recorded_description(fixture) is None
    assert cli.main(["info", str(fixture), "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == model_description(load_model(fixture))


def test_a_changed_tensor_byte_is_reported_as_corrupt(models, tmp_path, capsys):
    data = bytearray(models["dense"].read_bytes())
    data[-3] ^= 0x01  # the last tensor's data
    (tmp_path / "bad.safetensors").write_bytes(bytes(data))
    assert cli.main(["info", str(tmp_path / "bad.safetensors")]) == 2
    assert "is corrupt: the SHA-256 digest of its tensors is" in capsys.readouterr().err


def test_a_truncated_file_is_reported(models, tmp_path, capsys):
    (tmp_path / "short.safetensors").write_bytes(models["dense"].read_bytes()[:-10])
    assert cli.main(["info", str(tmp_path / "short.safetensors")]) == 2
    assert "is truncated: its tensors need" in capsys.readouterr().err


@pytest.mark.parametrize("change", [
    lambda summary: summary["layers"][0].update(W=[5, 5], tensors={"W1": [5, 5], "b1": [5]}),
    lambda summary: summary["layers"][0]["tensors"].pop("b1"),
    lambda summary: summary.update(parameters=summary["parameters"] + 1),
    lambda summary: summary.update(dtype="float64"),
    lambda summary: summary.update(parameters="many"),
    lambda summary: summary.update(columns=[1, 2]),
    lambda summary: summary["layers"][1].update(output=[-3]),
    lambda summary: summary.pop("loss"),
    lambda summary: summary["layers"].append("a layer"),
    lambda summary: summary["layers"][0].update(layer=True),
], ids=["shape", "tensor left out", "count", "dtype", "count type", "column names", "negative size",
        "field missing", "not a layer", "boolean number"])
def test_a_summary_that_does_not_fit_the_file_is_not_trusted(models, tmp_path, capsys, change):
    path = edited(models["dense"], tmp_path / "edited.safetensors", lambda document: change(summary_of(document)))
    assert recorded_description(path) is None
    assert cli.main(["info", str(path), "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown == model_description(load_model(path))  # what the network is, from loading it
    assert shown["layers"][0]["W"] == [5, 4] and shown["dtype"] == "float32"


def test_training_information_of_the_wrong_type_is_an_error_on_either_path(models, tmp_path, capsys):
    path = edited(models["dense"], tmp_path / "edited.safetensors",
                  lambda document: document["extra"]["cli"].update(tested_on=["test"]))
    assert cli.main(["info", str(path)]) == 2
    assert "the metadata field cli.tested_on must be a string, received ['test']" in capsys.readouterr().err


def test_a_resumed_run_records_the_summary_of_its_network(models, tmp_path):
    path = train(tmp_path / "resumed", "--resume", str(models["dense"].parent / "checkpoint.safetensors"),
                 "--epochs", "3")
    assert recorded_description(path) == model_description(load_model(path))


def test_a_file_that_shrinks_while_its_digest_is_computed_is_named(tmp_path):
    from layerwise.errors import ModelFileError
    from layerwise.io.safetensors_header import file_digest, open_model_file, read_header

    path = tmp_path / "net.safetensors"  # larger than the reader's buffer, so that the cut bytes are read after it
    lw.Network([lw.Dense(64), lw.Dense(3, activation="softmax")], input_dim=100, seed=0).save(path)
    stream, size = open_model_file(path)
    with stream:
        header = read_header(path, stream, size)
        os.truncate(path, size - 7)  # another process cuts the file after its header was checked
        with pytest.raises(ModelFileError, match=f"^{re.escape(str(path))} is truncated: tensor '.+' ends early"):
            file_digest(path, stream, header)


@pytest.mark.parametrize("change, shown", [
    (lambda document: document["config"]["layers"][0].update(activation="tanh"),
     lambda description: description["layers"][0]["activation"] == "tanh"),
    (lambda document: document["config"].update(classes=["a", "b", "c"]),
     lambda description: description["classes"] == ["a", "b", "c"]),
    (lambda document: document["preprocessing"]["inputs"].clear(),
     lambda description: not description["standardized_inputs"]),
], ids=["activation", "classes", "preprocessing"])
def test_a_document_edited_after_its_summary_was_made_is_described_from_its_network(models, tmp_path, capsys,
                                                                                    change, shown):
    path = edited(models["dense"], tmp_path / "edited.safetensors", change)
    assert recorded_description(path) is None
    assert cli.main(["info", str(path), "--json"]) == 0
    description = json.loads(capsys.readouterr().out)
    assert shown(description) and description == model_description(load_model(path))
