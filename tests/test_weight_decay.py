"""Weight decay acts on the weights alone: training matches torch.optim with two parameter groups.

torch decays what its parameter groups say; here the weights (``Linear.weight``, ``Conv2d.weight``) are
decayed and biases and BatchNorm's gamma and beta are not, which is what the parameter table's decayed
slice says for a layerwise network. Both optimizer paths (compiled kernels and NumPy) are run.
"""

import numpy as np
import pytest
import torch

import layerwise as lw
from layerwise.errors import ConfigError
from layerwise.optim import kernels

NETWORKS = {
    "dense": lambda: lw.Network([lw.Dense(5, activation="tanh"), lw.Dense(3, activation="softmax")],
                                input_dim=4, seed=0, dtype="float64"),
    # tanh before the BatchNorm: after an identity, b1's gradient would be rounding noise, which Adam magnifies
    "batchnorm": lambda: lw.Network([lw.Dense(6, activation="tanh"), lw.BatchNorm(activation="relu"),
                                     lw.Dense(3, activation="softmax")], input_dim=4, seed=0, dtype="float64"),
    "conv": lambda: lw.Network([lw.Conv2D(2, 3, activation="relu"), lw.MaxPool2D(2), lw.Flatten(),
                                lw.Dense(3, activation="softmax")], input_shape=(1, 6, 6), seed=0, dtype="float64"),
}

OPTIMIZERS = {
    "adamw": ("adamw", {"lr": 0.05, "weight_decay": 0.5}, torch.optim.AdamW, {"lr": 0.05}),
    "adam_l2": ("adam", {"lr": 0.05, "weight_decay": 0.3}, torch.optim.Adam, {"lr": 0.05}),
    "sgd_momentum": ("sgd", {"lr": 0.1, "momentum": 0.9, "weight_decay": 0.3}, torch.optim.SGD,
                     {"lr": 0.1, "momentum": 0.9}),
}


@pytest.fixture(params=["kernels", "numpy"])
def optimizer_path(request, monkeypatch):
    if request.param == "kernels" and not kernels.ENABLED:
        pytest.skip("numba is not available")
    monkeypatch.setattr(kernels, "ENABLED", request.param == "kernels")


def data(net, m=24, seed=1):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((m, net.input_dim)) * 2 + 0.5, rng.integers(0, 3, m)


@pytest.mark.parametrize("case", OPTIMIZERS)
@pytest.mark.parametrize("arch", NETWORKS)
def test_training_matches_torch_with_weights_decayed_and_the_rest_not(arch, case, optimizer_path):
    name, ours, torch_cls, theirs = OPTIMIZERS[case]
    net = NETWORKS[arch]()
    X, y = data(net)
    model = lw.to_torch(net)[:-1].train()  # without the Softmax module: cross_entropy takes the scores
    weights = [module.weight for module in model if isinstance(module, (torch.nn.Linear, torch.nn.Conv2d))]
    rest = [p for p in model.parameters() if all(p is not w for w in weights)]
    assert rest  # biases (and gamma, beta) are there, and must not be decayed
    optimizer = torch_cls([{"params": weights, "weight_decay": ours["weight_decay"]},
                           {"params": rest, "weight_decay": 0.0}], **theirs)
    inputs = torch.from_numpy(X.reshape((-1,) + net.input_shape))
    for _ in range(2):
        for start in range(0, 24, 8):
            optimizer.zero_grad()
            torch.nn.functional.cross_entropy(model(inputs[start:start + 8]),
                                              torch.from_numpy(y[start:start + 8])).backward()
            optimizer.step()
    net.fit(X, y, epochs=2, batch_size=8, optimizer=lw.get_optimizer(name, **ours), shuffle=False, verbose=0)
    trained = lw.to_torch(net).state_dict()
    for key, tensor in model.state_dict().items():
        if tensor.is_floating_point():
            np.testing.assert_allclose(trained[key].numpy(), tensor.numpy(), rtol=1e-10, atol=1e-12, err_msg=key)


def test_the_decayed_slice_is_the_weights_and_leads_theta():
    net = NETWORKS["batchnorm"]()
    table = net.table
    decayed = [entry.name for entry in table.entries if entry.offset < net.n_weights]
    assert decayed == ["W1", "W3"]
    assert net.n_weights == 6 * 4 + 3 * 6


@pytest.mark.usefixtures("optimizer_path")
def test_a_decayed_prefix_updates_as_two_arrays_would():
    rng = np.random.default_rng(0)
    theta, grad = rng.standard_normal(10), rng.standard_normal(10)
    head, tail = theta[:6].copy(), theta[6:].copy()
    split = lw.AdamW(lr=0.1, weight_decay=0.2)
    decayed, undecayed = lw.AdamW(lr=0.1, weight_decay=0.2), lw.AdamW(lr=0.1, weight_decay=0.0)
    for _ in range(3):
        split.step({"theta": theta}, {"dtheta": grad}, {"theta": 6})
        decayed.step({"w": head}, {"dw": grad[:6]})
        undecayed.step({"b": tail}, {"db": grad[6:]})
    np.testing.assert_array_equal(theta, np.concatenate([head, tail]))


@pytest.mark.parametrize("n, message", [(11, r"decayed\['theta'\] must be an integer in \[0, 10\], received 11"),
                                        (2.5, r"decayed\['theta'\] must be an integer")])
def test_a_decayed_length_outside_the_array_is_refused(n, message):
    with pytest.raises(ConfigError, match=message):
        lw.SGD(weight_decay=0.1).step({"theta": np.zeros(10)}, {"dtheta": np.zeros(10)}, {"theta": n})


def test_splitting_an_array_that_is_not_contiguous_is_refused():
    p = np.zeros((4, 6))[:, ::2]
    with pytest.raises(ConfigError, match="must then be a contiguous array"):
        lw.SGD(weight_decay=0.1).step({"W": p}, {"dW": np.zeros_like(p)}, {"W": 5})
