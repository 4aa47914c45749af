"""The zoo's networks as architecture specs (digitlab.zoo.arch): each reads as its list of
layers, as JSON data. `digitlab.zoo.builders` builds every zoo model from these, and
`python -m digitlab arch show NAME` prints one, so an editing session starts from a known
network. No Keras here.

Classifiers end in a linear Dense(10): they output logits, and the softmax (with a
temperature) is applied at prediction time.
"""

from __future__ import annotations

from typing import Any

from digitlab.zoo import arch
from digitlab.zoo.registry import get_spec

Spec = dict[str, Any]
FLATTEN = {"type": "Flatten"}
MAX_POOL = {"type": "MaxPooling2D"}  # 2x2, as Keras's default


def conv(filters: int, kernel_size: int = 3, **more: Any) -> dict[str, Any]:
    return {"type": "Conv2D", "filters": filters, "kernel_size": kernel_size, **more}


def dense(units: int, **more: Any) -> dict[str, Any]:
    return {"type": "Dense", "units": units, **more}


def dropout(rate: float) -> dict[str, Any]:
    return {"type": "Dropout", "rate": rate}


def spec(*layers: dict[str, Any], size: int = 28) -> Spec:
    return {"input": [size, size, 1], "layers": list(layers)}


RELU = {"activation": "relu"}

# As each tutorial built it (width 1, its own dropout rate); the registry holds the rates.
ZOO_SPECS: dict[str, Spec] = {
    "mlp": spec(FLATTEN, dense(256, **RELU), dropout(0.5), dense(128, **RELU), dense(10)),
    "mlp_small": spec(FLATTEN, dense(128, **RELU), dropout(0.2), dense(10)),
    "cnn": spec(
        conv(32, **RELU),
        MAX_POOL,
        conv(64, **RELU),
        MAX_POOL,
        conv(64, **RELU),
        FLATTEN,
        dense(128, **RELU),
        dense(10),
    ),
    "cnn_small": spec(
        conv(32, **RELU),
        MAX_POOL,
        conv(64, **RELU),
        MAX_POOL,
        FLATTEN,
        dense(64, **RELU),
        dense(10),
    ),
    # Batch norm sits between each convolution and its ReLU, so the conv needs no bias.
    "cnn_bn": spec(
        conv(32, use_bias=False),
        {"type": "BatchNormalization"},
        {"type": "Activation", "activation": "relu"},
        MAX_POOL,
        conv(64, use_bias=False),
        {"type": "BatchNormalization"},
        {"type": "Activation", "activation": "relu"},
        MAX_POOL,
        FLATTEN,
        dense(64, **RELU),
        dense(10),
    ),
    # One linear output: the digit as a number, so "7" predicted as 6.8 is a small error.
    "regression": spec(FLATTEN, dense(128, **RELU), dropout(0.2), dense(64, **RELU), dense(1)),
    # The 400-25-15-10 network of the multi-class tutorial, on 20x20 digits.
    "tiny20": spec(FLATTEN, dense(25, **RELU), dense(15, **RELU), dense(10), size=20),
    # DigitLab's own, built for speed on a CPU: a 5x5 first convolution sees a stroke's width
    # and direction at once, so two convolutions suffice, and few filters keep an epoch to
    # seconds; a wide dense head then combines them. What makes it robust to how people draw
    # is its recipe (zoo/config.py): one-cycle Adam, and digits distorted the way people
    # draw (data/augment.py) before a clean last epoch. No dropout by default: the
    # distortions regularise enough. Batch norm was dropped: three times the time on a CPU.
    "digitnet": spec(
        conv(16, 5, **RELU),
        MAX_POOL,
        conv(32, **RELU),
        MAX_POOL,
        FLATTEN,
        dropout(0.0),
        dense(256, **RELU),
        dense(10),
    ),
}


def zoo_spec(name: str, dropout: float | None = None, width: float = 1.0) -> Spec:
    """A zoo model's spec at a width multiplier and dropout rate (None: the model's own)."""
    get_spec(name)  # a clear error for an unknown name
    return arch.scaled(ZOO_SPECS[name], width, dropout)
