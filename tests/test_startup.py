"""Start-up: the light commands do not import the heavy libraries (scipy, scikit-learn, matplotlib), --help and
the info of a trained model not even NumPy, and ``import layerwise`` imports nothing of the package until a name
is used."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

import layerwise as lw

HEAVY = ("scipy", "sklearn", "matplotlib", "torch", "pandas", "pyarrow")

PROBE = """
import sys
from layerwise.cli import main
try:
    main(sys.argv[1:])
except SystemExit:  # argparse exits after --help
    pass
print("LOADED", *sorted({name.split('.')[0] for name in sys.modules}))
print("MODULES", *sorted(sys.modules))
"""


def loaded_after(*argv: str, prefix: str = "LOADED") -> set[str]:
    """The top-level packages (``prefix="MODULES"``: all modules) loaded by running ``layerwise *argv``."""
    result = subprocess.run([sys.executable, "-c", PROBE, *argv], capture_output=True, text=True, timeout=120)
    line = [line for line in result.stdout.splitlines() if line.startswith(prefix)]
    assert line, result.stderr
    return set(line[-1].split()[1:])


@pytest.fixture(scope="module")
def model_path(tmp_path_factory):
    out = tmp_path_factory.mktemp("run") / "iris"
    from layerwise.cli import main

    assert main(["train", "--data", "iris", "--epochs", "1", "--out", str(out), "--quiet"]) == 0
    return str(out / "model.safetensors")


def test_import_layerwise_is_light():
    result = subprocess.run([sys.executable, "-c", "import sys, layerwise; print(*sorted(sys.modules))"],
                            capture_output=True, text=True, timeout=120, check=True)
    assert not set(HEAVY) & {name.split(".")[0] for name in result.stdout.split()}


@pytest.mark.parametrize("argv", [["--help"], ["train", "--help"], ["info", "--help"]])
def test_help_imports_none_of_the_heavy_libraries_nor_numpy(argv):
    assert not {*HEAVY, "numpy"} & loaded_after(*argv)


def test_import_layerwise_loads_names_when_used():
    probe = ("import sys, layerwise as lw\nbefore = 'numpy' in sys.modules\n"
             "net = lw.Network([lw.Dense(2)], input_dim=3)\n"
             "print(before, type(net).__module__, lw.io.model_file.__name__, 'Network' in dir(lw))")
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, check=True)
    assert result.stdout.split() == ["False", "layerwise.engine.network", "layerwise.io.model_file", "True"]
    from layerwise import __all__

    assert not [name for name in __all__ if getattr(lw, name, None) is None]


def test_the_options_name_what_the_registries_hold():
    # the parser writes the names out, so that --help needs no NumPy; they must be the registries' names
    from layerwise.cli import config
    from layerwise.ops.activations import ACTIVATIONS
    from layerwise.ops.losses import LOSSES
    from layerwise.optim.optimizers import ALIASES, OPTIMIZERS
    from layerwise.optim.schedules import SCHEDULES

    assert config.activation_name.names == tuple(sorted(ACTIVATIONS))
    assert config.loss_name.names == tuple(sorted(set(LOSSES) - {"poisson"}))
    assert config.optimizer_name.names == tuple(sorted([*OPTIMIZERS, *ALIASES]))
    assert config.schedule_name.names == tuple(sorted(SCHEDULES))


def test_info_of_a_trained_model_imports_neither_numpy_nor_the_heavy_libraries(model_path):
    # the file records its summary: info reads the header and checks the digest, with no array
    assert not {*HEAVY, "numpy"} & loaded_after("info", model_path)


def without_summary(path: Path) -> Path:
    """``path``, a model file, with the summary left out of its document, as layerwise 0.1.0 wrote them."""
    data = path.read_bytes()
    n = int.from_bytes(data[:8], "little")
    header = json.loads(data[8:8 + n])
    document = json.loads(header["__metadata__"]["layerwise"])
    del document["summary"]
    header["__metadata__"]["layerwise"] = json.dumps(document)
    text = json.dumps(header).encode()
    path.write_bytes(len(text).to_bytes(8, "little") + text + data[8 + n:])
    return path


def test_info_of_a_file_without_a_summary_loads_only_what_reading_a_dense_model_needs(tmp_path):
    # a file without a summary is loaded as a whole (so NumPy and the layers it holds are loaded), but that needs
    # neither the compiled kernels, the network's generator, nor the training, data, option-checking or
    # convolution code
    lw.Network([lw.Dense(4), lw.Dense(2)], input_dim=3, seed=0).save(tmp_path / "net.safetensors")
    loaded = loaded_after("info", str(without_summary(tmp_path / "net.safetensors")), prefix="MODULES")
    assert {"layerwise.io.model_file", "layerwise.layers.dense", "numpy"} <= loaded
    unneeded = {"numba", "llvmlite", "numpy.random", "tomllib", "layerwise.train", "layerwise.optim",
                "layerwise.data.datasets", "layerwise.cli.config", "layerwise.cli.options", "layerwise.cli.data",
                "layerwise.cli.use", "layerwise.layers.conv", "layerwise.layers.pooling", "layerwise.layers.batchnorm"}
    assert not unneeded & loaded


def test_the_probe_sees_a_heavy_import(model_path):
    # evaluate computes scikit-learn's metrics, so the probe must report sklearn there
    assert "sklearn" in loaded_after("evaluate", model_path, "--no-plot")
