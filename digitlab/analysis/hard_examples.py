"""The training images a run finds hardest: those it gets wrong, and those it is least sure of.

A run's outputs on MNIST's 60,000 training images are computed once and cached under the
store (`train_outputs.npy`, beside its evaluation's cache): a run's file never changes, so
neither do they. The ranking itself is a pure function of outputs and labels.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from digitlab import store
from digitlab.core import atomic
from digitlab.data.batch import model_batch
from digitlab.data.mnist import load_mnist
from digitlab.inference.metrics import model_outputs
from digitlab.inference.softmax import softmax
from digitlab.zoo.registry import CLASSIFICATION, labels_from_outputs

OUTPUTS_FILE = "train_outputs.npy"
CHUNK = 10_000  # images made into a float batch at a time: 30 MB, not all 60,000 at once
WRONG, UNSURE = "wrong", "unsure"


@dataclass(frozen=True)
class HardOne:
    """One training image and what the run said of it."""

    index: int  # in the source (MNIST's training set)
    label: int  # the true digit
    said: int  # the run's digit
    confidence: float | None  # its top probability; None for the regression model
    value: float | None = None  # the regression model's number


def ranked(outputs: np.ndarray, labels: np.ndarray, task: str, kind: str) -> np.ndarray:
    """The indices of every image the run gets wrong (`WRONG`: the most confident mistakes
    first) or of every image, least sure first (`UNSURE`).

    A classifier's sureness is its top probability (at T = 1). The regression model gives
    no probability: its mistakes come farthest from the truth first, and it is least sure
    of the values nearest a half-way point between two digits.
    """
    labels = np.asarray(labels, np.int64)
    said = labels_from_outputs(outputs, task)
    if task == CLASSIFICATION:
        strength = softmax(outputs).max(axis=-1)
    else:
        values = np.asarray(outputs, np.float64).reshape(-1)
        # Wrong: how far off; unsure: how far from the nearest digit (0.5 at most).
        strength = np.abs(values - labels) if kind == WRONG else -np.abs(values - said)
    if kind == WRONG:
        chosen = np.flatnonzero(said != labels)
        return chosen[np.argsort(-strength[chosen], kind="stable")]
    if kind == UNSURE:
        return np.argsort(strength, kind="stable")
    raise ValueError(f"kind must be {WRONG!r} or {UNSURE!r}, got {kind!r}")


def described(
    outputs: np.ndarray, labels: np.ndarray, task: str, indices: np.ndarray
) -> list[HardOne]:
    """What the run said of each of these images."""
    chosen = np.asarray(outputs)[indices]
    said = labels_from_outputs(chosen, task)
    if task == CLASSIFICATION:
        confidence, values = softmax(chosen).max(axis=-1), [None] * len(indices)
    else:
        confidence, values = [None] * len(indices), chosen.reshape(-1).astype(np.float64)
    return [
        HardOne(
            index=int(index),
            label=int(labels[index]),
            said=int(said[row]),
            confidence=None if confidence[row] is None else float(confidence[row]),
            value=None if values[row] is None else float(values[row]),
        )
        for row, index in enumerate(indices)
    ]


# --- the cache -----------------------------------------------------------------------------


def _cache_file(run: store.Run) -> Path:
    return store.cache_dir(run, "train-outputs") / OUTPUTS_FILE


def cached_outputs(run: store.Run) -> np.ndarray | None:
    """The run's stored outputs on the training images, or None when not computed yet."""
    outputs = atomic.read_array(_cache_file(run))
    if outputs is None or len(outputs) != len(load_mnist().y_train):
        return None
    return outputs


def train_outputs(run: store.Run) -> np.ndarray:
    """The run's raw outputs (logits, or regression values) on MNIST's training images, from
    the cache, else computed with the model and cached (raises DataError without MNIST)."""
    outputs = cached_outputs(run)
    if outputs is not None:
        return outputs
    images = load_mnist().x_train
    model = run.load()
    outputs = np.concatenate(
        [
            model_outputs(model, model_batch(images[start : start + CHUNK], run.spec.input_size))
            for start in range(0, len(images), CHUNK)
        ]
    ).astype(np.float32)
    atomic.write_array(_cache_file(run), outputs)
    return outputs
