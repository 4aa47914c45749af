"""Learning digit by digit: the validation accuracy of each digit after every epoch.

A run's per-epoch history holds them beside val_loss and val_accuracy, one list per digit
under `digit_key(d)`, so they travel wherever the history goes (progress events, the store,
a cached run's rows) and Keras's TensorBoard callback writes each as a scalar of its own
(`epoch_accuracy_digit_3` in the validation logs). A digit with no validation images has no
key at all: the split is fixed for a run, so every list still has one value per epoch.

No TensorFlow here: the server and the pages read these curves while training runs elsewhere.
"""

from __future__ import annotations

import numpy as np

from digitlab.zoo.registry import labels_from_outputs

DIGITS = range(10)
_PREFIX = "val_accuracy_digit_"


def digit_key(digit: int) -> str:
    """The history key of one digit's validation accuracy."""
    return f"{_PREFIX}{digit}"


def per_digit_accuracy(outputs: np.ndarray, labels: np.ndarray, task: str) -> dict[int, float]:
    """The share of each digit's images answered right, for the digits present in `labels`.

    A regression model's answer is its number rounded to the nearest digit, the same
    answer its accuracy counts, so its strip reads like a classifier's."""
    labels = np.asarray(labels, dtype=np.int64)
    right = labels_from_outputs(outputs, task) == labels
    counts = np.bincount(labels, minlength=10)[:10]
    hits = np.bincount(labels, weights=right, minlength=10)[:10]
    return {digit: float(hits[digit] / counts[digit]) for digit in DIGITS if counts[digit]}


def digit_curves(history: dict[str, list[float]]) -> dict[int, list[float]]:
    """Each digit's validation accuracy per epoch, from a history (empty: none recorded,
    as for runs stored before they were, or trained without a validation split)."""
    keys = {digit: digit_key(digit) for digit in DIGITS}
    return {digit: list(history[key]) for digit, key in keys.items() if key in history}


def learning_order(curves: dict[int, list[float]], level: float = 0.98) -> list[int]:
    """The digits in the order the network learned them: by the first epoch each reached
    `level`, ties (and digits that never reached it) by their mean accuracy, best first."""

    def reached(values: list[float]) -> int:
        return next((epoch for epoch, value in enumerate(values) if value >= level), len(values))

    return sorted(curves, key=lambda digit: (reached(curves[digit]), -np.mean(curves[digit])))
