"""Every configurable loss and activation keeps its settings through save/load, astype, copy, deepcopy, pickle
and ONNX: the registries are searched for constructor arguments, each is set away from its default, and the
round-tripped network must compute the same loss, gradients and outputs as the original (and differ from the
default settings, so that a lost setting shows)."""

import copy
import inspect
import json
import pickle

import numpy as np
import pytest

import layerwise as lw


def changed_arguments(cls) -> dict:
    """Each numeric constructor argument moved away from its default (booleans flipped)."""
    arguments = {}
    for name, parameter in inspect.signature(cls.__init__).parameters.items():
        default = parameter.default
        if isinstance(default, bool):
            arguments[name] = not default
        elif isinstance(default, (int, float)):
            arguments[name] = 0.5 * default + 0.05
    return arguments


CONFIGURABLE_ACTIVATIONS = [name for name, cls in lw.ACTIVATIONS.items() if changed_arguments(cls)]
CONFIGURABLE_LOSSES = [name for name, cls in lw.LOSSES.items() if changed_arguments(cls)]
TRIPS = ["save", "astype float64", "astype float32", "copy", "deepcopy", "pickle"]


CLASSIFICATION_LOSSES = {name for name, cls in lw.LOSSES.items() if cls.task == "classification"}


def test_the_registries_have_configurable_entries():
    assert {"leaky_relu", "elu"} <= set(CONFIGURABLE_ACTIVATIONS) and "huber" in CONFIGURABLE_LOSSES


def round_trip(net, trip, tmp_path):
    if trip == "save":
        net.save(tmp_path / "m.safetensors")
        return lw.load(tmp_path / "m.safetensors")
    if trip.startswith("astype"):
        return net.astype(trip.split()[1])
    return {"copy": net.copy, "deepcopy": lambda: copy.deepcopy(net),
            "pickle": lambda: pickle.loads(pickle.dumps(net))}[trip]()


def data(net, seed=0):
    """Inputs and targets for the network's loss, with residuals large and small."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(16, 3)) * 2
    if net.loss_fn.name in CLASSIFICATION_LOSSES:
        return X, rng.integers(0, 2, size=16)
    return X, np.abs(rng.normal(size=(16, 2))) * 3


def loss_network(name, arguments, dtype="float64"):
    loss = lw.LOSSES[name](**arguments)
    output = "sigmoid" if name in CLASSIFICATION_LOSSES else "softplus"  # positive outputs suit every loss
    units = 1 if name in CLASSIFICATION_LOSSES else 2
    return lw.Network([lw.Dense(4, activation="tanh"), lw.Dense(units, activation=output)], loss=loss,
                      input_dim=3, seed=0, dtype=dtype)


def activation_network(name, arguments, dtype="float64"):
    activation = lw.ACTIVATIONS[name](**arguments)
    return lw.Network([lw.Dense(5, activation=activation), lw.Dense(2, activation=activation),
                       lw.Dense(1, activation="identity")], input_dim=3, seed=0, dtype=dtype)


def loss_and_gradients(net, X, Y):
    AL, cache = net.forward(X)
    grads = net.backward(cache, Y)
    return net.loss(AL, Y), AL, grads["dW1"], grads["db2"]


def assert_same(mine, theirs, float32: bool):
    """Bit for bit, or to float32's rounding after ``astype("float32")``."""
    for a, b in zip(mine, theirs):
        np.testing.assert_allclose(b, a, rtol=1e-4 if float32 else 0, atol=1e-6 if float32 else 0)


@pytest.mark.parametrize("trip", TRIPS)
@pytest.mark.parametrize("name", CONFIGURABLE_LOSSES)
def test_a_loss_keeps_its_settings(name, trip, tmp_path):
    arguments = changed_arguments(lw.LOSSES[name])
    net = loss_network(name, arguments)
    twin = round_trip(net, trip, tmp_path)
    assert type(twin.loss_fn) is type(net.loss_fn)
    assert twin.loss_fn.get_config() == net.loss_fn.get_config() == arguments
    X, Y = data(net)
    default = net.copy()
    default.loss_fn = lw.LOSSES[name]()
    assert loss_and_gradients(default, X, Y)[0] != loss_and_gradients(net, X, Y)[0]  # the setting matters here
    assert_same(loss_and_gradients(net, X, Y), loss_and_gradients(twin, X, Y), trip == "astype float32")


@pytest.mark.parametrize("trip", TRIPS)
@pytest.mark.parametrize("name", CONFIGURABLE_ACTIVATIONS)
def test_an_activation_keeps_its_settings(name, trip, tmp_path):
    arguments = changed_arguments(lw.ACTIVATIONS[name])
    net = activation_network(name, arguments)
    twin = round_trip(net, trip, tmp_path)
    for mine, theirs in zip(net.dense, twin.dense):
        assert type(theirs.activation) is type(mine.activation)
        assert theirs.activation.get_config() == mine.activation.get_config()
    assert net.dense[0].activation.get_config() == arguments
    X, Y = np.random.default_rng(1).normal(size=(16, 3)) * 2, np.zeros((16, 1))
    default = activation_network(name, {})
    assert not np.allclose(default.predict(X), net.predict(X))
    assert_same(loss_and_gradients(net, X, Y), loss_and_gradients(twin, X, Y), trip == "astype float32")


def test_gradcheck_checks_the_loss_that_was_trained():
    net = loss_network("huber", {"delta": 0.1}, dtype="float32")
    X, Y = data(net)
    assert net.astype("float64").loss_fn.delta == 0.1
    assert lw.gradcheck(net, X, Y).ok


def test_a_checkpoint_of_another_loss_setting_is_refused(tmp_path):
    X, Y = data(loss_network("huber", {}))
    loss_network("huber", {"delta": 0.1}).fit(X, Y, epochs=1, verbose=0, checkpoint=tmp_path / "c.safetensors")
    with pytest.raises(lw.ModelFileError, match="different network"):
        loss_network("huber", {}).fit(X, Y, epochs=2, verbose=0, resume_from=tmp_path / "c.safetensors")


@pytest.mark.parametrize("name", CONFIGURABLE_LOSSES)
def test_onnx_metadata_keeps_the_loss_settings(name):
    pytest.importorskip("onnx")
    arguments = changed_arguments(lw.LOSSES[name])
    model = lw.to_onnx(loss_network(name, arguments, dtype="float32"))
    props = {prop.key: prop.value for prop in model.metadata_props}
    assert props["layerwise.loss"] == name and json.loads(props["layerwise.loss_args"]) == arguments


@pytest.mark.parametrize("name", CONFIGURABLE_ACTIVATIONS)
def test_onnx_runs_the_activation_with_its_settings(name):
    onnxruntime = pytest.importorskip("onnxruntime")
    net = activation_network(name, changed_arguments(lw.ACTIVATIONS[name]), dtype="float32")
    session = onnxruntime.InferenceSession(lw.to_onnx(net).SerializeToString(), providers=["CPUExecutionProvider"])
    X = np.random.default_rng(2).normal(size=(32, 3)).astype(np.float32) * 2
    np.testing.assert_allclose(session.run(None, {"X": X})[0], net.predict(X), rtol=1e-5, atol=1e-6)
