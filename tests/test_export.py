"""ONNX export checked in onnxruntime, and PyTorch conversion checked against torch's own forward pass."""

import os
import subprocess
import sys
import textwrap

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch
from onnx.reference import ReferenceEvaluator

import layerwise as lw
from layerwise.interop.export import MissingDependencyError, from_torch, to_onnx, to_torch
from layerwise.ops.activations import ACTIVATIONS, ELU, LeakyReLU, get_activation

# exp is an output activation: stacked on these wide inputs it overflows to infinity
HIDDEN = sorted(set(ACTIVATIONS) - {"exp"}) + ["leaky_relu_0.2", "elu_1.3", "elu_scaled"]
OUTPUTS = [  # (output activation, units, loss)
    ("softmax", 3, "cross_entropy"),
    ("sigmoid", 1, "binary_cross_entropy"),
    ("sigmoid", 3, "binary_cross_entropy"),
    ("identity", 2, "mse"),
    ("tanh", 2, "mse"),
    ("softplus", 1, "mae"),
    ("silu", 2, "huber"),
    ("softmax", 4, "mse"),
    ("exp", 2, "poisson"),
]


def activation(name):
    """Registered names plus activations with non-default parameters."""
    custom = {"leaky_relu_0.2": LeakyReLU(0.2), "elu_1.3": ELU(alpha=1.3), "elu_scaled": ELU(alpha=0.7, scale=1.2)}
    return custom.get(name) or get_activation(name)


def make_net(hidden="tanh", output=("identity", 2, "mse"), dtype="float32", dropout=False, n_in=5, seed=0):
    out_act, units, loss = output
    layers = [lw.Dense(7, activation=activation(hidden))]
    if dropout:
        layers.append(lw.Dropout(0.3))
    layers += [lw.Dense(6, activation=activation(hidden)), lw.Dense(units, activation=out_act)]
    net = lw.Network(layers, loss=loss, input_dim=n_in, seed=seed, dtype=dtype)
    net.theta[net.n_weights:] = net.rng.normal(0, 0.5, net.theta.size - net.n_weights)  # non-zero biases
    return net


def inputs(net, m, seed=1):
    """Inputs wide enough to reach the saturating and linear regions of every activation."""
    return (3 * np.random.default_rng(seed).standard_normal((m, net.input_dim))).astype(net.dtype)


def run_onnx(model, X):
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return session.run(None, {"X": X})[0]


def check_predictions(net, Y, X):
    np.testing.assert_allclose(Y, net.predict_proba(X), rtol=1e-5, atol=1e-5)
    if net.loss_fn.name == "cross_entropy":
        index = Y.argmax(axis=1)
        np.testing.assert_array_equal(index if net.classes is None else np.asarray(net.classes)[index], net.predict(X))
    elif net.loss_fn.name == "binary_cross_entropy":
        labels = (Y > 0.5).astype(int)
        np.testing.assert_array_equal(labels.ravel() if Y.shape[1] == 1 else labels, net.predict(X))


# ---------------------------------------------------------------------- ONNX
@pytest.mark.parametrize("opset", [17, 20])
@pytest.mark.parametrize("hidden", HIDDEN)
def test_onnx_matches_network_for_every_hidden_activation(hidden, opset):
    net = make_net(hidden, OUTPUTS[0], dropout=True)
    model = to_onnx(net, opset=opset)
    for m in (1, 37):  # the batch dimension is dynamic
        X = inputs(net, m)
        check_predictions(net, run_onnx(model, X), X)


@pytest.mark.parametrize("output", OUTPUTS, ids=lambda case: f"{case[0]}-{case[1]}-{case[2]}")
def test_onnx_matches_network_for_every_output(output):
    net = make_net("relu", output)
    model = to_onnx(net)
    for m in (2, 50):
        X = inputs(net, m)
        check_predictions(net, run_onnx(model, X), X)


