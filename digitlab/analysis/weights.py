"""A run's weights, read without TensorFlow: per layer, the weight histograms its TensorBoard
logs hold for the first and the last epoch, and the final weights in its model.keras.

The Streamlit server should not pay for TensorFlow to draw a histogram, so the event files
are read here with a few lines of TFRecord framing and the protobuf classes that ship with
the tensorboard package (its own reader, event_processing, imports TensorFlow), and
model.keras is read as what it is: a zip holding config.json and an HDF5 file of weights.
Shipped runs (assets/models) were trained before logs existed: only final weights there.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from tensorboard.compat.proto import event_pb2
from tensorboard.util import tensor_util

from digitlab import store
from digitlab.zoo import keras_file

HISTOGRAM_BUCKETS = 30  # TensorBoard's default, so final weights bin like the logged ones
CONV_LAYERS = ("Conv1D", "Conv2D", "Conv3D", "DepthwiseConv2D", "SeparableConv2D")


@dataclass(frozen=True)
class Histogram:
    """Counts of values between bucket edges, as TensorBoard stores them."""

    left: np.ndarray
    right: np.ndarray
    counts: np.ndarray

    @classmethod
    def of(cls, values: np.ndarray, buckets: int = HISTOGRAM_BUCKETS) -> Histogram:
        counts, edges = np.histogram(np.asarray(values, dtype=np.float64).ravel(), buckets)
        return cls(edges[:-1], edges[1:], counts.astype(np.float64))

    @property
    def total(self) -> float:
        return float(self.counts.sum())


@dataclass
class TrainingLog:
    """Everything a run's event files hold that DigitLab reads back."""

    # "train" or "validation" -> tag ("epoch_loss", "batch_loss", ...) -> (step, value)s
    scalars: dict[str, dict[str, list[tuple[int, float]]]] = field(default_factory=dict)
    # (layer, weight) such as ("dense", "kernel") -> (epoch, histogram)s, 0-based epochs
    histograms: dict[tuple[str, str], list[tuple[int, Histogram]]] = field(default_factory=dict)


@dataclass(frozen=True)
class EpochHistograms:
    """One weight of one layer after the first and after the last logged epoch (1-based)."""

    layer: str
    weight: str  # "kernel", "bias", "gamma", ...
    first_epoch: int
    first: Histogram
    last_epoch: int
    last: Histogram


@dataclass(frozen=True)
class LayerWeights:
    """A layer's final weights, by name, in the model's order."""

    layer: str
    kind: str  # the Keras class: "Dense", "Conv2D", ...
    weights: dict[str, np.ndarray]


# --- event files --------------------------------------------------------------------------


def logs_dir(run: store.Run) -> Path:
    """Where a run keeps its TensorBoard logs (shipped runs have none)."""
    return run.path / store.LOGS_FOLDER


def has_logs(run: store.Run) -> bool:
    return not run.shipped and any(logs_dir(run).glob("*/events.out.tfevents.*"))


def _records(path: Path) -> Iterator[bytes]:
    """The records of a TFRecord file: a length (8 bytes), its CRC (4), the data, its CRC
    (4). CRCs are not checked; a record cut short ends the file (a writer killed mid-write
    never reaches a stored run, but a reader should not fail on one)."""
    data = path.read_bytes()
    position = 0
    while position + 12 <= len(data):
        (length,) = struct.unpack_from("<Q", data, position)
        start, end = position + 12, position + 12 + length
        if end + 4 > len(data):
            return
        yield data[start:end]
        position = end + 4


def _add_value(log: TrainingLog, writer: str, step: int, tag: str, value) -> None:
    """File one summary value: a rank-0 tensor is a scalar, a (buckets, 3) one a histogram
    (TensorFlow writes the plugin's name only with a tag's first value, so go by shape)."""
    if value.HasField("tensor"):
        array = tensor_util.make_ndarray(value.tensor)
    elif value.HasField("simple_value"):
        array = np.asarray(value.simple_value)
    else:
        return
    if array.ndim == 0:
        log.scalars.setdefault(writer, {}).setdefault(tag, []).append((step, float(array)))
    elif array.ndim == 2 and array.shape[1] == 3 and tag.endswith("/histogram"):
        parts = tag.split("/")  # "<model>/<layer>/<weight>/histogram"
        if len(parts) >= 3:
            histogram = Histogram(array[:, 0], array[:, 1], array[:, 2])
            log.histograms.setdefault((parts[-3], parts[-2]), []).append((step, histogram))


def read_log(folder: Path) -> TrainingLog:
    """Read every event file under `folder` (one subfolder per writer: train, validation)."""
    log = TrainingLog()
    for path in sorted(Path(folder).glob("*/events.out.tfevents.*")):
        writer = path.parent.name
        for record in _records(path):
            event = event_pb2.Event.FromString(record)
            for value in event.summary.value:
                _add_value(log, writer, event.step, value.tag, value)
    for series in log.histograms.values():
        series.sort(key=lambda item: item[0])
    for tags in log.scalars.values():
        for series in tags.values():
            series.sort(key=lambda item: item[0])
    return log


def epoch_histograms(run: store.Run) -> list[EpochHistograms]:
    """Per layer and weight, its histograms after the first and the last epoch, in the
    model's layer order; empty for a run without logs."""
    if not has_logs(run):
        return []
    log = read_log(logs_dir(run))
    order = {layer.layer: index for index, layer in enumerate(final_weights(run))}
    rows = [
        EpochHistograms(
            layer, weight, series[0][0] + 1, series[0][1], series[-1][0] + 1, series[-1][1]
        )
        for (layer, weight), series in log.histograms.items()
    ]
    return sorted(rows, key=lambda row: order.get(row.layer, len(order)))


# --- model.keras --------------------------------------------------------------------------


def _weight_names(kind: str, config: dict, count: int) -> list[str]:
    """Names for a layer's saved variables, which model.keras keeps only by position (in
    the order the layer creates them)."""
    if kind in CONV_LAYERS or kind == "Dense":
        names = ["kernel", "bias"]
    elif kind == "BatchNormalization":
        names = ["gamma"] * config.get("scale", True) + ["beta"] * config.get("center", True)
        names += ["moving_mean", "moving_variance"]
    else:
        names = []
    return names[:count] if len(names) >= count else [f"weight_{i}" for i in range(count)]


def final_weights(run: store.Run) -> list[LayerWeights]:
    """Every layer with weights, in the model's order, with its weights as saved."""
    layers = []
    for layer in keras_file.read(run.model_file)[1]:
        if not layer.weights:
            continue  # pooling, flatten, or a model holding layers of its own
        names = _weight_names(layer.kind, layer.config, len(layer.weights))
        layers.append(
            LayerWeights(layer.name, layer.kind, dict(zip(names, layer.weights, strict=True)))
        )
    return layers


def final_histograms(run: store.Run) -> list[tuple[str, str, Histogram]]:
    """(layer, weight, histogram) of every final weight, in the model's order."""
    return [
        (layer.layer, name, Histogram.of(values))
        for layer in final_weights(run)
        for name, values in layer.weights.items()
    ]


def first_conv_filters(run: store.Run) -> np.ndarray | None:
    """The first convolution's kernels on the first input channel as (filters, h, w), or
    None for a model without one (an MLP)."""
    for layer in final_weights(run):
        kernel = layer.weights.get("kernel")
        if layer.kind == "Conv2D" and kernel is not None and kernel.ndim == 4:
            return np.moveaxis(kernel[:, :, 0, :], -1, 0)
    return None
