"""The tutorials' own networks and settings, as presets (`train --model NAME --preset P`).

Each `Tutorial` is a preset: a custom network's spec (for the networks not in the zoo) or a
zoo model's, with the settings its tutorial trains it with, and help text saying which
tutorial it follows and what DigitLab's own recipe changes and why. The tutorials choose
Adam and otherwise keep Keras's defaults: a learning rate of 1e-3, batches of 32, no
validation split.

Only zoo models whose tutorial is known have a "tutorial" preset (`_ZOO`): mlp_small (the
TensorFlow 2 quickstart for beginners) and tiny20 (the multi-class practice lab). The
tutorials of mlp, cnn, cnn_small, cnn_bn and regression were not recorded, and no public
tutorial found builds exactly their layers, so they have none: their settings would be
guesses (the README lists the closest public tutorials and how they differ).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from digitlab.zoo.arch import dumps
from digitlab.zoo.networks import FLATTEN, MAX_POOL, RELU, conv, dense, dropout, spec, zoo_spec
from digitlab.zoo.registry import CUSTOM

TUTORIAL = "tutorial"  # a zoo model's tutorial-faithful preset
# What the tutorials train with where they leave Keras's defaults alone: all 60,000 images,
# none held out (DigitLab's recipes hold out 10% to draw validation curves).
KERAS_FIT = {"batch_size": 32, "learning_rate": 1e-3, "optimizer": "adam", "validation_split": 0.0}


@dataclass(frozen=True)
class Tutorial:
    """A preset: the model it trains (a zoo name or "custom"), its settings, and why."""

    model: str
    settings: dict[str, Any]  # TrainConfig fields; a custom network's has its "arch"
    help: str
    spec: dict[str, Any] | None = field(default=None)  # a custom network's architecture


def _block(filters: int) -> dict[str, Any]:
    """Conv-BN-ReLU, Conv-BN, added to the block's input, then ReLU (a ResNet basic block)."""
    same = {"padding": "same", "use_bias": False}
    return {
        "type": "Residual",
        "layers": [
            conv(filters, **same),
            {"type": "BatchNormalization"},
            {"type": "Activation", "activation": "relu"},
            conv(filters, **same),
            {"type": "BatchNormalization"},
        ],
        "activation": "relu",
    }


_CNN_SMALL = zoo_spec("cnn_small")
_STEM = [conv(32, padding="same", use_bias=False), {"type": "BatchNormalization"}]
_CUSTOM: dict[str, Tutorial] = {
    "cnn_regression": Tutorial(
        CUSTOM,
        {**KERAS_FIT, "epochs": 5, "loss": "mse"},
        "The regression tutorial's CNN: cnn_small's convolutions with one linear output, the "
        "digit's value, fitted by mean squared error. DigitLab's regression model is an MLP; "
        "this shows what convolutions add when a 7 read as 6.8 is a small error.",
        # cnn_small's own layers, its Dense 10 swapped for one linear output.
        {**_CNN_SMALL, "layers": [*_CNN_SMALL["layers"][:-1], dense(1)]},
    ),
    "tiny20_50_20": Tutorial(
        CUSTOM,
        {**KERAS_FIT, "epochs": 40},
        "The multi-class tutorial's wider variant on 20x20 digits: 400-50-20-10 with ReLU, Adam "
        "at 1e-3 for 40 epochs. DigitLab's tiny20 keeps the 400-25-15-10 original and holds "
        "out 10% of the images to draw validation curves.",
        spec(FLATTEN, dense(50, **RELU), dense(20, **RELU), dense(10), size=20),
    ),
    "tiny20_dropout": Tutorial(
        CUSTOM,
        {**KERAS_FIT, "epochs": 40},
        "The multi-class tutorial's 400-50-20-10 with dropout 0.2 after each hidden layer, "
        "against over-fitting on long runs. DigitLab's recipes hold out 10% to show when "
        "validation loss turns up, which is what dropout delays.",
        spec(
            FLATTEN,
            dense(50, **RELU),
            dropout(0.2),
            dense(20, **RELU),
            dropout(0.2),
            dense(10),
            size=20,
        ),
    ),
    "residual_cnn": Tutorial(
        CUSTOM,
        {**KERAS_FIT, "epochs": 5, "batch_size": 128},
        "The residual tutorial's small ResNet for digits: a Conv-BN stem, two Conv-BN-Add "
        "blocks (32 then 64 channels, the second's shortcut a 1x1 convolution), global "
        "average pooling and Dense 10. "
        "DigitLab's digitnet drops batch norm (three times the time on a CPU) and trains "
        "with one-cycle Adam on distorted digits.",
        spec(
            *_STEM,
            {"type": "Activation", "activation": "relu"},
            _block(32),
            MAX_POOL,
            _block(64),
            MAX_POOL,
            {"type": "GlobalAveragePooling2D"},
            dense(10),
        ),
    ),
}
# Zoo models whose tutorial's settings DigitLab knows: its network is the zoo model's own.
_ZOO: dict[str, Tutorial] = {
    "mlp_small": Tutorial(
        "mlp_small",
        {**KERAS_FIT, "epochs": 5},
        "The TensorFlow 2 quickstart tutorial as written: Flatten, Dense 128 ReLU, Dropout "
        "0.2, Dense 10, Adam, 5 epochs of batches of 32 on all 60,000 images. DigitLab's "
        "recipe uses batches of 128 (faster on a CPU) and holds out 10% for validation curves.",
    ),
    "tiny20": Tutorial(
        "tiny20",
        {**KERAS_FIT, "epochs": 40},
        "The multi-class tutorial as written: 400-25-15-10 with ReLU on 20x20 digits, Adam at "
        "1e-3, 40 epochs of batches of 32. DigitLab's recipe is the same but holds out 10% of "
        "the images to draw validation curves.",
    ),
}


def custom_presets() -> dict[str, dict[str, Any]]:
    """The custom networks' presets as recipes: their settings with their spec's JSON."""
    return {
        name: {**tutorial.settings, "arch": dumps(tutorial.spec)}
        for name, tutorial in _CUSTOM.items()
    }


def zoo_presets() -> dict[str, dict[str, Any]]:
    """The "tutorial" recipe of each zoo model whose tutorial's settings are known."""
    return {name: tutorial.settings for name, tutorial in _ZOO.items()}


def preset_help(model: str, preset: str) -> str:
    """The help text of a tutorial preset ("" for DigitLab's own recipes)."""
    tutorial = _CUSTOM.get(preset) if model == CUSTOM else None
    if model in _ZOO and preset == TUTORIAL:
        tutorial = _ZOO[model]
    return tutorial.help if tutorial else ""


def tutorials() -> dict[tuple[str, str], Tutorial]:
    """Every tutorial preset by (model, preset)."""
    return {
        **{(CUSTOM, name): tutorial for name, tutorial in _CUSTOM.items()},
        **{(name, TUTORIAL): tutorial for name, tutorial in _ZOO.items()},
    }