def test_onnx_graph_layout():
    net = make_net("silu", OUTPUTS[0], dropout=True)
    model = to_onnx(net)
    onnx.checker.check_model(model, full_check=True)
    graph = model.graph
    assert [i.name for i in graph.input] == ["X"] and [o.name for o in graph.output] == ["Y"]
    dims = graph.input[0].type.tensor_type.shape.dim
    assert (dims[0].dim_param, dims[1].dim_value) == ("batch", net.input_dim)
    assert graph.input[0].type.tensor_type.elem_type == onnx.TensorProto.FLOAT
    assert graph.output[0].type.tensor_type.shape.dim[1].dim_value == 3
    assert model.opset_import[0].version == 17
    gemms = [node for node in graph.node if node.op_type == "Gemm"]
    assert len(gemms) == net.L
    assert all(onnx.helper.get_node_attr_value(node, "transB") == 1 for node in gemms)
    assert not any(node.op_type == "Dropout" for node in graph.node)
    weights = {t.name: onnx.numpy_helper.to_array(t) for t in graph.initializer}
    for name, value in net.params.items():
        np.testing.assert_array_equal(weights[name], value)
        assert weights[name].dtype == np.float32
    assert dict((p.key, p.value) for p in model.metadata_props)["layerwise.loss"] == "cross_entropy"


def test_onnx_gelu_uses_erf_before_opset_20_and_gelu_from_it():
    net = make_net("gelu")
    ops_17 = {node.op_type for node in to_onnx(net, opset=17).graph.node}
    ops_20 = {node.op_type for node in to_onnx(net, opset=20).graph.node}
    assert "Erf" in ops_17 and "Gelu" not in ops_17
    assert "Gelu" in ops_20 and "Erf" not in ops_20


def test_onnx_activation_parameters_are_written():
    net = lw.Network([lw.Dense(3, LeakyReLU(0.2)), lw.Dense(3, ELU(alpha=0.7)), lw.Dense(3, ELU(0.7, 1.2)),
                      lw.Dense(2, "selu")], input_dim=2, seed=0)
    nodes = [node for node in to_onnx(net).graph.node if node.op_type != "Gemm"]
    attributes = [(node.op_type, {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute})
                  for node in nodes]
    expected = [("LeakyRelu", {"alpha": 0.2}), ("Elu", {"alpha": 0.7}), ("Selu", {"alpha": 0.7, "gamma": 1.2}),
                ("Selu", {"alpha": 1.6732632423543772, "gamma": 1.0507009873554805})]
    assert [op for op, _ in attributes] == [op for op, _ in expected]
    for (_, got), (_, want) in zip(attributes, expected):
        assert got == pytest.approx(want, rel=1e-7)


@pytest.mark.parametrize("hidden", ["relu", "leaky_relu", "tanh", "sigmoid", "silu", "softmax"])
def test_onnx_float64_runs_in_onnxruntime(hidden):
    net = make_net(hidden, OUTPUTS[0], dtype="float64")
    model = to_onnx(net)
    assert model.graph.input[0].type.tensor_type.elem_type == onnx.TensorProto.DOUBLE
    assert all(onnx.numpy_helper.to_array(t).dtype == np.float64 for t in model.graph.initializer)
    X = inputs(net, 9)
    rtol = 1e-7 if hidden == "leaky_relu" else 1e-12  # ONNX attributes are float32
    np.testing.assert_allclose(run_onnx(model, X), net.predict_proba(X), rtol=rtol, atol=rtol)


@pytest.mark.parametrize("hidden", HIDDEN)
def test_onnx_float64_matches_in_the_reference_evaluator(hidden):
    net = make_net(hidden, OUTPUTS[3], dtype="float64")
    model = to_onnx(net)
    onnx.checker.check_model(model, full_check=True)
    X = inputs(net, 6)
    Y = ReferenceEvaluator(model).run(None, {"X": X})[0]
    assert Y.dtype == np.float64
    np.testing.assert_allclose(Y, net.predict_proba(X), rtol=1e-6, atol=1e-6)


def test_onnx_save_is_atomic_and_loadable(tmp_path):
    net = make_net("relu", OUTPUTS[0])
    net.classes = ["a", "b", "c"]
    path = tmp_path / "model.onnx"
    path.write_bytes(b"old contents")
    model = to_onnx(net, path)
    assert os.listdir(tmp_path) == ["model.onnx"]
    loaded = onnx.load(str(path))
    assert loaded.SerializeToString() == model.SerializeToString()
    assert dict((p.key, p.value) for p in loaded.metadata_props)["layerwise.classes"] == '["a", "b", "c"]'
    X = inputs(net, 4)
    check_predictions(net, run_onnx(loaded, X), X)


