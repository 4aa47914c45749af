"""Architecture specs: a network as JSON data, checked against allow-lists, never code.

    {"input": [28, 28, 1],
     "layers": [{"type": "Conv2D", "filters": 32, "kernel_size": 3, "activation": "relu"},
                {"type": "MaxPooling2D", "pool_size": 2},
                {"type": "Flatten"},
                {"type": "Dense", "units": 10}]}

`check(spec)` refuses anything outside the allow-lists below (an unknown type, `Lambda`, a
key not on the type's list, a string where a number goes, a Conv2D after Flatten, pooling
below 1x1, a wrong last layer) with one `ArchError` naming the layer's position and type,
before any model exists. What it returns, an `Architecture`, knows every layer's output
shape, parameters and forward FLOPs in plain Python (no TensorFlow here); the Keras model
is built from it by `digitlab.zoo.builders.build_arch`.

A `Residual` block is its inner layers plus a shortcut, added: the identity when the block
keeps its input's shape, a 1x1 Conv2D (linear, with bias) when it changes only the number
of channels. Its optional `activation` applies after the addition (as in ResNet).

The allow-lists, and what each layer computes, live in `digitlab.zoo.arch_layers`.
"""

from __future__ import annotations

import functools
import json
import math
from dataclasses import dataclass
from typing import Any

from digitlab.zoo.arch_layers import (
    ACTIVATIONS,  # noqa: F401  (what an editor offers: re-exported beside check())
    ARGUMENTS,
    CLASSIFIER_UNITS,
    FLAT_ONLY,
    IMAGE_ONLY,
    INITIALIZERS,  # noqa: F401
    INPUT_SHAPES,
    MAX_LAYERS,
    MAX_PARAMS,
    REGRESSOR_UNITS,
    REQUIRED,
    RESIDUAL,
    SHAPES,
    ArchError,
    Shape,
    activation_flops,
    shape_text,
    show,
)


@dataclass(frozen=True)
class Layer:
    """One checked layer: what the spec says, and what it computes per image."""

    position: str  # "3", or "4.2" for the second layer inside block 4
    kind: str  # the Keras class, or "Residual"
    args: dict[str, Any]  # its arguments as given (read-only by convention)
    input_shape: Shape
    output_shape: Shape
    params: int  # its weights (batch norm's moving statistics included, as Keras counts)
    flops: int  # forward, per image
    inner: tuple[Layer, ...] = ()  # a residual block's layers
    projects: bool = False  # a residual block whose shortcut is a 1x1 convolution


@dataclass(frozen=True)
class Row:
    """One line of a model summary table."""

    position: str
    kind: str
    output_shape: Shape
    params: int
    flops: int


@dataclass(frozen=True)
class Architecture:
    """A checked spec: build it with `digitlab.zoo.builders.build_arch`."""

    spec: dict[str, Any]  # as given
    input_shape: Shape
    layers: tuple[Layer, ...]

    @property
    def input_size(self) -> int:
        return self.input_shape[0]

    @property
    def task(self) -> str:
        """ "classification" (10 logits) or "regression" (one number)."""
        units = self.layers[-1].output_shape[0]
        return "classification" if units == CLASSIFIER_UNITS else "regression"

    @property
    def params(self) -> int:
        return sum(layer.params for layer in self.layers)

    @property
    def flops(self) -> int:
        return sum(layer.flops for layer in self.layers)

    @property
    def has_residual(self) -> bool:
        return any(layer.kind == RESIDUAL for layer in self.layers)

    @property
    def dropout_rate(self) -> float | None:
        """The first dropout layer's rate; None when it has none."""
        for layer in walk(self.layers):
            if layer.kind in ("Dropout", "SpatialDropout2D"):
                return layer.args["rate"]
        return None

    def rows(self) -> list[Row]:
        """The summary table: every layer (a block's after its inner ones, its params and
        FLOPs those of its shortcut and addition), in order."""
        rows = []
        for layer in self.layers:
            for inner in walk(layer.inner):
                rows.append(
                    Row(inner.position, inner.kind, inner.output_shape, inner.params, inner.flops)
                )
            own_params = layer.params - sum(inner.params for inner in walk(layer.inner, False))
            own_flops = layer.flops - sum(inner.flops for inner in walk(layer.inner, False))
            rows.append(Row(layer.position, layer.kind, layer.output_shape, own_params, own_flops))
        return rows


