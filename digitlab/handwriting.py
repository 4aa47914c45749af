"""Accuracy on real pen-written digits, drawn the way the canvas would draw them.

MNIST's test set says how a model does on MNIST; people drawing with a mouse or a finger
write differently. The pendigits trajectories (30 writers on a tablet) are replayed onto a
280x280 canvas with the app's stroke width and go through the app's own preprocessing.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from digitlab.pendigits import PenDigit, rasterize
from digitlab.predict import Predictor
from digitlab.preprocess import preprocess
from digitlab.zoo import labels_from_outputs


@dataclass(frozen=True)
class HandwritingScore:
    accuracy: float
    count: int
    abstained: int
    per_class_accuracy: list[float]


def score_on_pen_digits(predictor: Predictor, digits: list[PenDigit]) -> HandwritingScore:
    """Rasterise each digit as the canvas would, preprocess, predict; abstentions count wrong."""
    correct = np.zeros(10)
    seen = np.zeros(10)
    abstained = 0
    for digit in digits:
        prepared = preprocess(rasterize(digit))
        seen[digit.label] += 1
        if prepared.blank:
            abstained += 1
            continue
        outputs = predictor.raw_outputs(prepared.image)
        label = int(labels_from_outputs(outputs[None], predictor.spec.task)[0])
        correct[digit.label] += label == digit.label
    per_class = [float(c / s) if s else float("nan") for c, s in zip(correct, seen, strict=True)]
    return HandwritingScore(
        float(correct.sum() / max(1, seen.sum())), int(seen.sum()), abstained, per_class
    )
