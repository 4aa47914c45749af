"""The model zoo: every network of the tutorials DigitLab grew from, plus its own best.

Each builder reads as its list of layers. Classifiers end in a linear Dense(10): they output
logits, and the softmax (with a temperature) is applied at prediction time.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import keras
from keras import layers

CLASSIFICATION = "classification"
REGRESSION = "regression"


@dataclass(frozen=True)
class ModelSpec:
    """What the rest of DigitLab needs to know about one zoo entry."""

    name: str
    title: str  # short human name for menus
    source: str  # the tutorial it comes from
    builder: Callable[[float | None], keras.Model]  # dropout rate (None = default) -> model
    input_size: int = 28  # 28 for MNIST frames, 20 for the tiny net
    task: str = CLASSIFICATION
    has_dropout: bool = False

    def build(self, dropout: float | None = None) -> keras.Model:
        return self.builder(dropout)


def _rate(dropout: float | None, default: float) -> float:
    return default if dropout is None else dropout


def build_mlp(dropout: float | None = None) -> keras.Model:
    return keras.Sequential(
        [
            keras.Input((28, 28, 1)),
            layers.Flatten(),
            layers.Dense(256, activation="relu"),
            layers.Dropout(_rate(dropout, 0.5)),
            layers.Dense(128, activation="relu"),
            layers.Dense(10),
        ],
        name="mlp",
    )


def build_mlp_small(dropout: float | None = None) -> keras.Model:
    return keras.Sequential(
        [
            keras.Input((28, 28, 1)),
            layers.Flatten(),
            layers.Dense(128, activation="relu"),
            layers.Dropout(_rate(dropout, 0.2)),
            layers.Dense(10),
        ],
        name="mlp_small",
    )


def build_cnn(dropout: float | None = None) -> keras.Model:
    return keras.Sequential(
        [
            keras.Input((28, 28, 1)),
            layers.Conv2D(32, 3, activation="relu"),
            layers.MaxPooling2D(),
            layers.Conv2D(64, 3, activation="relu"),
            layers.MaxPooling2D(),
            layers.Conv2D(64, 3, activation="relu"),
            layers.Flatten(),
            layers.Dense(128, activation="relu"),
            layers.Dense(10),
        ],
        name="cnn",
    )


def build_cnn_small(dropout: float | None = None) -> keras.Model:
    return keras.Sequential(
        [
            keras.Input((28, 28, 1)),
            layers.Conv2D(32, 3, activation="relu"),
            layers.MaxPooling2D(),
            layers.Conv2D(64, 3, activation="relu"),
            layers.MaxPooling2D(),
            layers.Flatten(),
            layers.Dense(64, activation="relu"),
            layers.Dense(10),
        ],
        name="cnn_small",
    )


def build_cnn_bn(dropout: float | None = None) -> keras.Model:
    # Batch norm sits between each convolution and its ReLU, so the conv needs no bias.
    return keras.Sequential(
        [
            keras.Input((28, 28, 1)),
            layers.Conv2D(32, 3, use_bias=False),
            layers.BatchNormalization(),
            layers.Activation("relu"),
            layers.MaxPooling2D(),
            layers.Conv2D(64, 3, use_bias=False),
            layers.BatchNormalization(),
            layers.Activation("relu"),
            layers.MaxPooling2D(),
            layers.Flatten(),
            layers.Dense(64, activation="relu"),
            layers.Dense(10),
        ],
        name="cnn_bn",
    )


def build_regression(dropout: float | None = None) -> keras.Model:
    # One linear output: the digit as a number, so "7" predicted as 6.8 is a small error.
    return keras.Sequential(
        [
            keras.Input((28, 28, 1)),
            layers.Flatten(),
            layers.Dense(128, activation="relu"),
            layers.Dropout(_rate(dropout, 0.2)),
            layers.Dense(64, activation="relu"),
            layers.Dense(1),
        ],
        name="regression",
    )


def build_tiny20(dropout: float | None = None) -> keras.Model:
    # The 400-25-15-10 network of the multi-class tutorial, on 20x20 digits.
    return keras.Sequential(
        [
            keras.Input((20, 20, 1)),
            layers.Flatten(),
            layers.Dense(25, activation="relu"),
            layers.Dense(15, activation="relu"),
            layers.Dense(10),
        ],
        name="tiny20",
    )


def build_digitnet(dropout: float | None = None) -> keras.Model:
    # DigitLab's own: the three-conv CNN widened at the head and regularised with dropout.
    # What makes it the best is its recipe: trained on digits distorted the way people draw
    # on a canvas (digitlab/augment.py) with a cosine learning-rate schedule. Batch norm
    # was tried and dropped: on a CPU it cost three times the time for no accuracy gain.
    return keras.Sequential(
        [
            keras.Input((28, 28, 1)),
            layers.Conv2D(32, 3, activation="relu"),
            layers.MaxPooling2D(),
            layers.Conv2D(64, 3, activation="relu"),
            layers.MaxPooling2D(),
            layers.Conv2D(64, 3, activation="relu"),
            layers.Flatten(),
            layers.Dropout(_rate(dropout, 0.25)),
            layers.Dense(128, activation="relu"),
            layers.Dense(10),
        ],
        name="digitnet",
    )


ZOO: dict[str, ModelSpec] = {
    spec.name: spec
    for spec in (
        ModelSpec(
            "digitnet", "DigitNet (DigitLab's best)", "DigitLab", build_digitnet, has_dropout=True
        ),
        ModelSpec("mlp", "MLP 256-128", "MLP tutorial", build_mlp, has_dropout=True),
        ModelSpec("mlp_small", "MLP 128", "TF 2.x quickstart", build_mlp_small, has_dropout=True),
        ModelSpec("cnn", "CNN 32-64-64", "CNN tutorial", build_cnn),
        ModelSpec("cnn_small", "CNN 32-64", "TF 2.1 tutorial", build_cnn_small),
        ModelSpec("cnn_bn", "CNN 32-64 + batch norm", "TF 2.1 tutorial", build_cnn_bn),
        ModelSpec(
            "regression",
            "Regression MLP",
            "regression tutorial",
            build_regression,
            task=REGRESSION,
            has_dropout=True,
        ),
        ModelSpec(
            "tiny20",
            "Tiny 400-25-15-10 (20x20)",
            "multi-class tutorial",
            build_tiny20,
            input_size=20,
        ),
    )
}
DEFAULT_MODEL = "digitnet"


def get_spec(name: str) -> ModelSpec:
    try:
        return ZOO[name]
    except KeyError:
        raise KeyError(f"Unknown model {name!r}; choose one of {', '.join(ZOO)}.") from None