def walk(layers: tuple[Layer, ...], nested: bool = True):
    """Each layer in order, a block's inner layers (when `nested`) before the block."""
    for layer in layers:
        if nested:
            yield from walk(layer.inner)
        yield layer


def check(spec: Any) -> Architecture:
    """The checked Architecture of a spec (a dict, as parsed JSON), or ArchError."""
    if not isinstance(spec, dict):
        raise ArchError('a spec is a JSON object with "input" and "layers".')
    unknown = sorted(set(spec) - {"input", "layers"})
    if unknown:
        raise ArchError(f'unknown key {unknown[0]!r}: a spec has only "input" and "layers".')
    given = spec.get("input", [28, 28, 1])
    if given not in [list(shape) for shape in INPUT_SHAPES]:
        raise ArchError(f"the input must be [28, 28, 1] or [20, 20, 1], got {show(given)}.")
    layers_given = spec.get("layers")
    if not isinstance(layers_given, list) or not layers_given:
        raise ArchError(
            "the network has no layers: end it with Dense 10 (a classifier) or Dense 1 "
            "(a regressor)."
        )
    if _count(layers_given) > MAX_LAYERS:
        raise ArchError(f"more than {MAX_LAYERS} layers: DigitLab trains small networks.")
    layers = _check_layers(layers_given, tuple(given), "")
    last = layers[-1]
    units = last.output_shape[0] if last.kind == "Dense" else None
    if units not in (CLASSIFIER_UNITS, REGRESSOR_UNITS):
        raise ArchError(
            "the last layer must be Dense with 10 units (a classifier) or 1 (a regressor).",
            last.position,
            last.kind,
        )
    if last.args.get("activation", "linear") != "linear":
        raise ArchError(
            "the last layer must be linear (no activation): DigitLab applies the softmax itself.",
            last.position,
            last.kind,
        )
    architecture = Architecture(spec, tuple(given), layers)
    if architecture.params > MAX_PARAMS:
        raise ArchError(f"{architecture.params:,} parameters; at most {MAX_PARAMS:,}.")
    return architecture


def _count(layers: Any) -> int:
    inner = [layer.get("layers") for layer in layers if isinstance(layer, dict)]
    return len(layers) + sum(_count(more) for more in inner if isinstance(more, list))


def _check_layers(given: list, shape: Shape, prefix: str) -> tuple[Layer, ...]:
    layers = []
    for index, item in enumerate(given, start=1):
        layer = _check_layer(item, shape, f"{prefix}{index}")
        layers.append(layer)
        shape = layer.output_shape
    return tuple(layers)


def _check_layer(item: Any, shape: Shape, position: str) -> Layer:
    kind = item.get("type") if isinstance(item, dict) else None
    if not isinstance(kind, str):
        raise ArchError('a layer is a JSON object with a "type".', position, "?")
    shown = kind if len(kind) <= 30 else kind[:27] + "..."
    if kind not in ARGUMENTS:
        raise ArchError(f"unknown layer type; use one of {', '.join(ARGUMENTS)}.", position, shown)
    allowed = ARGUMENTS[kind]
    args = {key: value for key, value in item.items() if key != "type"}
    for key, value in args.items():
        if key not in allowed:
            listed = ", ".join(allowed) or "none"
            raise ArchError(f"{key!r} is not one of its arguments ({listed}).", position, kind)
        if kind != RESIDUAL or key != "layers":
            try:
                allowed[key](value)
            except ValueError as error:
                raise ArchError(f"{key} {error}.", position, kind) from None
    for key in REQUIRED.get(kind, ()):
        if key not in args:
            raise ArchError(f"it needs {key!r}.", position, kind)
    if kind in IMAGE_ONLY and len(shape) != 3:
        raise ArchError(
            f"it needs an image (height x width x channels) but gets a flat vector of "
            f"{shape[0]} values: put it before Flatten.",
            position,
            kind,
        )
    if kind in FLAT_ONLY and len(shape) != 1:
        raise ArchError(
            f"it needs a flat vector but gets a {shape_text(shape)} image: put Flatten "
            "or GlobalAveragePooling2D before it.",
            position,
            kind,
        )
    if kind == RESIDUAL:
        return _residual(args, shape, position)
    output, params, flops = SHAPES[kind](args, shape, position)
    return Layer(position, kind, args, shape, output, params, flops)


