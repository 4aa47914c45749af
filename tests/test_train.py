"""Real (small) training runs on real MNIST: learning, caching, stopping, diverging."""

import numpy as np
import pytest

from digitlab import store
from digitlab.data.mnist import prepare_split
from digitlab.training.progress import CACHED, DIVERGED, STOPPED, TRAINED
from digitlab.training.train import train
from digitlab.zoo.config import TrainConfig

from helpers import TINY

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
    assert result.run is not None and result.run.metrics["accuracy"] > 0.8
    assert store.find_by_config(result.config).id == result.run.id
    history, batches = store.curves(result.run)
    assert len(history["loss"]) == 2 and len(batches) == len(batch_losses)
    assert batches[-1]["position"] == pytest.approx(2.0)


def test_a_config_trained_before_comes_from_the_cache(mnist, trained_once):
    first = trained_once.copy(TINY)  # trained (TRAINED) once this session, stored here
    events = []
    second = train(TINY, on_progress=events.append)
    assert second.status == CACHED
    assert events == []  # no batch ran
    assert second.run.id == first.id
    assert second.run.metrics == first.metrics


def test_stop_is_obeyed_within_one_batch_and_stores_nothing(mnist):
    batches = []
    config = TrainConfig(model="mlp_small", epochs=3, train_samples=5000, batch_size=32)
    result = train(config, on_progress=batches.append, should_stop=lambda: len(batches) >= 3)
    assert result.status == STOPPED
    assert len(batches) == 3
    assert store.find_by_config(config) is None
    assert store.list_runs(include_shipped=False) == []


def test_a_diverging_run_stops_with_a_message_and_keeps_the_previous_model(mnist):
    previous = train(TrainConfig(model="regression", epochs=1, train_samples=500))
    exploding = TrainConfig(
        model="regression", epochs=2, train_samples=2000, optimizer="sgd", learning_rate=1.0
    )
    result = train(exploding)
    assert result.status == DIVERGED
    assert "NaN" in result.message and "previous model is kept" in result.message
    assert store.find_by_config(exploding) is None
    assert [run.id for run in store.list_runs("regression", include_shipped=False)] == [
        previous.run.id
    ]


def test_the_20x20_and_28x28_models_get_their_own_data(mnist):
    tiny = prepare_split(20, train_samples=1000, validation_split=0.1, seed=0)
    assert tiny.x_train.shape[1:] == (20, 20, 1) and tiny.x_test.shape == (10000, 20, 20, 1)
    assert len(tiny.x_train) + len(tiny.x_val) == 1000
    plain = prepare_split(28, train_samples=1000, validation_split=0.2, seed=0)
    assert plain.x_train.shape == (800, 28, 28, 1) and plain.x_val.shape == (200, 28, 28, 1)
    assert plain.x_train.min() >= 0.0 and plain.x_train.max() <= 1.0


@pytest.mark.parametrize("model", ["digitnet", "cnn_bn"])
def test_augmented_batches_train(mnist, model):
    config = TrainConfig(
        model=model, epochs=1, train_samples=512, batch_size=128, augment=True, validation_split=0.0
    )
    assert train(config).status == TRAINED
