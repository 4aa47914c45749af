"""A zoo model's forward pass in plain numpy, read straight from its `.keras` file.

A drawing needs one small forward pass. Doing it in numpy spares a process TensorFlow's
4-5 s import before its first answer (the CLI, the API, a fresh server) and costs well
under a millisecond per drawing. It covers the layers the zoo's models are made of; a model
with any other layer is answered by Keras instead (`UnsupportedModel`).
"""

from __future__ import annotations

import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
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


@dataclass(frozen=True)
class Step:
    """One layer as a forward pass runs it: an operation, its settings and its arrays.

    Read from the `.keras` file once and checked here, so the numpy pass below and the
    browser's (assets/js/forward.js, fed by inference/browser_model.py) run the same steps.
    """

    op: str  # conv2d, max_pool, dense, affine, activation or flatten
    settings: dict[str, Any] = field(default_factory=dict)
    arrays: dict[str, np.ndarray] = field(default_factory=dict)


def _activation_name(config: dict[str, Any]) -> str:
    name = config.get("activation", "linear")
    if not isinstance(name, str) or name not in ACTIVATIONS:
        raise UnsupportedModel(f"activation {name!r}")
    return name


def _conv2d_step(config: dict[str, Any], weights: list[np.ndarray]) -> Step:
    if tuple(config["strides"]) != (1, 1) or tuple(config.get("dilation_rate", (1, 1))) != (1, 1):
        raise UnsupportedModel("a strided or dilated convolution")
    if config.get("groups", 1) != 1 or config.get("data_format") != "channels_last":
        raise UnsupportedModel("a grouped or channels-first convolution")
    kernel = weights[0]
    bias = weights[1] if config.get("use_bias", True) else np.zeros(kernel.shape[-1], np.float32)
    padding = config["padding"]
    if padding not in ("valid", "same"):
        raise UnsupportedModel(f"padding {padding!r}")
    settings = {"padding": padding, "activation": _activation_name(config)}
    return Step("conv2d", settings, {"kernel": kernel, "bias": bias})


def _max_pooling_step(config: dict[str, Any], weights: list[np.ndarray]) -> Step:
    size = tuple(config["pool_size"])
    if tuple(config.get("strides") or size) != size or config["padding"] != "valid":
        raise UnsupportedModel("a pooling whose stride is not its size")
    return Step("max_pool", {"size": list(size)})


def _dense_step(config: dict[str, Any], weights: list[np.ndarray]) -> Step:
    kernel = weights[0]
    bias = weights[1] if config.get("use_bias", True) else np.zeros(kernel.shape[-1], np.float32)
    return Step("dense", {"activation": _activation_name(config)}, {"kernel": kernel, "bias": bias})


def _batch_norm_step(config: dict[str, Any], weights: list[np.ndarray]) -> Step:
    """Batch norm at inference is x * scale + shift per channel: folded here, once."""
    if config.get("axis", -1) not in (-1, 3, [-1], [3]):
        raise UnsupportedModel("batch norm over another axis than the channels")
    values = list(weights)
    gamma = values.pop(0) if config.get("scale", True) else 1.0
    beta = values.pop(0) if config.get("center", True) else 0.0
    mean, variance = values
    scale = (gamma / np.sqrt(variance + config.get("epsilon", 1e-3))).astype(np.float32)
    shift = (beta - mean * scale).astype(np.float32)
    return Step("affine", arrays={"scale": scale, "shift": shift})


def _relu_step(config: dict[str, Any], weights: list[np.ndarray]) -> Step:
    if (
        config.get("max_value") is not None
        or config.get("negative_slope", 0)
        or config.get("threshold", 0)
    ):
        raise UnsupportedModel("a ReLU with a cap, slope or threshold")
    return Step("activation", {"activation": "relu"})


_STEPS: dict[str, Callable[[dict[str, Any], list[np.ndarray]], Step | None]] = {
    "Conv2D": _conv2d_step,
    "MaxPooling2D": _max_pooling_step,
    "Dense": _dense_step,
    "BatchNormalization": _batch_norm_step,
    "ReLU": _relu_step,
    "Activation": lambda config, weights: Step(
        "activation", {"activation": _activation_name(config)}
    ),
    "Flatten": lambda config, weights: Step("flatten"),
    "Dropout": lambda config, weights: None,  # inference: dropout does nothing
}


def read_steps(path: Path) -> list[Step]:
    """A `.keras` file's layers as steps; UnsupportedModel if the forward passes can't run it."""
    try:
        config, saved = keras_file.read(path)
    except (OSError, KeyError, ValueError, zipfile.BadZipFile) as error:
        raise UnsupportedModel(f"cannot read {path}: {error}") from error
    if config.get("class_name") != "Sequential":
        raise UnsupportedModel(f"a {config.get('class_name')} model")
    steps = []
    for layer in saved:
        if layer.nested:
            continue  # inside a layer that is itself refused below
        if layer.kind not in _STEPS:
            raise UnsupportedModel(f"a {layer.kind} layer")
        weights = [np.asarray(array, np.float32) for array in layer.weights]
        step = _STEPS[layer.kind](layer.config, weights)
        if step is not None:
            steps.append(step)
    return steps


# --- the steps in numpy ----------------------------------------------------------------------


def _conv2d(settings: dict[str, Any], arrays: dict[str, np.ndarray]) -> Layer:
    kernel, bias = arrays["kernel"], arrays["bias"]
    height, width, channels, filters = kernel.shape
    matrix = kernel.reshape(height * width * channels, filters)
    activation = ACTIVATIONS[settings["activation"]]
    padding = settings["padding"]

    def conv(x: np.ndarray) -> np.ndarray:
        if padding == "same":
            top, left = (height - 1) // 2, (width - 1) // 2
            x = np.pad(x, ((0, 0), (top, height - 1 - top), (left, width - 1 - left), (0, 0)))
        windows = sliding_window_view(x, (height, width), axis=(1, 2))  # N, H', W', C, kh, kw
        n, rows, cols = windows.shape[:3]
        patches = windows.transpose(0, 1, 2, 4, 5, 3).reshape(n * rows * cols, -1)
        return activation(patches @ matrix + bias).reshape(n, rows, cols, filters)

    return conv


def _max_pooling(settings: dict[str, Any], arrays: dict[str, np.ndarray]) -> Layer:
    ph, pw = settings["size"]

    def pool(x: np.ndarray) -> np.ndarray:
        n, height, width, channels = x.shape
        rows, cols = height // ph, width // pw
        x = x[:, : rows * ph, : cols * pw]
        return x.reshape(n, rows, ph, cols, pw, channels).max(axis=(2, 4))

    return pool


def _dense(settings: dict[str, Any], arrays: dict[str, np.ndarray]) -> Layer:
    kernel, bias = arrays["kernel"], arrays["bias"]
    activation = ACTIVATIONS[settings["activation"]]
    return lambda x: activation(x @ kernel + bias)


def _affine(settings: dict[str, Any], arrays: dict[str, np.ndarray]) -> Layer:
    scale, shift = arrays["scale"], arrays["shift"]
    return lambda x: x * scale + shift


_NUMPY: dict[str, Callable[[dict[str, Any], dict[str, np.ndarray]], Layer]] = {
    "conv2d": _conv2d,
    "max_pool": _max_pooling,
    "dense": _dense,
    "affine": _affine,
    "activation": lambda settings, arrays: ACTIVATIONS[settings["activation"]],
    "flatten": lambda settings, arrays: lambda x: x.reshape(len(x), -1),
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
    return NumpyNet([_NUMPY[step.op](step.settings, step.arrays) for step in read_steps(path)])
