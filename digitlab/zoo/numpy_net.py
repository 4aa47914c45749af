"""A zoo model's forward pass in plain numpy, read straight from its `.keras` file.

A drawing needs one small forward pass. Doing it in numpy spares a process TensorFlow's
4-5 s import before its first answer (the CLI, the API, a fresh server) and costs well
under a millisecond per drawing. It covers the layers the zoo's models are made of; a model
with any other layer is answered by Keras instead (`UnsupportedModel`).
"""

from __future__ import annotations

import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from digitlab.zoo import activations, keras_file

Layer = Callable[[np.ndarray], np.ndarray]

# The activations it runs: their numpy definitions are shared with the Data page's plot.
ACTIVATIONS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "linear": lambda x: x,
    **{name: activations.ACTIVATIONS[name][0] for name in ("relu", "tanh", "sigmoid")},
}


class UnsupportedModel(ValueError):
    """The file holds a layer or option this numpy forward pass does not implement."""


def _activation(config: dict[str, Any]) -> Callable[[np.ndarray], np.ndarray]:
    name = config.get("activation", "linear")
    if not isinstance(name, str) or name not in ACTIVATIONS:
        raise UnsupportedModel(f"activation {name!r}")
    return ACTIVATIONS[name]


def _conv2d(config: dict[str, Any], weights: list[np.ndarray]) -> Layer:
    if tuple(config["strides"]) != (1, 1) or tuple(config.get("dilation_rate", (1, 1))) != (1, 1):
        raise UnsupportedModel("a strided or dilated convolution")
    if config.get("groups", 1) != 1 or config.get("data_format") != "channels_last":
        raise UnsupportedModel("a grouped or channels-first convolution")
    kernel = weights[0]
    bias = weights[1] if config.get("use_bias", True) else np.zeros(kernel.shape[-1], np.float32)
    height, width, channels, filters = kernel.shape
    matrix = kernel.reshape(height * width * channels, filters)
    activation = _activation(config)
    padding = config["padding"]
    if padding not in ("valid", "same"):
        raise UnsupportedModel(f"padding {padding!r}")

    def conv(x: np.ndarray) -> np.ndarray:
        if padding == "same":
            top, left = (height - 1) // 2, (width - 1) // 2
            x = np.pad(x, ((0, 0), (top, height - 1 - top), (left, width - 1 - left), (0, 0)))
        windows = sliding_window_view(x, (height, width), axis=(1, 2))  # N, H', W', C, kh, kw
        n, rows, cols = windows.shape[:3]
        patches = windows.transpose(0, 1, 2, 4, 5, 3).reshape(n * rows * cols, -1)
        return activation(patches @ matrix + bias).reshape(n, rows, cols, filters)

    return conv


def _max_pooling(config: dict[str, Any], weights: list[np.ndarray]) -> Layer:
    size = tuple(config["pool_size"])
    if tuple(config.get("strides") or size) != size or config["padding"] != "valid":
        raise UnsupportedModel("a pooling whose stride is not its size")
    ph, pw = size

    def pool(x: np.ndarray) -> np.ndarray:
        n, height, width, channels = x.shape
        rows, cols = height // ph, width // pw
        x = x[:, : rows * ph, : cols * pw]
        return x.reshape(n, rows, ph, cols, pw, channels).max(axis=(2, 4))

    return pool


def _dense(config: dict[str, Any], weights: list[np.ndarray]) -> Layer:
    kernel = weights[0]
    bias = weights[1] if config.get("use_bias", True) else 0.0
    activation = _activation(config)
    return lambda x: activation(x @ kernel + bias)


def _batch_norm(config: dict[str, Any], weights: list[np.ndarray]) -> Layer:
    if config.get("axis", -1) not in (-1, 3, [-1], [3]):
        raise UnsupportedModel("batch norm over another axis than the channels")
    values = list(weights)
    gamma = values.pop(0) if config.get("scale", True) else 1.0
    beta = values.pop(0) if config.get("center", True) else 0.0
    mean, variance = values
    scale = gamma / np.sqrt(variance + config.get("epsilon", 1e-3))
    shift = beta - mean * scale
    return lambda x: x * scale + shift


def _relu(config: dict[str, Any], weights: list[np.ndarray]) -> Layer:
    if (
        config.get("max_value") is not None
        or config.get("negative_slope", 0)
        or config.get("threshold", 0)
    ):
        raise UnsupportedModel("a ReLU with a cap, slope or threshold")
    return ACTIVATIONS["relu"]


def _identity(config: dict[str, Any], weights: list[np.ndarray]) -> Layer:
    return lambda x: x


_LAYERS: dict[str, Callable[[dict[str, Any], list[np.ndarray]], Layer]] = {
    "Conv2D": _conv2d,
    "MaxPooling2D": _max_pooling,
    "Dense": _dense,
    "BatchNormalization": _batch_norm,
    "ReLU": _relu,
    "Activation": lambda config, weights: _activation(config),
    "Flatten": lambda config, weights: lambda x: x.reshape(len(x), -1),
    "Dropout": _identity,  # inference: dropout does nothing
}


class NumpyNet:
    """The layers of a Sequential model as numpy functions, applied in order."""

    def __init__(self, layers: list[Layer]) -> None:
        self.layers = layers

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        """Raw outputs (N, outputs) for a float32 batch (N, size, size, 1)."""
        x = np.asarray(batch, np.float32)
        for layer in self.layers:
            x = layer(x)
        return x


def load(path: Path) -> NumpyNet:
    """Read a `.keras` file's layers and weights; UnsupportedModel if numpy can't run it."""
    try:
        config, saved = keras_file.read(path)
    except (OSError, KeyError, ValueError, zipfile.BadZipFile) as error:
        raise UnsupportedModel(f"cannot read {path}: {error}") from error
    if config.get("class_name") != "Sequential":
        raise UnsupportedModel(f"a {config.get('class_name')} model")
    layers = []
    for layer in saved:
        if layer.nested:
            continue  # inside a layer that is itself refused below
        if layer.kind not in _LAYERS:
            raise UnsupportedModel(f"a {layer.kind} layer")
        weights = [np.asarray(array, np.float32) for array in layer.weights]
        layers.append(_LAYERS[layer.kind](layer.config, weights))
    return NumpyNet(layers)
