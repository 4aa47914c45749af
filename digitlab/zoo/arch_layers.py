"""The allow-lists of architecture specs (digitlab.zoo.arch): each layer type's arguments
and their checks, and what each layer computes: its output shape, parameters and forward
FLOPs per image, in plain Python.

FLOPs count one image's forward pass: a multiply-add is 2; a bias, an activation, a pooling
comparison or sum, batch norm's scale and shift, and the residual addition one per value.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from typing import Any

from digitlab.core.errors import UserError

RESIDUAL = "Residual"
INPUT_SHAPES = ((28, 28, 1), (20, 20, 1))  # MNIST frames, and the tiny net's 20x20 digits
ACTIVATIONS = ("relu", "leaky_relu", "elu", "gelu", "sigmoid", "tanh", "linear")
INITIALIZERS = ("glorot_uniform", "he_normal", "he_uniform")
PADDINGS = ("valid", "same")
CLASSIFIER_UNITS, REGRESSOR_UNITS = 10, 1
MAX_LAYERS = 64  # nested ones included: a network a CPU can train in minutes
MAX_PARAMS = 20_000_000


class ArchError(UserError, ValueError):
    """A spec DigitLab won't build; `position` ("3", "4.2" inside a residual block, "" for
    the whole spec) and `kind` (the layer's type) say where, for an editor to point at."""

    def __init__(self, message: str, position: str = "", kind: str = "") -> None:
        where = f"layer {position} ({kind}): " if position else ""
        super().__init__(where + message)
        self.position, self.kind, self.reason = position, kind, message


# An argument's check: its value as given -> the value, or a ValueError saying why not.
# Each also says what it takes, for an editor's widget: `kind` ("whole", "number",
# "choice" or "flag") and `low`/`high` (`high_open`: high itself refused) or `options`.
Check = Callable[[Any], Any]


def _described(check: Check, kind: str, **facts: Any) -> Check:
    check.kind = kind
    for name, value in facts.items():
        setattr(check, name, value)
    return check


def _whole(low: int, high: int) -> Check:
    def check(value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"must be a whole number, got {show(value)}")
        if not low <= value <= high:
            raise ValueError(f"must be between {low} and {high}, got {value}")
        return value

    return _described(check, "whole", low=low, high=high, high_open=False)


def _pair(low: int, high: int) -> Check:
    """An int, or a list of two ints (height, width), as Keras takes kernel sizes."""
    whole = _whole(low, high)

    def check(value: Any) -> Any:
        if isinstance(value, list) and len(value) == 2:
            return [whole(item) for item in value]
        if isinstance(value, list):
            raise ValueError(f"must be a number or two numbers, got {show(value)}")
        return whole(value)

    return _described(check, "whole", low=low, high=high, high_open=False)


def _fraction(low: float, high: float, *, high_open: bool = True) -> Check:
    def check(value: Any) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValueError(f"must be a number, got {show(value)}")
        if not low <= value <= high or (high_open and value == high):
            closing = ")" if high_open else "]"
            raise ValueError(f"must be in [{low:g}, {high:g}{closing}, got {value!r}")
        return value

    return _described(check, "number", low=low, high=high, high_open=high_open)


def _choice(options: tuple[str, ...]) -> Check:
    def check(value: Any) -> str:
        if value not in options or not isinstance(value, str):
            raise ValueError(f"must be one of {', '.join(options)}; got {show(value)}")
        return value

    return _described(check, "choice", options=options)


def _flag(value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"must be true or false, got {show(value)}")
    return value


_described(_flag, "flag")


def show(value: Any) -> str:
    text = json.dumps(value) if not isinstance(value, str) else repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


_ACTIVATION, _INITIALIZER = _choice(ACTIVATIONS), _choice(INITIALIZERS)
_SIZE, _STRIDE, _PADDING = _pair(1, 28), _pair(1, 28), _choice(PADDINGS)
_RATE = _fraction(0.0, 1.0)
_POOLING = {"pool_size": _SIZE, "strides": _STRIDE, "padding": _PADDING}

# Each type's arguments (Keras's own names) and their checks; the first REQUIRED must be given.
ARGUMENTS: dict[str, dict[str, Check]] = {
    "Conv2D": {
        "filters": _whole(1, 1024),
        "kernel_size": _SIZE,
        "strides": _STRIDE,
        "padding": _PADDING,
        "activation": _ACTIVATION,
        "kernel_initializer": _INITIALIZER,
        "use_bias": _flag,
    },
    "DepthwiseConv2D": {
        "kernel_size": _SIZE,
        "strides": _STRIDE,
        "padding": _PADDING,
        "depth_multiplier": _whole(1, 16),
        "activation": _ACTIVATION,
        "depthwise_initializer": _INITIALIZER,
        "use_bias": _flag,
    },
    "MaxPooling2D": _POOLING,
    "AveragePooling2D": _POOLING,
    "BatchNormalization": {
        "momentum": _RATE,
        "epsilon": _fraction(1e-6, 1.0, high_open=False),
        "center": _flag,
        "scale": _flag,
    },
    "Dropout": {"rate": _RATE},
    "SpatialDropout2D": {"rate": _RATE},
    "Flatten": {},
    "GlobalAveragePooling2D": {},
    "Dense": {
        "units": _whole(1, 8192),
        "activation": _ACTIVATION,
        "kernel_initializer": _INITIALIZER,
        "use_bias": _flag,
    },
    "Activation": {"activation": _ACTIVATION},
    RESIDUAL: {"layers": list, "activation": _ACTIVATION},
}
REQUIRED: dict[str, tuple[str, ...]] = {
    "Conv2D": ("filters", "kernel_size"),
    "DepthwiseConv2D": ("kernel_size",),
    "Dropout": ("rate",),
    "SpatialDropout2D": ("rate",),
    "Dense": ("units",),
    "Activation": ("activation",),
    RESIDUAL: ("layers",),
}
# Types that need an image (height x width x channels), and those that need a flat vector.
IMAGE_ONLY = {
    "Conv2D",
    "DepthwiseConv2D",
    "MaxPooling2D",
    "AveragePooling2D",
    "SpatialDropout2D",
    "Flatten",
    "GlobalAveragePooling2D",
}
FLAT_ONLY = {"Dense"}

Shape = tuple[int, ...]


def shape_text(shape: Shape) -> str:
    return "x".join(str(size) for size in shape)


def _as_pair(value: Any) -> tuple[int, int]:
    return (value, value) if isinstance(value, int) else (value[0], value[1])


def _window(args: dict, shape: Shape, position: str, kind: str, size_key: str, default: Any):
    """(height, width) after a sliding window (a kernel or a pool), refusing below 1x1."""
    size = _as_pair(args.get(size_key, default))
    strides = _as_pair(
        args.get("strides", 1 if size_key == "kernel_size" else args.get(size_key, default))
    )
    out = []
    for extent, window, stride in zip(shape[:2], size, strides, strict=True):
        if args.get("padding", "valid") == "same":
            out.append(math.ceil(extent / stride))
        elif extent < window:
            raise ArchError(
                f"its {size[0]}x{size[1]} window is larger than its {shape[0]}x{shape[1]} "
                "input: the image would shrink below 1x1.",
                position,
                kind,
            )
        else:
            out.append((extent - window) // stride + 1)
    return out[0], out[1], size


def activation_flops(args: dict, values: int) -> int:
    return values if args.get("activation", "linear") != "linear" else 0


def _conv(args: dict, shape: Shape, position: str):
    height, width, (kh, kw) = _window(args, shape, position, "Conv2D", "kernel_size", 3)
    channels, filters = shape[2], args["filters"]
    bias = filters if args.get("use_bias", True) else 0
    values = height * width * filters
    flops = 2 * kh * kw * channels * values + (values if bias else 0)
    return (
        (height, width, filters),
        kh * kw * channels * filters + bias,
        flops + activation_flops(args, values),
    )


def _depthwise(args: dict, shape: Shape, position: str):
    height, width, (kh, kw) = _window(args, shape, position, "DepthwiseConv2D", "kernel_size", 3)
    channels = shape[2] * args.get("depth_multiplier", 1)
    bias = channels if args.get("use_bias", True) else 0
    values = height * width * channels
    flops = 2 * kh * kw * values + (values if bias else 0) + activation_flops(args, values)
    return (height, width, channels), kh * kw * channels + bias, flops


def _pooling(kind: str):
    def shapes(args: dict, shape: Shape, position: str):
        height, width, (ph, pw) = _window(args, shape, position, kind, "pool_size", 2)
        return (height, width, shape[2]), 0, height * width * shape[2] * ph * pw

    return shapes


def _batch_norm(args: dict, shape: Shape, position: str):
    # gamma and beta when scaled and centred, the moving mean and variance always
    channels = shape[-1]
    params = channels * (2 + args.get("scale", True) + args.get("center", True))
    return shape, params, 2 * math.prod(shape)


def _dense(args: dict, shape: Shape, position: str):
    units = args["units"]
    bias = units if args.get("use_bias", True) else 0
    flops = 2 * shape[0] * units + (units if bias else 0) + activation_flops(args, units)
    return (units,), shape[0] * units + bias, flops


SHAPES: dict[str, Callable[[dict, Shape, str], tuple[Shape, int, int]]] = {
    "Conv2D": _conv,
    "DepthwiseConv2D": _depthwise,
    "MaxPooling2D": _pooling("MaxPooling2D"),
    "AveragePooling2D": _pooling("AveragePooling2D"),
    "BatchNormalization": _batch_norm,
    "Dropout": lambda args, shape, position: (shape, 0, 0),
    "SpatialDropout2D": lambda args, shape, position: (shape, 0, 0),
    "Flatten": lambda args, shape, position: ((math.prod(shape),), 0, 0),
    "GlobalAveragePooling2D": lambda args, shape, position: ((shape[2],), 0, math.prod(shape)),
    "Dense": _dense,
    "Activation": lambda args, shape, position: (
        shape,
        0,
        activation_flops(args, math.prod(shape)),
    ),
}
