"""Batch norm's inference statistics after training (digitlab.training.batch_norm): a network
with batch norm answers at inference as well as it did on its training batches."""

import keras
import numpy as np
import pytest

from digitlab.training import batch_norm
from digitlab.training.train import fit
from digitlab.zoo.config import TrainConfig


def _accuracy(model, images: np.ndarray, digits: np.ndarray, training: bool) -> float:
    logits = np.asarray(model(images, training=training))
    return float(np.mean(logits.argmax(axis=-1) == digits))


def test_a_short_run_with_batch_norm_answers_at_inference_as_on_its_batches(mnist):
    # 76 batches: Keras's moving averages (momentum 0.99) still hold half their starting
    # mean 0 and variance 1, and without recalibration the network answered 14-25% of these
    # test images at inference and reported a validation accuracy as low.
    config = TrainConfig(
        model="cnn_bn", epochs=2, train_samples=1500, batch_size=32, validation_split=0.2
    )
    model, fitted, split = fit(config)
    images, digits = split.x_test[:1000], split.y_test[:1000]
    on_batches = _accuracy(model, images, digits, training=True)
    at_inference = _accuracy(model, images, digits, training=False)
    assert on_batches > 0.8
    assert at_inference == pytest.approx(on_batches, abs=0.03)
    # The validation curve was drawn with the statistics of each epoch's weights too.
    assert fitted.history["val_accuracy"][-1] == pytest.approx(
        _accuracy(model, split.x_val, split.y_val, training=False), abs=0.005
    )


def test_moving_statistics_become_the_mean_of_the_batch_statistics():
    inputs = keras.Input((2,))
    model = keras.Model(inputs, keras.layers.BatchNormalization()(inputs))
    rng = np.random.default_rng(0)
    images = rng.normal([3.0, -1.0], [2.0, 0.5], size=(64, 2)).astype(np.float32)
    assert batch_norm.recalibrate(model, images, batch_size=16, sample=64) == 1
    # The oracle, in numpy: each batch of 16 (in the seeded order) by its own mean and
    # biased variance, as Keras normalises a batch while training, then their mean.
    order = np.random.default_rng(0).permutation(64)
    batches = images[order].reshape(4, 16, 2)
    norm = model.layers[-1]
    np.testing.assert_allclose(norm.moving_mean, batches.mean(axis=1).mean(axis=0), rtol=1e-5)
    np.testing.assert_allclose(norm.moving_variance, batches.var(axis=1).mean(axis=0), rtol=1e-5)


def test_a_network_without_batch_norm_is_left_as_it_is():
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3)])
    weights = [w.copy() for w in model.get_weights()]
    assert batch_norm.recalibrate(model, np.ones((10, 4), np.float32), batch_size=4) == 0
    for before, after in zip(weights, model.get_weights(), strict=True):
        np.testing.assert_array_equal(before, after)
