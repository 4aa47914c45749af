"""Keras builders for the zoo (the registry itself, without Keras, is `digitlab.zoo.registry`).

Each builder reads as its list of layers. Classifiers end in a linear Dense(10): they output
logits, and the softmax (with a temperature) is applied at prediction time.
"""

from __future__ import annotations

import keras
from keras import layers

from digitlab.zoo.registry import get_spec


def _rate(dropout: float | None, name: str) -> float:
    """The dropout rate to build with: the one asked for, else the model's default."""
    return get_spec(name).default_dropout if dropout is None else dropout


def _units(count: int, width: float) -> int:
    """A hidden layer's units or filters at a width multiplier (1: the tutorial's own)."""
    return max(1, round(count * width))


def build_mlp(dropout: float | None = None, width: float = 1.0) -> keras.Model:
    return keras.Sequential(
        [
            keras.Input((28, 28, 1)),
            layers.Flatten(),
            layers.Dense(_units(256, width), activation="relu"),
            layers.Dropout(_rate(dropout, "mlp")),
            layers.Dense(_units(128, width), activation="relu"),
            layers.Dense(10),
        ],
        name="mlp",
    )


def build_mlp_small(dropout: float | None = None, width: float = 1.0) -> keras.Model:
    return keras.Sequential(
        [
            keras.Input((28, 28, 1)),
            layers.Flatten(),
            layers.Dense(_units(128, width), activation="relu"),
            layers.Dropout(_rate(dropout, "mlp_small")),
            layers.Dense(10),
        ],
        name="mlp_small",
    )


def build_cnn(dropout: float | None = None, width: float = 1.0) -> keras.Model:
    return keras.Sequential(
        [
            keras.Input((28, 28, 1)),
            layers.Conv2D(_units(32, width), 3, activation="relu"),
            layers.MaxPooling2D(),
            layers.Conv2D(_units(64, width), 3, activation="relu"),
            layers.MaxPooling2D(),
            layers.Conv2D(_units(64, width), 3, activation="relu"),
            layers.Flatten(),
            layers.Dense(_units(128, width), activation="relu"),
            layers.Dense(10),
        ],
        name="cnn",
    )


def build_cnn_small(dropout: float | None = None, width: float = 1.0) -> keras.Model:
    return keras.Sequential(
        [
            keras.Input((28, 28, 1)),
            layers.Conv2D(_units(32, width), 3, activation="relu"),
            layers.MaxPooling2D(),
            layers.Conv2D(_units(64, width), 3, activation="relu"),
            layers.MaxPooling2D(),
            layers.Flatten(),
            layers.Dense(_units(64, width), activation="relu"),
            layers.Dense(10),
        ],
        name="cnn_small",
    )


def build_cnn_bn(dropout: float | None = None, width: float = 1.0) -> keras.Model:
    # Batch norm sits between each convolution and its ReLU, so the conv needs no bias.
    return keras.Sequential(
        [
            keras.Input((28, 28, 1)),
            layers.Conv2D(_units(32, width), 3, use_bias=False),
            layers.BatchNormalization(),
            layers.Activation("relu"),
            layers.MaxPooling2D(),
            layers.Conv2D(_units(64, width), 3, use_bias=False),
            layers.BatchNormalization(),
            layers.Activation("relu"),
            layers.MaxPooling2D(),
            layers.Flatten(),
            layers.Dense(_units(64, width), activation="relu"),
            layers.Dense(10),
        ],
        name="cnn_bn",
    )


def build_regression(dropout: float | None = None, width: float = 1.0) -> keras.Model:
    # One linear output: the digit as a number, so "7" predicted as 6.8 is a small error.
    return keras.Sequential(
        [
            keras.Input((28, 28, 1)),
            layers.Flatten(),
            layers.Dense(_units(128, width), activation="relu"),
            layers.Dropout(_rate(dropout, "regression")),
            layers.Dense(_units(64, width), activation="relu"),
            layers.Dense(1),
        ],
        name="regression",
    )


