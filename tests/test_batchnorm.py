"""BatchNorm against finite differences and PyTorch autograd (float64), in files, checkpoints and exports."""

import numpy as np
import pytest
import torch

import layerwise as lw
from layerwise.engine.params import ParamTable
from layerwise.errors import ShapeError


def network(seed=0, momentum=0.1, eps=1e-5):
    """The pre-activation arrangement, a BatchNorm after a ReLU, and a softmax output."""
    layers = [lw.Dense(6, activation="identity"), lw.BatchNorm(momentum=momentum, eps=eps, activation="relu"),
              lw.Dense(5, activation="tanh"), lw.BatchNorm(momentum=momentum, eps=eps),
              lw.Dense(3, activation="softmax")]
    return lw.Network(layers, input_dim=4, seed=seed, dtype="float64")


def data(m=24, seed=1):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((m, 4)) * 2 + 0.5, rng.integers(0, 3, m)


def test_parameters_are_named_by_kind_and_number_and_not_decayed():
    net = network()
    assert list(net.params) == ["W1", "b1", "gamma2", "beta2", "W3", "b3", "gamma4", "beta4", "W5", "b5"]
    assert list(net.table.state_views) == ["running_mean2", "running_var2", "running_mean4", "running_var4"]
    assert net.n_weights == 6 * 4 + 5 * 6 + 3 * 5  # only the weights are decayed
    np.testing.assert_array_equal(net.params["gamma2"], 1)
    np.testing.assert_array_equal(net.table.state_views["running_var4"], 1)


def test_gradcheck_in_training_mode():
    X, y = data(m=10)
    # b1 feeds a BatchNorm, which subtracts every column's mean: its gradient is exactly zero, and its
    # finite differences are rounding noise, so relative errors are taken against at least 1e-7.
    report = lw.gradcheck(network(), X, y, training=True, tolerance=1e-6, tiny=1e-7)
    assert report.ok, report
    _, cache = network().forward(X, training=True)
    assert np.abs(network().backward(cache, y)["db1"]).max() < 1e-15


def torch_twin(net):
    """The same network in torch, in training mode, with parameters copied."""
    nn = torch.nn
    modules = []
    for layer in net.layers:
        if isinstance(layer, lw.Dense):
            linear = nn.Linear(layer.W.shape[1], layer.units, dtype=torch.float64)
            with torch.no_grad():
                linear.weight.copy_(torch.from_numpy(layer.W))
                linear.bias.copy_(torch.from_numpy(layer.b))
            modules.append(linear)
        else:
            norm = nn.BatchNorm1d(layer.features, eps=layer.eps, momentum=layer.momentum, dtype=torch.float64)
            modules.append(norm)
        modules.append({"identity": nn.Identity(), "relu": nn.ReLU(), "tanh": nn.Tanh(),
                        "softmax": nn.Identity()}[layer.activation.name])  # softmax: inside the loss
    return nn.Sequential(*modules).train()


def test_training_steps_match_torch_autograd_including_the_running_statistics():
    net = network(momentum=0.3)
    X, y = data(m=24)
    model = torch_twin(net)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    for start in range(0, 24, 8):  # three steps of SGD on batches of 8, in order
        xb, yb = torch.from_numpy(X[start:start + 8]), torch.from_numpy(y[start:start + 8])
        optimizer.zero_grad()
        torch.nn.functional.cross_entropy(model(xb), yb).backward()
        optimizer.step()
    net.fit(X, y, epochs=1, batch_size=8, optimizer="sgd", lr=0.1, shuffle=False, verbose=0)
    layers = [module for module in model if isinstance(module, (torch.nn.Linear, torch.nn.BatchNorm1d))]
    for layer, module in zip([layer for layer in net.layers], layers):
        if isinstance(layer, lw.Dense):
            pairs = [(layer.W, module.weight), (layer.b, module.bias)]
        else:
            pairs = [(layer.gamma, module.weight), (layer.beta, module.bias), (layer.running_mean, module.running_mean),
                     (layer.running_var, module.running_var)]
        for ours, theirs in pairs:
            np.testing.assert_allclose(ours, theirs.detach().numpy(), rtol=1e-10, atol=1e-12)
    model.eval()
    with torch.no_grad():
        expected = torch.softmax(model(torch.from_numpy(X)), dim=1).numpy()
    np.testing.assert_allclose(net.predict_proba(X), expected, rtol=1e-10, atol=1e-12)


