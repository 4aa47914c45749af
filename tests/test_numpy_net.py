"""The numpy forward pass against Keras itself (the oracle), and the fall-back to Keras."""

import keras
import numpy as np
import pytest
from keras import layers

from digitlab import store
from digitlab.data.batch import model_batch
from digitlab.inference.predict import NumpyPredictor, Predictor, load_predictor
from digitlab.zoo import numpy_net
from digitlab.zoo.config import TrainConfig
from digitlab.zoo.registry import ZOO


@pytest.mark.parametrize("name", list(ZOO))
def test_every_shipped_model_gives_the_same_outputs_as_keras(mnist, name):
    run = store.shipped_run(name)
    batch = model_batch(mnist.x_test[:300], run.spec.input_size)
    expected = np.asarray(run.load()(batch, training=False))
    np.testing.assert_allclose(numpy_net.load(run.model_file)(batch), expected, atol=1e-4)
    assert isinstance(load_predictor(run), NumpyPredictor)


def test_same_padding_batch_norm_options_and_other_activations(tmp_path):
    keras.utils.set_random_seed(1)
    model = keras.Sequential(
        [
            keras.Input((28, 28, 1)),
            layers.Conv2D(4, 4, padding="same", activation="tanh"),
            layers.BatchNormalization(scale=False),
            layers.ReLU(),
            layers.MaxPooling2D(3),
            layers.Conv2D(3, 3, use_bias=False, activation="sigmoid"),
            layers.Flatten(),
            layers.Dense(5),
        ]
    )
    # Give batch norm statistics of its own, so that the test can see them applied.
    norm = model.layers[1]
    norm.moving_mean.assign(np.linspace(-1, 1, 4).astype(np.float32))
    norm.moving_variance.assign(np.linspace(0.5, 2, 4).astype(np.float32))
    path = tmp_path / "model.keras"
    model.save(path)
    batch = np.random.default_rng(0).random((3, 28, 28, 1), dtype=np.float32)
    expected = np.asarray(model(batch, training=False))
    np.testing.assert_allclose(numpy_net.load(path)(batch), expected, atol=1e-5)


def test_a_layer_numpy_does_not_know_is_answered_by_keras(private_store):
    model = keras.Sequential(
        [keras.Input((20, 20, 1)), layers.Flatten(), layers.LayerNormalization(), layers.Dense(10)]
    )
    path = private_store / "odd.keras"
    model.save(path)
    with pytest.raises(numpy_net.UnsupportedModel, match="LayerNormalization"):
        numpy_net.load(path)
    run = store.save_run(model, TrainConfig(model="tiny20", seed=5), {}, {}, seconds=0.0)
    predictor = load_predictor(run)
    assert type(predictor) is Predictor
    assert predictor.raw_outputs(np.zeros((28, 28), np.float32)).shape == (10,)
