"""A `.keras` file read as what it is, without Keras: a zip holding `config.json` (the
architecture) and `model.weights.h5` (the weights, by layer and position).

The drawing path (the numpy forward pass) and the weights view both read models this way,
so neither pays for importing TensorFlow.
"""

from __future__ import annotations

import io
import json
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.weights.h5"


@dataclass(frozen=True)
class SavedLayer:
    """One layer of a saved model, in the model's order, with its weights as saved."""

    path: str  # where its weights live in model.weights.h5: "layers/conv2d_1"
    name: str  # the layer's own name ("conv2d_29": Keras numbers names per process)
    kind: str  # its Keras class: "Conv2D"
    config: dict[str, Any]  # its constructor arguments, as Keras saved them
    weights: list[np.ndarray]  # by position, in the order the layer creates them
    nested: bool  # inside another layer (a model within the model), not the top level


def _snake_case(name: str) -> str:
    name = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub(r"([a-z])([A-Z])", r"\1_\2", name).lower()


def _layer_paths(config: dict, prefix: str = "layers") -> Iterator[tuple[str, dict, bool]]:
    """(path in model.weights.h5, layer config, nested) of every layer, nested ones too.
    Keras files a layer's weights not under its name (names differ between two builds of
    one model) but under its snake-cased class, counted per container: layers/conv2d,
    layers/conv2d_1, ... in the model's order (input layers are not counted)."""
    inner = config.get("config", {})
    used: dict[str, int] = {}
    for layer in inner.get("layers", []) if isinstance(inner, dict) else []:
        if layer["class_name"] == "InputLayer":
            continue
        key = _snake_case(layer["class_name"])
        used[key] = used.get(key, -1) + 1
        path = f"{prefix}/{key}" + (f"_{used[key]}" if used[key] else "")
        yield path, layer, prefix != "layers"
        yield from _layer_paths(layer, f"{path}/layers")


def read(path: Path) -> tuple[dict[str, Any], list[SavedLayer]]:
    """The model's config and every layer (with or without weights) of a `.keras` file.
    Raises OSError, KeyError, ValueError or zipfile.BadZipFile for a file that isn't one."""
    import h5py  # Keras's own dependency; imported here as only reading needs it

    with zipfile.ZipFile(path) as archive:
        config = json.loads(archive.read(CONFIG_FILE))
        weights_file = io.BytesIO(archive.read(WEIGHTS_FILE))
    saved: dict[str, list[tuple[int, np.ndarray]]] = {}

    def collect(name: str, item) -> None:
        # "layers/dense_1/vars/0": a layer's weight by position; optimizer state is not one.
        parts = name.split("/")
        if isinstance(item, h5py.Dataset) and parts[0] == "layers" and parts[-2:-1] == ["vars"]:
            saved.setdefault("/".join(parts[:-2]), []).append((int(parts[-1]), item[()]))

    with h5py.File(weights_file, "r") as handle:
        handle.visititems(collect)
    layers = [
        SavedLayer(
            path=layer_path,
            name=layer["config"].get("name", layer_path.rsplit("/", 1)[-1]),
            kind=layer["class_name"],
            config=layer["config"],
            weights=[array for _, array in sorted(saved.get(layer_path, []), key=_position)],
            nested=nested,
        )
        for layer_path, layer, nested in _layer_paths(config)
    ]
    return config, layers


def _position(item: tuple[int, np.ndarray]) -> int:
    return item[0]