def test_onnx_save_into_missing_directory_is_a_model_file_error(tmp_path):
    with pytest.raises(lw.ModelFileError, match="cannot save to .*model.onnx.*does not exist"):
        to_onnx(make_net(), tmp_path / "missing" / "model.onnx")


def test_onnx_bad_arguments():
    with pytest.raises(lw.ConfigError, match="opset must be an integer from 13"):
        to_onnx(make_net(), opset=12)
    with pytest.raises(lw.ConfigError, match="opset"):
        to_onnx(make_net(), opset="17")
    with pytest.raises(lw.ConfigError, match="built network"):
        to_onnx(lw.Network([lw.Dense(2)]))
    with pytest.raises(lw.ConfigError, match="expects a layerwise Network, received dict"):
        to_onnx({})


# ------------------------------------------------------------------- PyTorch
def torch_output(module, X):
    with torch.no_grad():
        return module(torch.from_numpy(X)).numpy()


@pytest.mark.parametrize("dtype,tol", [("float32", 1e-6), ("float64", 1e-12)])
@pytest.mark.parametrize("hidden", [h for h in HIDDEN if h != "elu_scaled"])
def test_to_torch_matches_forward(hidden, dtype, tol):
    net = make_net(hidden, OUTPUTS[0], dtype=dtype, dropout=True)
    module = to_torch(net)
    assert not module.training
    assert all(p.dtype == getattr(torch, dtype) for p in module.parameters())
    X = inputs(net, 20) * (10 if dtype == "float64" else 1)  # float64: past torch Softplus's threshold of 40
    AL = net.forward(X)[0]
    np.testing.assert_allclose(torch_output(module, X), AL, rtol=tol, atol=tol)


@pytest.mark.parametrize("output", OUTPUTS, ids=lambda case: f"{case[0]}-{case[1]}-{case[2]}")
def test_to_torch_matches_forward_for_every_output(output):
    net = make_net("elu", output, dtype="float64")
    X = inputs(net, 11)
    np.testing.assert_allclose(torch_output(to_torch(net), X), net.forward(X)[0], rtol=1e-12, atol=1e-12)


def test_to_torch_layout():
    net = make_net("leaky_relu_0.2", OUTPUTS[0], dropout=True)
    module = to_torch(net)
    kinds = [type(child).__name__ for child in module]
    assert kinds == ["Linear", "LeakyReLU", "Dropout", "Linear", "LeakyReLU", "Linear", "Softmax"]
    assert module[1].negative_slope == pytest.approx(0.2) and module[2].p == pytest.approx(0.3)
    np.testing.assert_array_equal(module[0].weight.detach().numpy(), net.params["W1"])
    np.testing.assert_array_equal(module[5].bias.detach().numpy(), net.params["b3"])
    module[0].weight.data.zero_()
    assert net.params["W1"].any()  # a copy, not a view


def test_to_torch_rejects_a_scaled_elu():
    with pytest.raises(lw.ConfigError, match="ELU with scale=1.2 has no torch.nn module"):
        to_torch(make_net("elu_scaled"))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("hidden", [h for h in HIDDEN if h != "elu_scaled"])
def test_torch_round_trip_is_exact(hidden, dtype):
    for output in (OUTPUTS[0], OUTPUTS[2], OUTPUTS[4]):
        net = make_net(hidden, output, dtype=dtype, dropout=True)
        twin = from_torch(to_torch(net), loss=None if output[2] != "mse" or output[0] == "identity" else "mse")
        assert twin.get_config()["layers"] == net.get_config()["layers"]
        assert twin.loss_fn.name == net.loss_fn.name and twin.dtype == net.dtype
        np.testing.assert_array_equal(twin.theta, net.theta)
        X = inputs(net, 8)
        np.testing.assert_array_equal(twin.predict_proba(X), net.predict_proba(X))
        np.testing.assert_array_equal(twin.predict(X), net.predict(X))
        for a, b in zip(twin.dense, net.dense):
            assert vars(a.activation) == vars(b.activation)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_torch_round_trip_of_an_exp_output_is_exact(dtype):
    net = make_net("tanh", ("exp", 2, "poisson"), dtype=dtype)
    module = to_torch(net)
    assert type(module[-1]).__name__ == "Exp"
    twin = from_torch(module, loss="poisson")
    assert twin.get_config()["layers"] == net.get_config()["layers"]
    X = inputs(net, 8)
    np.testing.assert_array_equal(twin.predict_proba(X), net.predict_proba(X))


