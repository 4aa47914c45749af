"""Explanations against independent oracles: completeness of integrated gradients, numpy's
rot90, hand-placed pixels, and the variance of PCA coordinates."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from digitlab import store
from digitlab.analysis import explain
from digitlab.data.batch import model_batch
from digitlab.inference.predict import Predictor
from digitlab.zoo.registry import ZOO


@pytest.fixture(scope="module")
def small_model():
    keras.utils.set_random_seed(0)
    return keras.Sequential(
        [
            keras.Input((8, 8, 1)),
            keras.layers.Conv2D(4, 3, activation="relu"),
            keras.layers.Flatten(),
            keras.layers.Dense(16, activation="tanh"),
            keras.layers.Dense(3),
        ]
    )


@pytest.fixture(scope="module")
def zoo_predictors() -> dict[str, Predictor]:
    """Every shipped zoo model, wrapped for one-image inference."""
    predictors = {}
    for name, spec in ZOO.items():
        model = store.default_run(name).load()
        predictors[name] = Predictor(model, spec)
    return predictors


def random_image(seed: int = 0, size: int = 28) -> np.ndarray:
    return np.random.default_rng(seed).random((size, size)).astype(np.float32)


# --- integrated gradients ------------------------------------------------------------------


@pytest.mark.parametrize("target", [0, 1, 2])
def test_integrated_gradients_add_up_to_the_output_change(small_model, target):
    image = random_image(1, 8)[None, ..., None] * 3  # large enough to cross ReLU kinks
    attributions = explain.integrated_gradients(small_model, image, target)

    def output(x: np.ndarray) -> float:
        return float(small_model(x, training=False)[0, target])

    change = output(image) - output(np.zeros_like(image))
    assert attributions.shape == (8, 8)
    assert abs(change) > 0.1  # a change worth attributing
    assert attributions.sum() == pytest.approx(change, rel=0.03)


def test_integrated_gradients_default_to_the_top_output(small_model):
    image = random_image(2, 8)[None, ..., None]
    top = int(np.argmax(small_model(image, training=False)[0]))
    np.testing.assert_allclose(
        explain.integrated_gradients(small_model, image),
        explain.integrated_gradients(small_model, image, top),
    )


# --- transforms ----------------------------------------------------------------------------


def test_rotating_by_zero_changes_nothing():
    image = random_image()
    np.testing.assert_allclose(explain.transform(image, rotation=0), image, atol=1e-6)


def test_rotating_by_90_degrees_turns_the_frame_anticlockwise():
    image = np.zeros((28, 28), np.float32)
    image[5, 20] = 1.0  # top right
    rotated = explain.transform(image, rotation=90)
    # Anticlockwise about the frame's centre (13.5, 13.5): top right goes to top left.
    assert rotated[7, 5] == pytest.approx(1.0, abs=1e-5)
    assert rotated.sum() == pytest.approx(1.0, abs=1e-5)
    other = random_image(3)
    np.testing.assert_allclose(explain.transform(other, rotation=90), np.rot90(other), atol=1e-5)


def test_shifting_moves_ink_right_and_down():
    image = np.zeros((28, 28), np.float32)
    image[10, 10] = 1.0
    shifted = explain.transform(image, shift_x=3, shift_y=-2)
    assert shifted[8, 13] == pytest.approx(1.0, abs=1e-5)


def test_thickening_adds_ink_and_thinning_removes_it():
    image = np.zeros((28, 28), np.float32)
    image[8:20, 12:16] = 1.0  # a stroke four pixels wide
    ink = image.sum()
    assert explain.transform(image, thickness=1).sum() > explain.transform(image, 0.5).sum()
    assert explain.transform(image, thickness=0.5).sum() > ink
    assert explain.transform(image, thickness=-1).sum() < ink
    assert explain.transform(image, thickness=1).sum() == (12 + 2) * (4 + 2)  # max filter
    assert explain.transform(image, thickness=-1).sum() == (12 - 2) * (4 - 2)  # min filter


# --- inside the network --------------------------------------------------------------------


def test_pca_coordinates_have_decreasing_variance():
    rng = np.random.default_rng(0)
    features = rng.normal(size=(500, 10)) @ rng.normal(size=(10, 10)) + 5.0
    basis = explain.pca(features, components=3)
    coordinates = explain.project(features, basis)
    variances = coordinates.var(axis=0, ddof=1)
    assert coordinates.shape == (500, 3)
    assert variances[0] > variances[1] > variances[2]
    np.testing.assert_allclose(variances, basis.variance)
    np.testing.assert_allclose(coordinates.mean(axis=0), 0, atol=1e-9)
    np.testing.assert_allclose(basis.basis.T @ basis.basis, np.eye(3), atol=1e-9)


def test_feature_maps_of_the_cnn_follow_its_convolutions():
    model = store.default_run("cnn").load()
    maps = explain.feature_maps(model, model_batch(random_image(), 28))
    # 28 -conv3-> 26 -pool-> 13 -conv3-> 11 -pool-> 5 -conv3-> 3
    assert [values.shape for _name, values in maps] == [(26, 26, 32), (11, 11, 64), (3, 3, 64)]
    assert all(values.min() >= 0 for _name, values in maps)  # after the ReLU


def test_an_mlp_has_no_feature_maps():
    model = store.default_run("mlp").load()
    assert explain.feature_maps(model, model_batch(random_image(), 28)) == []


def test_model_input_downscales_for_the_20x20_model():
    assert model_batch(random_image(), 20).shape == (1, 20, 20, 1)
    assert model_batch(np.stack([random_image()] * 3), 28).shape == (3, 28, 28, 1)


# --- the zoo side by side ------------------------------------------------------------------


def test_compare_gives_one_row_per_zoo_model(zoo_predictors):
    image = np.zeros((28, 28), np.float32)
    image[4:24, 13:16] = 1.0  # a plain vertical bar: a 1 to most models
    rows = explain.compare(image, zoo_predictors)
    assert [row["model"] for row in rows] == list(ZOO)
    for row in rows:
        assert 0 <= row["answer"] <= 9
        if ZOO[row["model"]].task == "regression":
            assert row["confidence"] is None and row["value"] is not None
        else:
            assert 0 < row["confidence"] <= 1
    answer, votes = explain.agreement(rows)
    assert votes == sum(row["answer"] == answer for row in rows)
    assert votes >= len(rows) / 2


# --- choosing test images ------------------------------------------------------------------


def test_most_confused_skips_the_diagonal():
    confusion = np.diag([100, 90, 80])
    confusion[2, 0] = 7
    confusion[0, 1] = 3
    assert explain.most_confused(confusion) == (2, 0)


def test_sample_indices_can_keep_only_mistakes():
    correct = np.array([True, False, True, False, False, True])
    chosen = explain.sample_indices(correct, 10, seed=1, mistakes_only=True)
    assert sorted(chosen) == [1, 3, 4]
    again = explain.sample_indices(correct, 4, seed=1, mistakes_only=False)
    assert len(set(again)) == 4
    np.testing.assert_array_equal(again, explain.sample_indices(correct, 4, 1, False))


def test_top_guesses_are_sorted():
    guesses = explain.top_guesses(np.array([0.1, 0.6, 0.05, 0.25]), count=2)
    assert guesses == [(1, pytest.approx(0.6)), (3, pytest.approx(0.25))]
