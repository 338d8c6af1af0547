"""The compiled epoch (one call for all the batches of a small Dense stack trained with Adam) trains exactly as the
batch loop in Python does: the same parameters, losses, accuracies, optimizer state and errors, bit for bit."""

import numpy as np
import pytest

import layerwise as lw
from layerwise.errors import TrainingDivergedError
from layerwise.optim import kernels as fused
from layerwise.train import dense_epoch


class WatchBatches(lw.Callback):
    """A callback that sees every batch, so that training runs the batch loop in Python (the reference)."""

    def on_batch_end(self, net, batch, logs):
        pass


def network(output="softmax", loss="cross_entropy", outputs=4, dtype="float64", n_in=6):
    layers = [lw.Dense(9, "tanh"), lw.Dense(7), lw.Dense(outputs, activation=output)]
    return lw.Network(layers, input_dim=n_in, loss=loss, seed=3, dtype=dtype)


def targets(kind, rng, m):
    if kind == "classes":
        return rng.integers(0, 4, m)
    if kind == "flags":
        return rng.integers(0, 2, (m, 3))
    if kind == "one flag":
        return rng.integers(0, 2, m)
    return rng.standard_normal((m, 2))


TASKS = {"classes": ("softmax", "cross_entropy", 4), "flags": ("sigmoid", "binary_cross_entropy", 3),
         "one flag": ("sigmoid", "binary_cross_entropy", 1), "values": ("identity", "mse", 2)}


@pytest.fixture
def kernel_calls(monkeypatch):
    calls = []
    kernel = dense_epoch.dense_stack_batches
    monkeypatch.setattr(dense_epoch, "dense_stack_batches", lambda *args: calls.append(args[7]) or kernel(*args))
    return calls


def both_ways(make_net, X, y, make_optimizer, **fit):
    """The network, history and optimizer of ``fit`` with the compiled epoch, and of the batch loop in Python."""
    runs = []
    for callbacks in ([], [WatchBatches()]):
        net, optimizer = make_net(), make_optimizer()
        history = net.fit(X, y, optimizer=optimizer, callbacks=callbacks, verbose=0, **fit)
        runs.append((net, history, optimizer))
    return runs


def assert_same_training(compiled, reference):
    (net, history, optimizer), (net_ref, history_ref, optimizer_ref) = compiled, reference
    np.testing.assert_array_equal(net.theta, net_ref.theta)
    untimed = [{key: value for key, value in run.history.items() if key != "time"} for run in (history, history_ref)]
    assert untimed[0] == untimed[1]
    assert optimizer.steps == optimizer_ref.steps
    for name, buffers in optimizer_ref.state_dict()["state"].items():
        for buffer, value in buffers.items():
            np.testing.assert_array_equal(optimizer.state_dict()["state"][name][buffer], value)


@pytest.mark.parametrize("task", sorted(TASKS))
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_every_output_and_dtype_trains_as_the_batch_loop(task, dtype, rng, kernel_calls):
    output, loss, outputs = TASKS[task]
    X, y = rng.standard_normal((101, 6)), targets(task, rng, 101)
    runs = both_ways(lambda: network(output, loss, outputs, dtype), X, y, lw.Adam, epochs=3, batch_size=16)
    assert kernel_calls == [6, 1] * 3  # six batches of 16 rows, then the one of 5, in each epoch
    assert_same_training(*runs)
    if task != "values":
        assert 0 < runs[0][1].history["accuracy"][-1] <= 1


@pytest.mark.parametrize("optimizer", [lambda: lw.AdamW(lr=0.01, weight_decay=0.1),
                                       lambda: lw.Adam(lr=0.01, weight_decay=0.05, amsgrad=True),
                                       lambda: lw.Adam(lr=0.02, betas=(0.5, 0.9), eps=1e-3)],
                         ids=["AdamW", "L2 and AMSGrad", "betas and eps"])
