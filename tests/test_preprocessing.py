"""A model trained by the command line predicts the same everywhere: ``lw.load(...).predict``, ``layerwise
predict``, the ONNX export run by onnxruntime and ``to_torch``, on raw rows; and the stored preprocessing
round-trips and is checked like the rest of a model file."""

import copy
import csv
import io
import pickle

import numpy as np
import pytest
from sklearn import datasets
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

import layerwise as lw
from layerwise import cli
from layerwise.io import model_file as lw_io
from layerwise.preprocessing import Preprocessing, Standardize, fold


def call(capsys, *args):
    status = cli.main([str(arg) for arg in args])
    out, _ = capsys.readouterr()
    assert status == 0
    return list(csv.reader(io.StringIO(out)))


@pytest.fixture(scope="module")
def shapes_run(tmp_path_factory):
    """A CSV classification task with string labels and features on very different scales, trained by the CLI."""
    folder = tmp_path_factory.mktemp("shapes")
    rng = np.random.default_rng(1)
    Z = rng.normal(size=(150, 3))
    labels = np.array(["circle", "square", "star"])[(Z[:, 0] > 0).astype(int) + (Z[:, 1] > 0.4)]
    X = Z * np.array([40.0, 0.02, 3.0]) + np.array([500.0, -1.0, 7.0])
    lines = ["width,depth,hue,kind"] + [f"{a:.17g},{b:.17g},{c:.17g},{kind}" for (a, b, c), kind in zip(X, labels)]
    (folder / "shapes.csv").write_text("\n".join(lines) + "\n")
    (folder / "rows.csv").write_text("\n".join(["width,depth,hue"] + [line.rsplit(",", 1)[0]
                                                                       for line in lines[1:]]) + "\n")
    assert cli.main(["train", "--data", str(folder / "shapes.csv"), "--target", "kind", "--hidden", "12",
                     "--epochs", "60", "--lr", "0.01", "--out", str(folder / "run"), "--quiet"]) == 0
    return folder, X, labels


@pytest.fixture(scope="module")
def diabetes_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("diabetes") / "run"
    assert cli.main(["train", "--data", "diabetes", "--hidden", "16", "--epochs", "20", "--out", str(out),
                     "--quiet"]) == 0
    return out


def onnx_and_torch(net, X):
    import onnxruntime
    import torch

    session = onnxruntime.InferenceSession(lw.to_onnx(net).SerializeToString(), providers=["CPUExecutionProvider"])
    onnx_out = session.run(None, {"X": X.astype(net.dtype)})[0]
    with torch.no_grad():
        torch_out = lw.to_torch(net)(torch.from_numpy(X.astype(net.dtype))).numpy()
    return onnx_out, torch_out


def test_a_cli_classifier_predicts_the_same_labels_everywhere(shapes_run, capsys):
    folder, X, labels = shapes_run
    net = lw.load(folder / "run" / "model.safetensors")
    assert net.classes == ["circle", "square", "star"]
    predicted = net.predict(X)
    proba = net.predict_proba(X)
    # the independent reference: scikit-learn's scaler fitted on the same training rows, then the bare forward pass
    X_train, _, _, _ = train_test_split(X, labels, test_size=0.25, random_state=0, stratify=labels)
    AL, _ = net.forward(StandardScaler().fit(X_train).transform(X))
    np.testing.assert_allclose(proba, AL, rtol=1e-5, atol=1e-6)
    assert (predicted == labels).mean() > 0.85
    rows = call(capsys, "predict", folder / "run" / "model.safetensors", folder / "rows.csv", "--proba")
    assert rows[0] == ["prediction", "proba_circle", "proba_square", "proba_star"]
    assert [row[0] for row in rows[1:]] == list(predicted)
    np.testing.assert_allclose(np.array([row[1:] for row in rows[1:]], dtype=float), proba, rtol=1e-5, atol=1e-6)
    onnx_out, torch_out = onnx_and_torch(net, X)
    for out in (onnx_out, torch_out):
        np.testing.assert_allclose(out, proba, rtol=1e-4, atol=1e-5)
        assert list(np.asarray(net.classes)[out.argmax(axis=1)]) == list(predicted)


