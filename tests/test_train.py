"""Real (small) training runs on real MNIST: learning, caching, stopping, diverging."""

import numpy as np
import pytest

from digitlab import store
from digitlab.config import TrainConfig
from digitlab.train import CACHED, DIVERGED, STOPPED, TRAINED, prepare_data, train

QUICK = dict(epochs=2, train_samples=2000, batch_size=64)


def test_a_tiny_run_lowers_the_loss_and_is_stored(mnist):
    events = []
    result = train(TrainConfig(model="mlp_small", **QUICK), on_progress=events.append)
    assert result.status == TRAINED
    batch_losses = [event.metrics["loss"] for event in events if event.kind == "batch"]
    assert np.mean(batch_losses[-5:]) < 0.6 * np.mean(batch_losses[:5])
    epoch_events = [event for event in events if event.kind == "epoch"]
    assert [event.epoch for event in epoch_events] == [1, 2]
    assert "val_accuracy" in epoch_events[-1].metrics
    assert result.entry is not None and result.entry.metrics["accuracy"] > 0.8
    assert store.find(result.config) is not None


def test_a_config_trained_before_comes_from_the_cache(mnist):
    config = TrainConfig(model="tiny20", epochs=1, train_samples=500)
    first = train(config)
    events = []
    second = train(config, on_progress=events.append)
    assert (first.status, second.status) == (TRAINED, CACHED)
    assert events == []  # no batch ran
    assert second.entry.path == first.entry.path
    assert second.entry.metrics == first.entry.metrics


def test_stop_is_obeyed_within_one_batch_and_stores_nothing(mnist):
    batches = []
    config = TrainConfig(model="mlp_small", epochs=3, train_samples=5000, batch_size=32)
    result = train(config, on_progress=batches.append, should_stop=lambda: len(batches) >= 3)
    assert result.status == STOPPED
    assert len(batches) == 3
    assert store.find(config) is None


def test_a_diverging_run_stops_with_a_message_and_keeps_the_previous_model(mnist):
    previous = train(TrainConfig(model="regression", epochs=1, train_samples=500))
    exploding = TrainConfig(
        model="regression", epochs=2, train_samples=2000, optimizer="sgd", learning_rate=1.0
    )
    result = train(exploding)
    assert result.status == DIVERGED
    assert "NaN" in result.message and "previous model is kept" in result.message
    assert store.find(exploding) is None
    assert store.candidates("regression")[0].path == previous.entry.path


def test_regression_and_tiny20_get_their_own_data(mnist):
    tiny = prepare_data(TrainConfig(model="tiny20", train_samples=1000))
    assert tiny.x_train.shape[1:] == (20, 20, 1) and tiny.x_test.shape == (10000, 20, 20, 1)
    assert len(tiny.x_train) + len(tiny.x_val) == 1000
    plain = prepare_data(TrainConfig(model="regression", validation_split=0.2, train_samples=1000))
    assert plain.x_train.shape == (800, 28, 28, 1) and plain.x_val.shape == (200, 28, 28, 1)
    assert plain.x_train.min() >= 0.0 and plain.x_train.max() <= 1.0


@pytest.mark.parametrize("model", ["digitnet", "cnn_bn"])
def test_augmented_batches_train(mnist, model):
    config = TrainConfig(
        model=model, epochs=1, train_samples=512, batch_size=128, augment=True, validation_split=0.0
    )
    assert train(config).status == TRAINED
