import json

import numpy as np
import pytest
from safetensors import safe_open
from sklearn.datasets import load_digits

import layerwise as lw
from layerwise.errors import ConfigError, ModelFileError
from layerwise.optim.optimizers import get_optimizer
from layerwise.optim.schedules import Constant
from layerwise.train.callbacks import Callback
from layerwise.train.checkpoint import restore, save_checkpoint
from layerwise.train.loop import History


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return X[:300] / 16.0, y[:300]


def make_net():
    return lw.Network([lw.Dense(32, "relu"), lw.Dropout(0.2), lw.Dense(10, "softmax")], input_dim=64, seed=7)


class StopAfter(Callback):
    def __init__(self, epochs):
        self.epochs = epochs

    def on_epoch_end(self, net, epoch, logs):
        if epoch + 1 == self.epochs:
            net.stop_training = True


OPTIONS = dict(batch_size=32, validation_split=0.2, optimizer="adam", verbose=0)


def test_five_epochs_and_resume_five_equal_ten_uninterrupted(digits, tmp_path):
    X, y = digits
    straight = make_net()
    expected = straight.fit(X, y, epochs=10, **OPTIONS)
    path = tmp_path / "run.ckpt"
    make_net().fit(X, y, epochs=5, checkpoint=path, **OPTIONS)
    resumed = make_net()
    history = resumed.fit(X, y, epochs=10, resume_from=path, **OPTIONS)
    np.testing.assert_array_equal(resumed.theta, straight.theta)
    assert history.epoch == list(range(10))
    assert history["val_loss"] == expected["val_loss"]


def test_interrupted_run_with_a_schedule_resumes_bit_identically(digits, tmp_path):
    X, y = digits
    options = dict(OPTIONS, schedule="cosine", optimizer="sgd", lr=0.1)
    straight = make_net()
    straight.fit(X, y, epochs=8, **options)
    path = tmp_path / "run.ckpt"
    make_net().fit(X, y, epochs=8, checkpoint=path, callbacks=[StopAfter(3)], **options)
    resumed = lw.io.load(path)
    resumed.fit(X, y, epochs=8, resume_from=path, **options)
    np.testing.assert_array_equal(resumed.theta, straight.theta)


def test_a_checkpoint_loads_as_a_model(digits, tmp_path):
    X, y = digits
    net = make_net()
    net.fit(X, y, epochs=1, checkpoint=tmp_path / "c.ckpt", **OPTIONS)
    np.testing.assert_array_equal(lw.io.load(tmp_path / "c.ckpt").predict(X), net.predict(X))


def test_resuming_from_a_plain_model_or_another_network_fails_clearly(digits, tmp_path):
    X, y = digits
    net = make_net()
    net.fit(X, y, epochs=1, checkpoint=tmp_path / "c.ckpt", **OPTIONS)
    net.save(tmp_path / "plain.safetensors")
    with pytest.raises(ModelFileError, match="without training state"):
        make_net().fit(X, y, epochs=2, resume_from=tmp_path / "plain.safetensors", **OPTIONS)
    other = lw.Network([lw.Dense(16, "relu"), lw.Dense(10, "softmax")], input_dim=64, seed=7)
    with pytest.raises(ModelFileError, match="different network"):
        other.fit(X, y, epochs=2, resume_from=tmp_path / "c.ckpt", **OPTIONS)


STOPPING = dict(OPTIONS, lr=0.01)


def make_stopper():
    return lw.EarlyStopping(patience=2, restore_best_weights=True)


@pytest.mark.parametrize("passed_as", ["early_stopping", "callbacks"])
def test_an_early_stopped_run_interrupted_and_resumed_equals_the_uninterrupted_one(digits, tmp_path, passed_as):
    def with_stopper(stopper, callbacks=()):
        if passed_as == "early_stopping":
            return {"early_stopping": stopper, "callbacks": list(callbacks)}
        return {"callbacks": [*callbacks, stopper]}

    X, y = digits
    straight, stopper = make_net(), make_stopper()
    expected = straight.fit(X, y, epochs=60, **with_stopper(stopper), **STOPPING)
    assert stopper.stopped_epoch is not None and stopper.best_epoch < stopper.stopped_epoch < 59
    path = tmp_path / "run.ckpt"
    interrupt = stopper.stopped_epoch  # after the best epoch, with `patience` epochs waited already
    make_net().fit(X, y, epochs=60, checkpoint=path, **with_stopper(make_stopper(), [StopAfter(interrupt)]),
                   **STOPPING)
    resumed, resumed_stopper = make_net(), make_stopper()
    history = resumed.fit(X, y, epochs=60, resume_from=path, **with_stopper(resumed_stopper), **STOPPING)
    np.testing.assert_array_equal(resumed.theta, straight.theta)
    assert history.epoch == expected.epoch
    for key in ("loss", "val_loss", "accuracy", "val_accuracy", "lr"):
        assert history[key] == expected[key]
    assert (resumed_stopper.stopped_epoch, resumed_stopper.best_epoch) == (stopper.stopped_epoch, stopper.best_epoch)