def test_one_step_gradients_match_torch_autograd():
    net = network()
    X, y = data(m=12)
    model = torch_twin(net)
    torch.nn.functional.cross_entropy(model(torch.from_numpy(X)), torch.from_numpy(y)).backward()
    _, cache = net.forward(X, training=True)
    grads = net.backward(cache, y)
    named = [module for module in model if isinstance(module, (torch.nn.Linear, torch.nn.BatchNorm1d))]
    for layer, module in zip(net.layers, named):
        kinds = ("W", "b") if isinstance(layer, lw.Dense) else ("gamma", "beta")
        for kind, tensor in zip(kinds, (module.weight, module.bias)):
            np.testing.assert_allclose(grads[f"d{kind}{layer.l}"], tensor.grad.numpy(), rtol=1e-10, atol=1e-13)


@pytest.mark.parametrize("activation", ["identity", "sigmoid"])
def test_image_batches_are_normalised_per_channel_as_torch_batchnorm2d(activation):
    rng = np.random.default_rng(3)
    layer = lw.BatchNorm(momentum=0.2, activation=activation)
    layer.needs_dA_prev = True
    layer.build((3, 4, 5), 1, "A0")
    table = ParamTable([layer], np.dtype("float64"))
    table.initialize(rng)
    layer.gamma[...], layer.beta[...] = rng.uniform(0.5, 2, 3), rng.standard_normal(3)
    X, dA = rng.standard_normal((6, 3, 4, 5)) * 3 + 1, rng.standard_normal((6, 3, 4, 5))
    cache, grads = {"A0": X}, {}
    A = layer.forward(X, cache, {}, True)
    dA_prev = layer.backward(dA, cache, grads, {})

    norm = torch.nn.BatchNorm2d(3, momentum=0.2, dtype=torch.float64).train()
    with torch.no_grad():
        norm.weight.copy_(torch.from_numpy(np.array(layer.gamma)))
        norm.bias.copy_(torch.from_numpy(np.array(layer.beta)))
    x = torch.from_numpy(X).requires_grad_()
    a = norm(x) if activation == "identity" else torch.sigmoid(norm(x))
    (a * torch.from_numpy(dA)).sum().backward()  # dA is m dJ/dA: J = (1/m) sum dA * a
    np.testing.assert_allclose(A, a.detach().numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(dA_prev, x.grad.numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(layer.dgamma, norm.weight.grad.numpy() / 6, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(layer.dbeta, norm.bias.grad.numpy() / 6, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(layer.running_mean, norm.running_mean.numpy(), rtol=1e-12)
    np.testing.assert_allclose(layer.running_var, norm.running_var.numpy(), rtol=1e-12)


def test_a_batch_of_one_example_in_training_is_refused_clearly_and_predicts_fine():
    net = network()
    X, y = data(m=9)
    with pytest.raises(ShapeError, match="BatchNorm layer 2 cannot train on a batch of one"):
        net.forward(X[:1], training=True)
    with pytest.raises(ShapeError, match="batches of at least 2"):
        net.fit(X, y, epochs=1, batch_size=4, verbose=0)  # 4 + 4 + 1
    assert net.predict(X[:1]).shape == (1,)


def test_save_and_load_keep_the_running_statistics(tmp_path):
    net = network()
    X, y = data()
    net.fit(X, y, epochs=3, batch_size=6, verbose=0)
    net.save(tmp_path / "bn.safetensors")
    loaded = lw.load(tmp_path / "bn.safetensors")
    np.testing.assert_array_equal(loaded.state, net.state)
    assert loaded.state.any() and not np.array_equal(net.table.state_views["running_var2"], 1)
    np.testing.assert_array_equal(loaded.predict_proba(X), net.predict_proba(X))


def test_resuming_a_checkpoint_equals_the_uninterrupted_run(tmp_path):
    X, y = data()
    whole = network(seed=5)
    whole.fit(X, y, epochs=4, batch_size=6, verbose=0)
    first = network(seed=5)
    first.fit(X, y, epochs=2, batch_size=6, verbose=0, checkpoint=tmp_path / "ck.safetensors")
    resumed = network(seed=5)
    resumed.fit(X, y, epochs=4, batch_size=6, verbose=0, resume_from=tmp_path / "ck.safetensors")
    np.testing.assert_array_equal(resumed.theta, whole.theta)
    np.testing.assert_array_equal(resumed.state, whole.state)


def test_l2_leaves_gamma_and_beta_alone():
    X, y = data(m=8)
    plain, decayed = network(), network()
    decayed.l2 = 0.5
    _, cache = plain.forward(X, training=True)
    g_plain = plain.backward(cache, y)
    _, cache = decayed.forward(X, training=True)
    g_decayed = decayed.backward(cache, y)
    for name in ("dgamma2", "dbeta2", "db1"):
        np.testing.assert_array_equal(g_plain[name], g_decayed[name])
    np.testing.assert_allclose(g_decayed["dW1"] - g_plain["dW1"], 0.5 / 8 * plain.params["W1"], rtol=1e-10)


def trained(seed=0):
    net = network(seed=seed)
    X, y = data()
    net.fit(X, y, epochs=2, batch_size=6, verbose=0)
    return net, X


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_onnx_batch_normalization_uses_the_running_statistics(dtype):
    import onnx
    import onnxruntime as ort

    net, X = trained()
    net = net.astype(dtype)
    model = lw.to_onnx(net)
    assert [node.op_type for node in model.graph.node].count("BatchNormalization") == 2
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    (Y,) = session.run(None, {"X": X.astype(dtype)})
    np.testing.assert_allclose(Y, net.predict_proba(X), rtol=1e-5 if dtype == "float32" else 1e-12, atol=1e-7)
    assert isinstance(model, onnx.ModelProto)


def test_to_torch_and_from_torch_round_trip_with_running_statistics():
    net, X = trained()
    model = lw.to_torch(net)
    assert sum(isinstance(module, torch.nn.BatchNorm1d) for module in model) == 2
    with torch.no_grad():
        np.testing.assert_allclose(model(torch.from_numpy(X)).numpy(), net.predict_proba(X), rtol=1e-12, atol=1e-14)
    twin = lw.from_torch(model)
    assert [type(layer).__name__ for layer in twin.layers] == ["Dense", "BatchNorm", "Dense", "BatchNorm", "Dense"]
    assert twin.layers[1].activation.name == "relu" and twin.layers[1].momentum == pytest.approx(0.1)
    np.testing.assert_array_equal(twin.theta, net.theta)
    np.testing.assert_array_equal(twin.state, net.state)
    np.testing.assert_allclose(twin.predict_proba(X), net.predict_proba(X), rtol=1e-12)


def test_from_torch_refuses_a_batchnorm_of_the_wrong_width():
    model = torch.nn.Sequential(torch.nn.Linear(4, 6), torch.nn.BatchNorm1d(5), torch.nn.Linear(6, 2))
    with pytest.raises(ShapeError, match="normalises 5 features but the layer before it has 6 outputs"):
        lw.from_torch(model)


def test_early_stopping_restores_the_running_statistics_of_the_best_epoch():
    X, y = data(m=30)
    seen = []

    class Record(lw.Callback):
        def on_epoch_end(self, net, epoch, logs):
            seen.append((logs["val_loss"], net.theta.copy(), net.state.copy()))

    net = network(seed=2)
    net.fit(X[:20], y[:20], epochs=12, batch_size=5, lr=0.05, validation_data=(X[20:], y[20:]), verbose=0,
            early_stopping=lw.EarlyStopping(patience=1), callbacks=[Record()])
    best = min(seen, key=lambda record: record[0])
    np.testing.assert_array_equal(net.theta, best[1])
    np.testing.assert_array_equal(net.state, best[2])


def test_the_gradient_monitor_watches_the_dense_layers_of_a_batchnorm_network():
    X, y = data()
    history = network().fit(X, y, epochs=2, batch_size=6, diagnostics=True, verbose=0)
    assert len(history.diagnostics.layers) == 3


@pytest.mark.parametrize("how", ["pickle", "copy"])
def test_a_copied_network_owns_its_buffers_and_its_layers_see_them(how):
    import pickle

    net, X = trained()
    twin = pickle.loads(pickle.dumps(net)) if how == "pickle" else net.copy()
    np.testing.assert_array_equal(twin.predict_proba(X), net.predict_proba(X))
    for layer in twin.layers[1::2]:
        assert np.shares_memory(layer.running_var, twin.state) and np.shares_memory(layer.gamma, twin.theta)
    assert np.shares_memory(twin.params["W1"], twin.theta) and not np.shares_memory(twin.theta, net.theta)
    twin.fit(X, data()[1], epochs=1, verbose=0)
    assert not np.array_equal(twin.state, net.state)