def test_a_cli_regressor_predicts_the_same_values_everywhere(diabetes_run, tmp_path, capsys):
    X, y = datasets.load_diabetes(return_X_y=True)
    net = lw.load(diabetes_run / "model.safetensors")
    predicted = net.predict(X).ravel()
    X_train, _, y_train, _ = train_test_split(X, y, test_size=0.25, random_state=0)
    AL, _ = net.forward(StandardScaler().fit(X_train).transform(X))
    np.testing.assert_allclose(predicted, AL.ravel() * y_train.std() + y_train.mean(), rtol=1e-5)
    assert 100 < predicted.mean() < 200  # the targets' scale (about 152), not the standardised one
    np.save(tmp_path / "x.npy", X)
    rows = call(capsys, "predict", diabetes_run / "model.safetensors", tmp_path / "x.npy")
    np.testing.assert_allclose(np.array(rows[1:], dtype=float).ravel(), predicted, rtol=1e-6)
    onnx_out, torch_out = onnx_and_torch(net, X)
    np.testing.assert_allclose(onnx_out.ravel(), predicted, rtol=1e-4)
    np.testing.assert_allclose(torch_out.ravel(), predicted, rtol=1e-4)


def test_forward_and_fit_work_on_the_networks_own_inputs(diabetes_run):
    net = lw.load(diabetes_run / "model.safetensors")
    X, y = datasets.load_diabetes(return_X_y=True)
    inputs = net.preprocessing.transform_inputs(X[:50])
    np.testing.assert_allclose(net.forward(inputs)[0], net.predict_proba(X[:50]), rtol=1e-6)
    assert lw.gradcheck(net, inputs[:8], net.preprocessing.transform_targets(y[:8])).ok
    before = net.predict(X[:50])
    net.fit(inputs, net.preprocessing.transform_targets(y[:50]), epochs=2, verbose=0)
    assert not np.array_equal(net.predict(X[:50]), before)


def chained(dtype="float64"):
    """A regressor behind two chained input steps and two chained target steps (order matters in folding)."""
    rng = np.random.default_rng(3)
    net = lw.Network([lw.Dense(5, activation="tanh"), lw.Dense(2, activation="identity")], input_dim=3, seed=0,
                     dtype=dtype)
    net.preprocessing = Preprocessing(
        inputs=[Standardize([1.0, -2.0, 3.0], [2.0, 0.5, 4.0]), Standardize([0.5, 0.1, -0.2], [3.0, 1.5, 0.25])],
        targets=[Standardize([10.0, -5.0], [2.0, 8.0]), Standardize([0.3, -0.7], [0.5, 3.0])])
    return net, rng.normal(size=(20, 3)) * 5


def by_hand(net, X):
    """The chained steps written out, then the bare forward pass, then the target steps undone last first."""
    (s1, s2), (t1, t2) = net.preprocessing.inputs, net.preprocessing.targets
    A0 = ((X - s1.mean) / s1.scale - s2.mean) / s2.scale
    AL, _ = net.forward(A0)
    return AL, (AL * t2.scale + t2.mean) * t1.scale + t1.mean


def test_chained_steps_apply_in_order_and_fold_in_order():
    net, X = chained()
    AL, expected = by_hand(net, X)
    np.testing.assert_allclose(net.predict_proba(X), AL, rtol=1e-12)
    np.testing.assert_allclose(net.predict(X), expected, rtol=1e-12)
    folded = fold(net)
    assert folded.preprocessing is None and net.preprocessing is not None
    np.testing.assert_allclose(folded.predict(X), expected, rtol=1e-10)


@pytest.mark.parametrize("trip", ["save", "copy", "deepcopy", "pickle", "astype"])
def test_preprocessing_round_trips(trip, tmp_path):
    net, X = chained()
    if trip == "save":
        net.save(tmp_path / "m.safetensors")
        twin = lw.load(tmp_path / "m.safetensors")
        assert lw_io.read(tmp_path / "m.safetensors").format_version == 2
    else:
        twin = {"copy": net.copy, "deepcopy": lambda: copy.deepcopy(net), "pickle": lambda: pickle.loads(
            pickle.dumps(net)), "astype": lambda: net.astype("float64")}[trip]()
    np.testing.assert_array_equal(twin.predict(X), net.predict(X))
    for mine, theirs in zip(net.preprocessing.inputs + net.preprocessing.targets,
                            twin.preprocessing.inputs + twin.preprocessing.targets):
        np.testing.assert_array_equal(mine.mean, theirs.mean)
        np.testing.assert_array_equal(mine.scale, theirs.scale)