def test_from_torch_on_a_hand_built_sequential():
    torch.manual_seed(0)
    module = torch.nn.Sequential(
        torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Dropout(0.1),
        torch.nn.Linear(8, 8, bias=False), torch.nn.Identity(), torch.nn.LeakyReLU(0.3),
        torch.nn.Sequential(torch.nn.Linear(8, 6), torch.nn.GELU()),
        torch.nn.Linear(6, 3), torch.nn.Softmax(dim=-1),
    ).eval()
    net = from_torch(module)
    assert [type(layer).__name__ for layer in net.layers] == ["Dense", "Dropout", "Dense", "Dense", "Dense"]
    assert [layer.activation.name for layer in net.dense] == ["relu", "leaky_relu", "gelu", "softmax"]
    assert net.dense[1].activation.negative_slope == pytest.approx(0.3)
    assert net.loss_fn.name == "cross_entropy" and net.dtype == np.float32 and net.input_dim == 4
    assert not net.params["b2"].any()
    X = np.random.default_rng(0).standard_normal((10, 4)).astype(np.float32)
    np.testing.assert_allclose(net.predict_proba(X), torch_output(module, X), rtol=1e-6, atol=1e-6)


def test_from_torch_on_a_state_dict():
    torch.manual_seed(1)
    module = torch.nn.Sequential(torch.nn.Linear(5, 9), torch.nn.ReLU(), torch.nn.Linear(9, 4), torch.nn.ReLU(),
                                 torch.nn.Linear(4, 2)).double()
    net = from_torch(module.state_dict())
    assert [layer.activation.name for layer in net.dense] == ["relu", "relu", "identity"]
    assert net.loss_fn.name == "mse" and net.dtype == np.float64
    X = np.random.default_rng(0).standard_normal((7, 5))
    np.testing.assert_allclose(net.predict(X), torch_output(module, X), rtol=1e-12, atol=1e-12)