def test_adams_options_and_decay_of_the_weights_alone(optimizer, rng, kernel_calls):
    X, y = rng.standard_normal((64, 6)), rng.integers(0, 4, 64)
    runs = both_ways(network, X, y, optimizer, epochs=4, batch_size=8)
    assert kernel_calls == [8] * 4  # no batch left over
    assert_same_training(*runs)


def test_schedules_validation_early_stopping_and_no_shuffle(rng, kernel_calls):
    X, y = rng.standard_normal((150, 6)), rng.integers(0, 4, 150)
    runs = both_ways(network, X, y, lambda: lw.Adam(lr=0.05), epochs=30, batch_size=32, validation_split=0.2,
                     schedule="cosine", early_stopping=lw.EarlyStopping(patience=2), shuffle=False)
    assert kernel_calls
    assert_same_training(*runs)
    assert len(runs[0][1].history["loss"]) == len(runs[1][1].history["loss"])


def test_successive_fits_reuse_their_workspaces_and_train_as_one_loop(rng):
    X, y = rng.standard_normal((90, 6)), rng.integers(0, 4, 90)
    net, reference, optimizer, optimizer_ref = network(), network(), lw.Adam(), lw.Adam()
    for batch_size in (8, 16, 8, 5, 7, 9, 10, 11, 12, 13, 14, 8):  # more batch sizes than the workspaces kept
        net.fit(X, y, epochs=1, batch_size=batch_size, optimizer=optimizer, verbose=0)
        reference.fit(X, y, epochs=1, batch_size=batch_size, optimizer=optimizer_ref, callbacks=[WatchBatches()],
                      verbose=0)
        np.testing.assert_array_equal(net.theta, reference.theta)
    kept = net._compiled_forward().workspaces
    assert 0 < len(kept) <= 8
    buffers = kept[8] if 8 in kept else None
    net.fit(X, y, epochs=1, batch_size=8, optimizer=optimizer, verbose=0)
    assert buffers is None or net._compiled_forward().workspaces[8] is buffers


@pytest.mark.parametrize("scale, what", [(1e6, "gradient"), (1e9, "loss")])
def test_a_diverging_batch_stops_before_its_step_with_the_batch_loops_error(scale, what, rng, kernel_calls):
    X, y = rng.standard_normal((44, 6)) * scale, rng.standard_normal((44, 2))
    errors, thetas, steps = [], [], []
    for callbacks in ([], [WatchBatches()]):
        net = lw.Network([lw.Dense(5), lw.Dense(2, activation="identity")], input_dim=6, loss="mse", seed=3)
        optimizer = lw.Adam(lr=1e6)
        with pytest.raises(TrainingDivergedError) as info:
            net.fit(X, y, epochs=5, batch_size=8, optimizer=optimizer, callbacks=callbacks, verbose=0)
        errors.append(str(info.value))
        thetas.append(net.theta.copy())
        steps.append(optimizer.steps)
    assert kernel_calls == [5]
    assert errors[0] == errors[1] and f"epoch 1, batch 2: the {what} is not finite" in errors[0]
    np.testing.assert_array_equal(thetas[0], thetas[1])
    assert steps == [1, 1]


def test_what_it_does_not_take_runs_the_batch_loop(rng, kernel_calls, monkeypatch):
    X, y = rng.standard_normal((40, 6)), rng.integers(0, 4, 40)
    network().fit(X, y, epochs=1, optimizer="sgd", verbose=0)
    network().fit(X, y, epochs=1, clip_norm=1.0, verbose=0)
    network().fit(X, y, epochs=1, callbacks=[WatchBatches()], verbose=0)
    network().fit(X, y, epochs=1, sample_weight=np.ones(40), verbose=0)
    monkeypatch.setattr(fused, "ENABLED", False)  # the NumPy form of the optimizer step
    network().fit(X, y, epochs=1, verbose=0)
    assert kernel_calls == []
