"""Training configs: validation with clear ranges, and a stable cache key."""

import pytest

from digitlab.zoo.config import ConfigError, TrainConfig, recipe
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