def test_a_0_1_0_cli_file_with_scaler_tensors_is_read_as_preprocessing(tmp_path):
    net, X = chained()
    steps = net.preprocessing
    net.preprocessing = None
    lw_io.save(net, tmp_path / "old.safetensors", metadata={"cli": {}}, tensors={
        "scaler.mean": steps.inputs[0].mean, "scaler.scale": steps.inputs[0].scale,
        "target_scaler.mean": steps.targets[0].mean, "target_scaler.scale": steps.targets[0].scale})
    loaded = lw.load(tmp_path / "old.safetensors")
    AL, _ = net.forward((X - steps.inputs[0].mean) / steps.inputs[0].scale)
    np.testing.assert_allclose(loaded.predict(X), AL * steps.targets[0].scale + steps.targets[0].mean, rtol=1e-12)


def test_raw_rows_of_the_wrong_width_are_named():
    net, X = chained()
    with pytest.raises(lw.ShapeError, match="standardize preprocessing step expects 3 feature column"):
        net.predict(X[:, :2])


def test_preprocessing_that_does_not_fit_the_network_is_refused(tmp_path):
    net, _ = chained()
    net.preprocessing = Preprocessing(inputs=[Standardize([0.0, 0.0], [1.0, 1.0])])
    with pytest.raises(lw.ConfigError, match="returns 2 column.*network has 3 input"):
        net.save(tmp_path / "m.safetensors")
    with pytest.raises(lw.ConfigError, match="takes 2 column.*returns 3"):
        Preprocessing(inputs=[Standardize([0.0] * 3, [1.0] * 3), Standardize([0.0] * 2, [1.0] * 2)])
    with pytest.raises(lw.ConfigError, match="finite, positive scale"):
        Standardize([0.0], [0.0])


@pytest.mark.parametrize("mutate, message", [
    (lambda doc, tensors: doc["preprocessing"]["inputs"][0].update(type="rescale"),
     "unknown preprocessing step 'rescale'"),
    (lambda doc, tensors: tensors.pop("preprocessing.inputs.0.scale"), "names the tensor 'preprocessing.inputs.0"),
    (lambda doc, tensors: tensors.update({"preprocessing.inputs.0.scale": np.array([1.0, -1.0, 1.0])}),
     "finite, positive scale"),
    (lambda doc, tensors: doc.update(preprocessing=[]), "must be a JSON object"),
])
def test_a_corrupt_preprocessing_entry_is_named(tmp_path, mutate, message):
    import json

    import safetensors
    import safetensors.numpy

    net, _ = chained()
    net.save(tmp_path / "m.safetensors")
    tensors = safetensors.numpy.load_file(tmp_path / "m.safetensors")
    with safetensors.safe_open(tmp_path / "m.safetensors", "np") as handle:
        document = json.loads(handle.metadata()["layerwise"])
    document.pop("tensors_sha256")  # the edit is the point here, not the digest that would catch it
    mutate(document, tensors)
    (tmp_path / "bad.safetensors").write_bytes(safetensors.numpy.save(tensors, {"layerwise": json.dumps(document)}))
    with pytest.raises(lw.ModelFileError, match=message):
        lw.load(tmp_path / "bad.safetensors")


def test_target_steps_fold_only_into_a_dense_output_layer():
    """A BatchNorm output would have had the target step folded into the Dense layer below it, wrongly."""
    net = lw.Network([lw.Dense(4), lw.Dense(1, activation="identity"), lw.BatchNorm()], input_dim=3, seed=0,
                     dtype="float64")
    net.preprocessing = Preprocessing(targets=[Standardize(np.array([2.0]), np.array([3.0]))])
    with pytest.raises(lw.ConfigError, match="folds only into an identity Dense output layer, this network's "
                                             "output layer is BatchNorm"):
        fold(net)
    net.preprocessing = Preprocessing(inputs=[Standardize(np.arange(3.0), np.full(3, 2.0))])
    X = np.random.default_rng(0).standard_normal((5, 3))
    np.testing.assert_allclose(fold(net).predict_proba(X), net.predict_proba(X), rtol=1e-12)