def test_resuming_a_run_that_had_stopped_early_trains_no_further(digits, tmp_path):
    X, y = digits
    path = tmp_path / "run.ckpt"
    straight, stopper = make_net(), make_stopper()
    expected = straight.fit(X, y, epochs=60, checkpoint=path, early_stopping=stopper, **STOPPING)
    assert stopper.stopped_epoch is not None and stopper.best_epoch < stopper.stopped_epoch
    written = path.read_bytes()
    resumed = make_net()
    history = resumed.fit(X, y, epochs=60, resume_from=path, checkpoint=path, early_stopping=make_stopper(),
                          **STOPPING)
    assert path.read_bytes() == written  # no epoch ran, so no checkpoint was written
    assert history.epoch == expected.epoch and history["val_loss"] == expected["val_loss"]
    np.testing.assert_array_equal(resumed.theta, straight.theta)  # the best epoch's weights
    assert not np.array_equal(resumed.theta, lw.io.load(path).theta)  # which are not the last epoch's


def _reject_non_standard(name):
    raise AssertionError(f"the checkpoint's JSON holds {name}, which is not valid JSON")


@pytest.mark.parametrize("mode", ["min", "max"])
def test_early_stopping_state_round_trips_through_a_checkpoint(digits, tmp_path, mode):
    X, y = digits
    net = make_net()
    net.fit(X, y, epochs=1, verbose=0)
    fresh = lw.EarlyStopping(mode=mode)
    fresh.on_train_begin(net, {})
    trained = lw.EarlyStopping(mode=mode)
    trained.on_train_begin(net, {})
    trained.on_epoch_end(net, 0, {"val_loss": 0.25})
    trained.on_epoch_end(net, 1, {"val_loss": 0.5 if mode == "min" else 0.125})
    for stopper, best, best_theta in [(fresh, -np.inf if mode == "max" else np.inf, None), (trained, 0.25, net.theta)]:
        path = tmp_path / "c.ckpt"
        optimizer, schedule = get_optimizer("adam"), Constant()
        optimizer.lr = schedule.start(optimizer.lr, 2)
        history = History()
        for epoch in range(2):  # a consistent state: two epochs in the history and the schedule
            history.append(epoch, {"loss": 1.0})
            schedule.step()
        save_checkpoint(path, net, optimizer, schedule, history, epochs_done=2, early_stopping=stopper)
        with safe_open(path, "np") as stored:
            document = json.loads(stored.metadata()["layerwise"], parse_constant=_reject_non_standard)
        state = document["extra"]["checkpoint"]["early_stopping"]
        assert {key: state[key] for key in ("best_epoch", "wait", "stopped_epoch")} == {
            "best_epoch": stopper.best_epoch, "wait": stopper.wait, "stopped_epoch": stopper.stopped_epoch}
        assert ("early_stopping.best_theta" in lw.io.read(path).tensors) == (best_theta is not None)
        _, _, loaded_state = restore(path, make_net(), get_optimizer("adam"), Constant())
        loaded = lw.EarlyStopping(mode=mode)
        loaded.load_state_dict(loaded_state)
        assert loaded.best == best and type(loaded.best) is float
        assert (loaded.best_epoch, loaded.wait, loaded.stopped_epoch) == (stopper.best_epoch, stopper.wait, None)
        if best_theta is None:
            assert loaded.best_theta is None
        else:
            np.testing.assert_array_equal(loaded.best_theta, best_theta)
            assert loaded.best_theta.dtype == best_theta.dtype


def test_early_stopping_state_for_another_monitor_is_refused():
    saved = lw.EarlyStopping(monitor="val_loss")
    saved.on_train_begin(None, {})
    with pytest.raises(ConfigError, match="'val_loss'.*'val_accuracy'"):
        lw.EarlyStopping(monitor="val_accuracy").load_state_dict(saved.state_dict())
    with pytest.raises(ConfigError, match="best_epoch"):
        lw.EarlyStopping().load_state_dict({"monitor": "val_loss", "mode": "min"})


def test_a_checkpoint_with_early_stopping_resumes_without_it_and_the_reverse(digits, tmp_path):
    X, y = digits
    straight = make_net()
    straight.fit(X, y, epochs=8, **STOPPING)
    with_state = tmp_path / "with.ckpt"
    make_net().fit(X, y, epochs=8, checkpoint=with_state, callbacks=[StopAfter(4)],
                   early_stopping=lw.EarlyStopping(patience=50), **STOPPING)
    resumed = make_net()
    resumed.fit(X, y, epochs=8, resume_from=with_state, **STOPPING)
    np.testing.assert_array_equal(resumed.theta, straight.theta)  # the saved early-stopping state is ignored

    without_state = tmp_path / "without.ckpt"
    make_net().fit(X, y, epochs=8, checkpoint=without_state, callbacks=[StopAfter(4)], **STOPPING)
    stopper = lw.EarlyStopping(patience=50, restore_best_weights=False)
    resumed = make_net()
    resumed.fit(X, y, epochs=8, resume_from=without_state, early_stopping=stopper, **STOPPING)
    np.testing.assert_array_equal(resumed.theta, straight.theta)
    assert stopper.best_epoch >= 4  # it started afresh at the resumed epoch
