"""The command line on convolutional networks: --layers, [[layers]], --arch and every command on a CNN."""

import argparse
import json
import re

import numpy as np
import pytest
import torch
from sklearn import datasets
from test_cli import call

import layerwise as lw
from layerwise.cli.config import read_config_file
from layerwise.cli.layer_specs import parse_layers

SPEC = "conv:8x3x3,relu,same; maxpool:2; conv:8x3x3,relu,same; maxpool:2; flatten; dense:32,relu"


@pytest.fixture(scope="module")
def cnn_run(tmp_path_factory):
    """A CNN trained by the command on digits (1x8x8 from the data set's name)."""
    out = tmp_path_factory.mktemp("cnn") / "run"
    assert call_main(["train", "--layers", SPEC, "--epochs", "4", "--out", str(out), "--quiet"]) == 0
    return out


def call_main(args):
    from layerwise import cli

    return cli.main(args)


def test_the_grammar_reads_every_kind_of_layer():
    specs = parse_layers("conv:16x3x5,tanh,pad=1,stride=2; avgpool:3,stride=1; batchnorm:relu; dropout:0.25; "
                         "flatten; dense:64,elu; maxpool:2")
    assert specs == ({"type": "conv", "filters": 16, "kernel": [3, 5], "activation": "tanh", "padding": 1,
                      "stride": 2}, {"type": "avgpool", "size": 3, "stride": 1},
                     {"type": "batchnorm", "activation": "relu"}, {"type": "dropout", "rate": 0.25},
                     {"type": "flatten"}, {"type": "dense", "units": 64, "activation": "elu"},
                     {"type": "maxpool", "size": 2})
    for bad, message in [("conv:16", "FILTERSxK"), ("pool:2", "unknown layer kind 'pool'"),
                         ("conv:8x3,swish", "unknown activation or option 'swish'"), ("maxpool:2,pad=1", "pad")]:
        with pytest.raises(argparse.ArgumentTypeError, match=message):
            parse_layers(bad)


def test_a_config_file_gives_the_layers_as_tables(tmp_path):
    (tmp_path / "cnn.toml").write_text('data = "digits"\n[[layers]]\ntype = "conv"\nfilters = 4\nkernel = 3\n'
                                       'padding = "same"\n[[layers]]\ntype = "maxpool"\nsize = 2\n')
    values = read_config_file(tmp_path / "cnn.toml")
    assert values["layers"] == ({"type": "conv", "filters": 4, "kernel": 3, "padding": "same"},
                                {"type": "maxpool", "size": 2})
    (tmp_path / "bad.toml").write_text('[[layers]]\ntype = "conv"\nfilter = 4\n')
    with pytest.raises(Exception, match="unknown key"):
        read_config_file(tmp_path / "bad.toml")
    status = call_main(["train", "--config", str(tmp_path / "cnn.toml"), "--epochs", "1",
                        "--out", str(tmp_path / "run"), "--quiet"])
    assert status == 0


def test_info_shows_each_layers_output_shape_and_parameters(cnn_run, capsys):
    status, out, _ = call(capsys, "info", cnn_run / "model.safetensors")
    assert status == 0
    assert "Conv2D" in out and "(8, 8, 8)" in out and "(8, 1, 3, 3)" in out and "MaxPool2D" in out
    assert "file format version: 2" in out and "inputs: 1 x 8 x 8" in out
    description = json.loads(call(capsys, "info", cnn_run / "model.safetensors", "--json")[1])
    assert description["layers"][0]["parameters"] == 8 * 9 + 8 and description["input_shape"] == [1, 8, 8]



def test_info_of_a_cnn_shows_what_loading_it_describes(cnn_run):
    from layerwise.cli.info import model_description, recorded_description
    from layerwise.cli.model import load_model

    recorded = recorded_description(cnn_run / "model.safetensors")
    assert recorded is not None and recorded == model_description(load_model(cnn_run / "model.safetensors"))

def test_evaluate_predict_and_export_agree_on_a_cnn(cnn_run, tmp_path, capsys):
    import onnxruntime

    X = datasets.load_digits().data
    np.save(tmp_path / "x.npy", X)
    status, out, _ = call(capsys, "evaluate", cnn_run / "model.safetensors", "--data", "digits")
    assert status == 0 and "accuracy" in out
    assert call(capsys, "export", cnn_run / "model.safetensors", "--onnx", tmp_path / "m.onnx")[0] == 0
    session = onnxruntime.InferenceSession(str(tmp_path / "m.onnx"), providers=["CPUExecutionProvider"])
    onnx_out = session.run(None, {"X": X.reshape(-1, 1, 8, 8).astype(np.float32)})[0]
    out = call(capsys, "predict", cnn_run / "model.safetensors", tmp_path / "x.npy", "--proba")[1]
    expected = np.array([line.split(",")[1:] for line in out.splitlines()[1:]], dtype=float)
    np.testing.assert_allclose(onnx_out, expected, rtol=1e-4, atol=1e-5)
    net = lw.load(cnn_run / "model.safetensors")  # raw pixels in, the saved per-pixel scaler applied
    np.testing.assert_allclose(net.predict_proba(X), expected, rtol=1e-4, atol=1e-5)
    module = lw.to_torch(net)  # the scaler cannot fold into a padded convolution: a first x * scale + shift
    with torch.no_grad():
        torch_out = module(torch.from_numpy(X.reshape(-1, 1, 8, 8).astype(np.float32))).numpy()
    np.testing.assert_allclose(torch_out, expected, rtol=1e-4, atol=1e-5)


def test_explain_gradcheck_and_diagnose_take_layers(tmp_path, capsys):
    status, out, _ = call(capsys, "explain", "--arch", "lenet5", "--input-shape", "1x28x28", "--outputs", "10")
    assert status == 0
    assert "cols1 (25, 25088) = im2col(A0 (32, 1, 28, 28)" in out and "col2im(" in out
    status, out, _ = call(capsys, "gradcheck", "--layers", "conv:3x3x3,tanh,same; avgpool:2; flatten",
                          "--input-shape", "2x6x6")
    assert status == 0, out
    status, out, _ = call(capsys, "diagnose", "--layers", "conv:4x3x3,relu; maxpool:2; flatten", "--epochs", "2",
                          "--out", str(tmp_path / "diag"))
    assert status == 0 and re.search(r"^\s+1\s+relu\s+4\s", out, re.M)  # the convolution's row: its 4 filters


def test_lenet5_on_8x8_digits_is_refused_when_built(tmp_path, capsys):
    status, _, err = call(capsys, "train", "--arch", "lenet5", "--out", str(tmp_path / "x"))
    assert status == 2
    assert "Conv2D layer 3: its 5x5 kernel does not fit its input of 4x4" in err
