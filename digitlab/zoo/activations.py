"""The activation functions a network of the zoo may use, and their derivatives, in numpy.

Each follows Keras 3's definition at its defaults (what a layer's `"activation": "elu"`
means): leaky ReLU's slope below zero is 0.2, ELU's alpha is 1, GELU is the exact one
(x times the normal CDF), not the tanh approximation. Used to draw them side by side, and by
the numpy forward pass. No Keras here.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

Function = Callable[[np.ndarray], np.ndarray]

LEAKY_SLOPE = 0.2  # keras.activations.leaky_relu's negative_slope
ELU_ALPHA = 1.0  # keras.activations.elu's alpha
LINEAR = "linear"

_erf = np.vectorize(math.erf, otypes=[np.float64])


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-x))


def _normal_cdf(x: np.ndarray) -> np.ndarray:
    return 0.5 * (1 + _erf(np.asarray(x, np.float64) / math.sqrt(2)))


def _normal_pdf(x: np.ndarray) -> np.ndarray:
    return np.exp(-0.5 * np.square(x)) / math.sqrt(2 * math.pi)


# name -> (the function, its derivative). At a kink (x = 0) the derivative is the left-hand
# slope, as TensorFlow's gradients take it (ReLU's is 0 there).
ACTIVATIONS: dict[str, tuple[Function, Function]] = {
    "relu": (lambda x: np.maximum(x, 0), lambda x: (x > 0).astype(np.float64)),
    "leaky_relu": (
        lambda x: np.where(x > 0, x, LEAKY_SLOPE * x),
        lambda x: np.where(x > 0, 1.0, LEAKY_SLOPE),
    ),
    "elu": (
        lambda x: np.where(x > 0, x, ELU_ALPHA * np.expm1(np.minimum(x, 0))),
        lambda x: np.where(x > 0, 1.0, ELU_ALPHA * np.exp(np.minimum(x, 0))),
    ),
    "gelu": (
        lambda x: x * _normal_cdf(x),
        lambda x: _normal_cdf(x) + x * _normal_pdf(x),
    ),
    "sigmoid": (sigmoid, lambda x: sigmoid(x) * (1 - sigmoid(x))),
    "tanh": (np.tanh, lambda x: 1 - np.tanh(x) ** 2),
}


def curves(
    names: tuple[str, ...] | list[str] = tuple(ACTIVATIONS), low: float = -4.0, high: float = 4.0
) -> dict[str, dict[str, np.ndarray]]:
    """Each activation's values and derivative on an even grid of 401 points from low to high:
    name -> {"x", "y", "dy"}."""
    x = np.linspace(low, high, 401)
    return {
        name: {"x": x, "y": ACTIVATIONS[name][0](x), "dy": ACTIVATIONS[name][1](x)}
        for name in names
    }


def _layers(layers: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for layer in layers:
        yield layer
        yield from _layers(layer.get("layers", []))  # a residual block's own layers


def used_activations(spec: dict[str, Any]) -> dict[str, int]:
    """The non-linear activations an architecture spec uses, each with how many layers use
    it, in the order they first appear (residual blocks' layers included)."""
    used: dict[str, int] = {}
    for layer in _layers(spec.get("layers", [])):
        name = layer.get("activation", LINEAR)
        if name != LINEAR:
            used[name] = used.get(name, 0) + 1
    return used
