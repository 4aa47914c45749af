"""Training configs: validation with clear ranges, and a stable cache key."""

import pytest

from digitlab.zoo.config import ConfigError, TrainConfig, describe_changes, differences, recipe
from digitlab.zoo.registry import ZOO


def test_every_zoo_model_has_a_valid_recipe():
    for name in ZOO:
        assert recipe(name).model == name


@pytest.mark.parametrize(
    ("changes", "fragment"),
    [
        ({"epochs": 0}, "epochs must be between 1 and 100"),
        ({"batch_size": 5000}, "batch_size must be between 8 and 4096"),
        ({"learning_rate": 0.0}, "learning_rate must be between"),
        ({"dropout": 0.95}, "dropout must be between 0 and 0.9"),
        ({"validation_split": 0.7}, "validation_split must be between 0 and 0.5"),
        ({"train_samples": 10}, "train_samples must be between 100 and 60000"),
        ({"optimizer": "adadelta"}, "optimizer must be one of adam, sgd, rmsprop, adagrad"),
        ({"model": "resnet"}, "Unknown model 'resnet'"),
        ({"early_stopping_patience": 2, "validation_split": 0.0}, "needs a validation split"),
    ],
)
def test_out_of_range_values_are_refused_with_the_allowed_range(changes, fragment):
    with pytest.raises(ConfigError, match=fragment):
        TrainConfig(**{"model": "mlp", **changes})


def test_key_is_stable_and_covers_every_field():
    base = TrainConfig(model="mlp")
    assert base.key() == TrainConfig(model="mlp").key()
    assert (
        len(
            {
                base.key(),
                base.replace(epochs=6).key(),
                base.replace(seed=1).key(),
                base.replace(augment=True).key(),
            }
        )
        == 4
    )


def test_round_trip_through_a_dict_ignores_unknown_keys():
    config = TrainConfig(model="cnn", epochs=2, learning_rate=3e-4)
    assert TrainConfig.from_dict({**config.to_dict(), "added_later": 1}) == config


def test_the_augmentation_strengths_default_to_the_old_hidden_ones_and_keep_old_keys():
    # The keys runs were stored under before the strengths could be set (computed then);
    # digitnet's default recipe has since added the writing styles and devices.
    before_styles = recipe("digitnet", pen_styles=False, pen_devices=False)
    assert before_styles.key() == "c0b6c19ee811de44"
    assert recipe("digitnet", "long").key() == "02e4f86c3c48d48f"
    assert TrainConfig(model="mlp").key() == "75c50da45733393a"
    # A config stored without the strength fields loads at today's recipe strengths.
    stored = before_styles.to_dict()
    old = {key: value for key, value in stored.items() if not key.startswith("aug_")}
    loaded = TrainConfig.from_dict(old)
    assert (loaded.aug_rotation, loaded.aug_shift, loaded.aug_zoom, loaded.aug_shear) == (
        12.0,
        2.0,
        0.15,
        0.15,
    )
    assert (loaded.aug_elastic_alpha, loaded.aug_thicker, loaded.aug_thinner) == (0.0, 1.0, 0.6)
    assert loaded.key() == "c0b6c19ee811de44"
    # A strength that differs is a different model.
    assert loaded.replace(aug_rotation=30.0).key() != loaded.key()


def test_a_config_says_how_it_augments():
    assert recipe("digitnet", "quick").augmentation() == {"augmented epochs": 0}
    described = recipe("digitnet").augmentation()
    assert described["augmented epochs"] == 3  # the recipe's "3 augmented + 2 clean"
    assert described["aug_rotation"] == 12.0 and described["aug_elastic_alpha"] == 0.0


@pytest.mark.parametrize(
    ("changes", "fragment"),
    [
        ({"aug_rotation": 200.0}, "aug_rotation must be between 0 and 180"),
        ({"aug_shift": -1.0}, "aug_shift must be between 0 and 14"),
        ({"aug_elastic_sigma": 0.0}, "aug_elastic_sigma must be between 1 and 10"),
        ({"aug_thinner": 1.5}, "aug_thinner must be between 0 and 1"),
    ],
)
def test_strengths_out_of_range_are_refused(changes, fragment):
    with pytest.raises(ConfigError, match=fragment):
        TrainConfig(model="cnn", **changes)


def test_a_run_is_compared_with_the_recipe_it_is_closest_to():
    """The sidebar starts digitnet from "quick": against "default", such a run showed six
    changed settings; against its own recipe, none."""
    assert describe_changes(recipe("digitnet", "quick")) == "quick, as it is"
    assert describe_changes(recipe("digitnet", "quick", epochs=3)) == "quick: epochs=3"
    assert describe_changes(recipe("digitnet")) == "default, as it is"
    assert differences(recipe("digitnet", "long", seed=4)) == {"seed": 4}
