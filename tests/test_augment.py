"""Augmentation: one function (data/augment.distort) for training and the Data page's
preview, each strength doing what it says, and nothing at all at strength 0."""

from __future__ import annotations

import numpy as np
import pytest

from digitlab.cli import build_parser
from digitlab.cli.train import config_from_args
from digitlab.data import augment
from digitlab.training.inputs import augmented
from digitlab.zoo.config import AUGMENT_STRENGTHS, TrainConfig, recipe
from digitlab.zoo.knobs import BY_FIELD

from helpers import cli

OFF = {name: 0.0 for name in AUGMENT_STRENGTHS if name != "aug_elastic_sigma"}


def digits(mnist, count: int = 8) -> np.ndarray:
    return (mnist.x_train[:count] / 255.0).astype(np.float32)


def test_the_preview_draws_what_training_draws_with_the_same_seed(mnist):
    """Training's first batch, through its real tf.data pipeline (shuffled, batched,
    mapped), equals the preview of the same digits in the same order with that batch's
    seed: the preview shows exactly what the network is fed."""
    config = TrainConfig(model="cnn", batch_size=8, seed=3, aug_elastic_alpha=20.0)
    images = digits(mnist)
    ids = np.arange(8)  # each image's label is its index: it tells the shuffled order
    trained_images, trained_ids = next(iter(augmented(images[..., None], ids, config)))
    order = trained_ids.numpy()
    assert sorted(order) == list(ids) and list(order) != list(ids)  # shuffled, all there
    seed = next(iter(augment.batch_seeds(config.seed))).numpy()
    shown = augment.preview(images[order], config, draws=1, seed=seed)[:, 0]
    np.testing.assert_array_equal(shown, trained_images.numpy()[..., 0])
    assert np.abs(shown - images[order]).mean() > 0.02  # and it did distort them


def test_the_preview_repeats_its_draws_and_draws_differently_per_copy(mnist):
    config = TrainConfig(model="cnn")
    grid = augment.preview(digits(mnist, 2), config, draws=4)
    assert grid.shape == (2, 4, 28, 28) and grid.min() >= 0.0 and grid.max() <= 1.0
    np.testing.assert_array_equal(grid, augment.preview(digits(mnist, 2), config, draws=4))
    assert np.abs(grid[0, 0] - grid[0, 1]).mean() > 0.01  # four different draws of a digit


def test_at_strength_zero_the_digits_pass_unchanged(mnist):
    images = digits(mnist)
    grid = augment.preview(images, TrainConfig(model="cnn", **OFF), draws=3)
    np.testing.assert_array_equal(grid, np.repeat(images[:, None], 3, axis=1))


@pytest.mark.parametrize(
    ("name", "weak", "strong"),
    [
        ("aug_rotation", 5.0, 90.0),
        ("aug_shift", 1.0, 6.0),
        ("aug_zoom", 0.05, 0.4),
        ("aug_shear", 0.05, 0.6),
        ("aug_elastic_alpha", 8.0, 60.0),
        ("aug_thicker", 0.2, 1.0),
        ("aug_thinner", 0.2, 1.0),
    ],
)
def test_each_strength_alone_distorts_and_more_distorts_more(mnist, name, weak, strong):
    images = digits(mnist)

    def change(value: float) -> float:
        config = TrainConfig(model="cnn", **{**OFF, name: value})
        return float(np.abs(augment.preview(images, config, draws=4) - images[:, None]).mean())

    assert 0 < change(weak) < change(strong)


def test_a_thicker_pen_adds_ink_and_a_thinner_one_takes_it_away(mnist):
    images = digits(mnist)
    ink = images.sum()
    thicker = augment.preview(images, TrainConfig(model="cnn", **{**OFF, "aug_thicker": 1.0}), 4)
    thinner = augment.preview(images, TrainConfig(model="cnn", **{**OFF, "aug_thinner": 1.0}), 4)
    assert thicker.sum() / 4 > ink > thinner.sum() / 4


def test_the_train_flags_reach_the_config_and_the_rest_keeps_the_recipe(private_store):
    arguments = ["train", "--model", "digitnet", "--aug-rotation", "30", "--aug-shift", "3.5"]
    arguments += ["--aug-zoom", "0.2", "--aug-shear", "0.3", "--aug-elastic-alpha", "34"]
    arguments += ["--aug-elastic-sigma", "5", "--aug-thicker", "0.5", "--aug-thinner", "0"]
    arguments += ["--clean-epochs", "1"]
    config = config_from_args(build_parser().parse_args(arguments))
    assert config.augmentation() == {
        "augmented epochs": 4,  # the recipe's 5 epochs, 1 of them clean
        "aug_rotation": 30.0,
        "aug_shift": 3.5,
        "aug_zoom": 0.2,
        "aug_shear": 0.3,
        "aug_elastic_alpha": 34.0,
        "aug_elastic_sigma": 5.0,
        "aug_thicker": 0.5,
        "aug_thinner": 0.0,
    }
    assert config.replace(
        **{name: getattr(recipe("digitnet"), name) for name in AUGMENT_STRENGTHS}, clean_epochs=2
    ) == recipe("digitnet")

    helped = cli("train", "--help", store=private_store)
    for name in AUGMENT_STRENGTHS:
        assert BY_FIELD[name].option in helped.stdout
    refused = cli("train", "--model", "digitnet", "--aug-rotation", "400", store=private_store)
    assert refused.returncode != 0
    assert "aug_rotation must be between 0 and 180, got 400.0" in refused.stdout + refused.stderr
