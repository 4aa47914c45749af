"""Editing an architecture spec (digitlab.zoo.arch) one step at a time, as the Build page
does: add, remove and move a layer, change one argument, wrap a run of layers in a
residual block. Each function returns a new spec and leaves the one given alone; none
checks the result (that is `arch.check`'s job, and an editor shows its message).

A layer is named by its position as `ArchError` names it: "3" for the third layer, "4.2"
for the second layer inside the residual block at 4.
"""

from __future__ import annotations

import copy
from typing import Any

from digitlab.zoo.arch_layers import ARGUMENTS, RESIDUAL

Spec = dict[str, Any]
EMPTY: Spec = {
    "input": [28, 28, 1],
    "layers": [{"type": "Flatten"}, {"type": "Dense", "units": 10}],
}

# What Keras does with an argument left out; an argument set to it is left out of the spec.
# Pooling's strides default to its pool size (see `shown_value`).
KERAS_DEFAULTS: dict[str, Any] = {
    "strides": 1,
    "padding": "valid",
    "activation": "linear",
    "kernel_initializer": "glorot_uniform",
    "depthwise_initializer": "glorot_uniform",
    "use_bias": True,
    "depth_multiplier": 1,
    "pool_size": 2,
    "momentum": 0.99,
    "epsilon": 0.001,
    "center": True,
    "scale": True,
}
_RELU_SAME = {"activation": "relu", "padding": "same"}
# A new layer of each type: its required arguments, and what usually goes with them.
# Convolutions pad to keep the image's size, so one fits inside a residual block at once.
NEW_LAYERS: dict[str, dict[str, Any]] = {
    "Conv2D": {"filters": 32, "kernel_size": 3, **_RELU_SAME},
    "DepthwiseConv2D": {"kernel_size": 3, **_RELU_SAME},
    "MaxPooling2D": {},
    "AveragePooling2D": {},
    "BatchNormalization": {},
    "Dropout": {"rate": 0.2},
    "SpatialDropout2D": {"rate": 0.1},
    "Flatten": {},
    "GlobalAveragePooling2D": {},
    "Dense": {"units": 64, "activation": "relu"},
    "Activation": {"activation": "relu"},
    RESIDUAL: {"layers": [{"type": "Conv2D", "filters": 32, "kernel_size": 3, **_RELU_SAME}]},
}


def new_layer(kind: str) -> dict[str, Any]:
    """A layer of a type with workable arguments, to be edited."""
    return {"type": kind, **copy.deepcopy(NEW_LAYERS[kind])}


def shown_value(layer: dict[str, Any], key: str) -> Any:
    """An argument's value: as given, else what Keras uses when it is left out."""
    if key in layer:
        return layer[key]
    if key == "strides" and "pool_size" in ARGUMENTS[layer["type"]]:
        return layer.get("pool_size", KERAS_DEFAULTS["pool_size"])
    return KERAS_DEFAULTS.get(key)


def _path(position: str) -> list[int]:
    """ "4.2" -> [3, 1]: the indices of a layer, then of its place in its block."""
    try:
        path = [int(part) - 1 for part in str(position).split(".")]
    except ValueError:
        raise ValueError(f"not a layer position: {position!r}") from None
    if any(index < 0 for index in path):
        raise ValueError(f"not a layer position: {position!r}")
    return path


def _siblings(spec: Spec, path: list[int]) -> list[dict[str, Any]]:
    """The list that holds the layer at `path` (the spec's own, or a block's): `spec`'s."""
    layers = spec["layers"]
    for index in path[:-1]:
        layers = layers[index]["layers"]
    return layers


def layer_at(spec: Spec, position: str) -> dict[str, Any]:
    path = _path(position)
    return _siblings(spec, path)[path[-1]]


def set_argument(spec: Spec, position: str, key: str, value: Any) -> Spec:
    """The spec with one argument changed; set to Keras's own default, it is left out."""
    edited = copy.deepcopy(spec)
    layer = layer_at(edited, position)
    layer.pop(key, None)
    if value != shown_value(layer, key) or key not in KERAS_DEFAULTS:
        layer[key] = value
    return edited


def insert_layer(spec: Spec, position: str, layer: dict[str, Any]) -> Spec:
    """The spec with `layer` at `position` (one past the last: at the end of that list)."""
    edited = copy.deepcopy(spec)
    path = _path(position)
    siblings = _siblings(edited, path)
    siblings.insert(min(path[-1], len(siblings)), copy.deepcopy(layer))
    return edited


def remove_layer(spec: Spec, position: str) -> Spec:
    edited = copy.deepcopy(spec)
    path = _path(position)
    del _siblings(edited, path)[path[-1]]
    return edited


def move_layer(spec: Spec, position: str, step: int) -> Spec:
    """The spec with a layer moved `step` places (-1: up, 1: down) within its list; a layer
    already first or last stays where it is."""
    edited = copy.deepcopy(spec)
    path = _path(position)
    siblings = _siblings(edited, path)
    target = path[-1] + step
    if 0 <= target < len(siblings):
        siblings.insert(target, siblings.pop(path[-1]))
    return edited


def wrap_in_residual(spec: Spec, first: int, last: int) -> Spec:
    """The spec with its layers `first` to `last` (top-level positions, from 1) inside one
    residual block; its shortcut is added to what they compute."""
    if not 1 <= first <= last <= len(spec["layers"]):
        raise ValueError(f"no layers {first} to {last} in a network of {len(spec['layers'])}.")
    edited = copy.deepcopy(spec)
    layers = edited["layers"]
    block = {"type": RESIDUAL, "layers": layers[first - 1 : last]}
    layers[first - 1 : last] = [block]
    return edited


def unwrap_residual(spec: Spec, position: str) -> Spec:
    """The spec with a residual block replaced by its own layers (the shortcut goes)."""
    edited = copy.deepcopy(spec)
    path = _path(position)
    siblings = _siblings(edited, path)
    block = siblings[path[-1]]
    siblings[path[-1] : path[-1] + 1] = block["layers"]
    return edited


def positions(spec: Spec) -> list[str]:
    """Every layer's position in order, a block's own before its inner layers'."""
    found = []
    for index, layer in enumerate(spec["layers"], start=1):
        found.append(str(index))
        if layer.get("type") == RESIDUAL:
            found += [f"{index}.{inner}" for inner in range(1, len(layer["layers"]) + 1)]
    return found


def insertion_points(spec: Spec) -> list[str]:
    """Where a new layer can go, as the position it takes: before each layer, at the end
    of each block, and at the end of the network."""
    points = []
    for index, layer in enumerate(spec["layers"], start=1):
        points.append(str(index))
        if layer.get("type") == RESIDUAL:
            points += [f"{index}.{inner}" for inner in range(1, len(layer["layers"]) + 2)]
    return points + [str(len(spec["layers"]) + 1)]