def test_from_torch_on_a_state_dict_with_activations_and_numpy_values():
    torch.manual_seed(2)
    module = torch.nn.Sequential(torch.nn.Linear(3, 5), torch.nn.Tanh(), torch.nn.Linear(5, 1), torch.nn.Sigmoid())
    state = {key: value.numpy() for key, value in module.state_dict().items()}
    net = from_torch(state, activations=["tanh", "sigmoid"], dtype="float64")
    assert net.loss_fn.name == "binary_cross_entropy" and net.dtype == np.float64
    X = np.random.default_rng(0).standard_normal((6, 3)).astype(np.float32)
    np.testing.assert_allclose(net.predict_proba(X), torch_output(module, X), rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("bad,name", [
    (torch.nn.Conv1d(1, 1, 3), "Conv1d"),
    (torch.nn.BatchNorm1d(4, affine=False), "BatchNorm1d"),
    (torch.nn.GELU(approximate="tanh"), "GELU"),
    (torch.nn.Softplus(beta=2), "Softplus"),
    (torch.nn.Softmax(dim=0), "Softmax"),
])
def test_from_torch_rejects_unsupported_modules(bad, name):
    module = torch.nn.Sequential(torch.nn.Linear(4, 4), bad, torch.nn.Linear(4, 2))
    with pytest.raises(lw.ConfigError, match=rf"module 1 \({name}") as info:
        from_torch(module)
    assert "supported" in str(info.value)


def test_from_torch_rejects_misplaced_activations_and_bad_sources():
    nn = torch.nn
    with pytest.raises(lw.ConfigError, match=r"module 2 \(Tanh\(\)\) must directly follow a Linear"):
        from_torch(nn.Sequential(nn.Linear(2, 2), nn.ReLU(), nn.Tanh()))
    with pytest.raises(lw.ConfigError, match="module 0"):
        from_torch(nn.Sequential(nn.ReLU(), nn.Linear(2, 2)))
    with pytest.raises(lw.ConfigError, match="module 2"):
        from_torch(nn.Sequential(nn.Linear(2, 2), nn.Dropout(0.5), nn.ReLU()))
    with pytest.raises(lw.ConfigError, match="received Bilinear"):
        from_torch(nn.Bilinear(2, 2, 2))
    with pytest.raises(lw.ConfigError, match="received list"):
        from_torch([nn.Linear(2, 2)])
    with pytest.raises(lw.ConfigError, match="no Linear layer"):
        from_torch(nn.Sequential(nn.Identity()))
    with pytest.raises(lw.ConfigError, match="state_dict only"):
        from_torch(nn.Sequential(nn.Linear(2, 2)), activations=["relu"])


def test_from_torch_rejects_bad_state_dicts():
    state = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.BatchNorm1d(3), torch.nn.Linear(3, 2)).state_dict()
    with pytest.raises(lw.ConfigError, match="'1.running_mean' is not a Linear weight or bias"):
        from_torch(state)
    with pytest.raises(lw.ShapeError, match="2.weight expects 4 inputs but the layer before it"):
        from_torch({"0.weight": torch.zeros(3, 4), "2.weight": torch.zeros(2, 4)})
    with pytest.raises(lw.ShapeError, match=r"0.bias must have shape \(3,\)"):
        from_torch({"0.weight": torch.zeros(3, 4), "0.bias": torch.zeros(4)})
    with pytest.raises(lw.ConfigError, match="must be 2-D"):
        from_torch({"conv.weight": torch.zeros(1, 1, 3, 3)})
    with pytest.raises(lw.ConfigError, match="one entry per Linear layer"):
        from_torch({"0.weight": torch.zeros(3, 4)}, activations=["relu", "relu"])
    with pytest.raises(lw.ConfigError, match="unknown activation 'swish'"):
        from_torch({"0.weight": torch.zeros(3, 4)}, activations=["swish"])
    with pytest.raises(lw.ShapeError, match="input_dim is 5 but the first Linear layer has 4"):
        from_torch({"0.weight": torch.zeros(3, 4)}, input_dim=5)
    with pytest.raises(lw.DataError, match="0.weight"):
        from_torch({"0.weight": torch.full((3, 4), float("nan"))})
    with pytest.raises(lw.ConfigError, match="bias but no 0.weight"):
        from_torch({"0.bias": torch.zeros(3)})


def test_from_torch_widens_half_precision_and_fills_missing_bias():
    net = from_torch({"fc.weight": torch.ones(2, 3, dtype=torch.bfloat16)})
    assert net.dtype == np.float32 and net.params["W1"].tolist() == [[1, 1, 1]] * 2
    assert not net.params["b1"].any()


# ------------------------------------------------------- missing dependencies
def run_without(module, code):
    script = f"import sys\nsys.modules[{module!r}] = None\n" + textwrap.dedent(code)
    return subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)


def test_missing_torch_raises_a_clear_error():
    result = run_without("torch", """
        import layerwise as lw
        from layerwise.interop.export import MissingDependencyError, from_torch, to_onnx, to_torch
        net = lw.Network([lw.Dense(2)], input_dim=2)
        to_onnx(net)
        for call in (lambda: to_torch(net), lambda: from_torch(object())):
            try:
                call()
            except MissingDependencyError as exc:
                assert isinstance(exc, lw.LayerwiseError)
                print(exc)
        print(from_torch({"0.weight": [[1.0, 2.0]]}).params["W1"].tolist())
    """)
    assert result.returncode == 0, result.stderr
    assert result.stdout.count('pip install "layerwise[torch]"') == 2
    assert "[[1.0, 2.0]]" in result.stdout


def test_missing_onnx_raises_a_clear_error():
    result = run_without("onnx", """
        import layerwise as lw
        from layerwise.interop.export import to_onnx
        try:
            to_onnx(lw.Network([lw.Dense(2)], input_dim=2))
        except lw.LayerwiseError as exc:
            print(type(exc).__name__, exc)
    """)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("MissingDependencyError")
    assert 'pip install "layerwise[onnx]"' in result.stdout


def test_missing_dependency_error_is_an_import_error():
    assert issubclass(MissingDependencyError, ImportError) and issubclass(MissingDependencyError, lw.LayerwiseError)