def build_tiny20(dropout: float | None = None, width: float = 1.0) -> keras.Model:
    # The 400-25-15-10 network of the multi-class tutorial, on 20x20 digits.
    return keras.Sequential(
        [
            keras.Input((20, 20, 1)),
            layers.Flatten(),
            layers.Dense(_units(25, width), activation="relu"),
            layers.Dense(_units(15, width), activation="relu"),
            layers.Dense(10),
        ],
        name="tiny20",
    )


def build_digitnet(dropout: float | None = None, width: float = 1.0) -> keras.Model:
    # DigitLab's own, built for speed on a CPU: a 5x5 first convolution sees a stroke's width
    # and direction at once, so two convolutions suffice, and few filters keep an epoch to
    # seconds; a wide dense head then combines them. What makes it robust to how people draw
    # is its recipe (digitlab/config.py): one-cycle Adam, and digits distorted the way people
    # draw (digitlab/augment.py) before a clean last epoch. No dropout by default: the
    # distortions regularise enough. Batch norm was dropped: three times the time on a CPU.
    return keras.Sequential(
        [
            keras.Input((28, 28, 1)),
            layers.Conv2D(_units(16, width), 5, activation="relu"),
            layers.MaxPooling2D(),
            layers.Conv2D(_units(32, width), 3, activation="relu"),
            layers.MaxPooling2D(),
            layers.Flatten(),
            layers.Dropout(_rate(dropout, "digitnet")),
            layers.Dense(_units(256, width), activation="relu"),
            layers.Dense(10),
        ],
        name="digitnet",
    )


_BUILDERS = {
    "digitnet": build_digitnet,
    "mlp": build_mlp,
    "mlp_small": build_mlp_small,
    "cnn": build_cnn,
    "cnn_small": build_cnn_small,
    "cnn_bn": build_cnn_bn,
    "regression": build_regression,
    "tiny20": build_tiny20,
}


def build_model(
    name: str, dropout: float | None = None, l2: float = 0.0, width: float = 1.0
) -> keras.Model:
    """A fresh, untrained model of a zoo architecture (dropout None = its default rate),
    with L2 weight decay `l2` on every Conv2D and Dense kernel and every hidden layer's
    units and filters multiplied by `width`."""
    get_spec(name)  # a clear error for an unknown name
    model = _BUILDERS[name](dropout, width)
    if l2:
        for layer in model.layers:
            if isinstance(layer, (layers.Conv2D, layers.Dense)):
                # The kernels exist already (the model is built): give them the penalty.
                layer.kernel_regularizer = keras.regularizers.L2(l2)
                layer.kernel.regularizer = layer.kernel_regularizer
    return model


@keras.saving.register_keras_serializable(package="digitlab")
class MeanProbability(layers.Layer):
    """Members' logits (N, members, 10) -> log of their mean softmax probability (N, 10).

    The log makes the output logits again: its softmax at temperature 1 is exactly the
    mean of the members' probabilities, so everything that reads logits (evaluation,
    export, the API) reads an ensemble unchanged. Registered, so safe-mode loading finds it.
    """

    def call(self, member_logits):
        probabilities = keras.ops.softmax(member_logits, axis=-1)
        return keras.ops.log(keras.ops.mean(probabilities, axis=1))


def build_ensemble(members: list[keras.Model]) -> keras.Model:
    """One Keras model that answers with the mean probability of trained 28x28 classifiers."""
    inputs = keras.Input((28, 28, 1))
    stacked = layers.Concatenate(axis=1)(
        [
            layers.Reshape((1, 10), name=f"member_{i}_logits")(m(inputs))
            for i, m in enumerate(members)
        ]
    )
    return keras.Model(inputs, MeanProbability(name="mean_probability")(stacked), name="ensemble")