def _residual(args: dict, shape: Shape, position: str) -> Layer:
    given = args["layers"]
    if not isinstance(given, list) or not given:
        raise ArchError("a residual block needs a list of at least one layer.", position, RESIDUAL)
    inner = _check_layers(given, shape, position + ".")
    output = inner[-1].output_shape
    projects = output != shape and len(shape) == 3 and output[:2] == shape[:2]
    if output != shape and not projects:
        raise ArchError(
            f"its layers turn a {shape_text(shape)} input into {shape_text(output)}; a "
            "residual block must keep the shape (of an image: its height and width; the "
            "channels may change).",
            position,
            RESIDUAL,
        )
    values = math.prod(output)
    params = sum(layer.params for layer in inner)
    flops = sum(layer.flops for layer in inner) + values + activation_flops(args, values)
    if projects:  # a 1x1 convolution with bias brings the input to the block's channels
        params += shape[2] * output[2] + output[2]
        flops += 2 * shape[2] * values + values
    return Layer(position, RESIDUAL, args, shape, output, params, flops, inner, projects)


def loads(text: str) -> dict[str, Any]:
    """A spec from JSON text; ArchError for text that isn't JSON."""
    try:
        spec = json.loads(text)
    except (json.JSONDecodeError, TypeError) as error:
        raise ArchError(f"the spec is not valid JSON: {error}.") from None
    return spec


def dumps(spec: dict[str, Any]) -> str:
    """The canonical JSON text of a spec: sorted keys, no spaces (a config stores this)."""
    return json.dumps(spec, sort_keys=True, separators=(",", ":"))


def pretty(spec: dict[str, Any]) -> str:
    """A spec as JSON to read and edit: one layer a line (a block's inner layers on its line)."""
    layers = ",\n  ".join(json.dumps(layer) for layer in spec.get("layers", []))
    shape = json.dumps(spec.get("input", [28, 28, 1]))
    return f'{{"input": {shape},\n "layers": [\n  {layers}\n ]}}'


@functools.lru_cache(maxsize=64)
def parse(text: str) -> Architecture:
    """`check(loads(text))`, remembered: a config asks for its architecture often."""
    return check(loads(text))


def scaled(spec: dict[str, Any], width: float = 1.0, dropout: float | None = None) -> dict:
    """The spec with every hidden Conv2D's filters and Dense's units times `width` (the
    last layer keeps its 10 or 1) and, unless None, every dropout layer's rate `dropout`."""

    def scale(layers: list, last: bool) -> list:
        out = []
        for index, layer in enumerate(layers):
            layer = dict(layer)
            is_output = last and index == len(layers) - 1
            for key in ("filters", "units"):
                if key in layer and not is_output:
                    layer[key] = max(1, round(layer[key] * width))
            if dropout is not None and layer["type"] in ("Dropout", "SpatialDropout2D"):
                layer["rate"] = dropout
            if layer["type"] == RESIDUAL:
                layer["layers"] = scale(layer["layers"], False)
            out.append(layer)
        return out

    return {**spec, "layers": scale(spec["layers"], True)}
