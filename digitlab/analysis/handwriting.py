"""How a classifier does on real handwriting, by writers it never trained on.

MNIST's test set says how a model does on MNIST; people drawing on a canvas write
differently. This report replays the held-out pendigits writers (handdrawn.TEST_WRITERS)
as the canvas draws them, in both styles the app reads (ink in the alpha channel, and dark
ink on white paper), and the not-a-digit drawings nobody trained or tuned on. Abstentions
count as wrong answers for digits and as right ones for the rest.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from digitlab.analysis.scores import expected_calibration_error
from digitlab.data import handdrawn, notdigits
from digitlab.data.preprocess import preprocess
from digitlab.inference import abstention
from digitlab.inference.softmax import softmax

OutputsFn = Callable[[np.ndarray], np.ndarray]  # (n, 28, 28) floats in [0, 1] -> logits
MISREAD_SHOWN = 24
CONFUSIONS_SHOWN = 6


def _floats(images: np.ndarray) -> np.ndarray:
    return images.astype(np.float32) / 255.0


def _top_confusions(labels, predicted, answered) -> list[dict[str, int]]:
    wrong = answered & (predicted != labels)
    pairs, counts = np.unique(
        np.stack([labels[wrong], predicted[wrong]]), axis=1, return_counts=True
    )
    order = np.argsort(-counts, kind="stable")[:CONFUSIONS_SHOWN]
    return [
        {"true": int(pairs[0, i]), "predicted": int(pairs[1, i]), "count": int(counts[i])}
        for i in order
    ]


def digit_scores(logits: np.ndarray, labels: np.ndarray, threshold: float | None) -> dict:
    """Accuracy with abstentions counted wrong, the share abstained, and per-class scores."""
    abstained = abstention.abstains(logits, threshold)
    predicted = logits.argmax(axis=-1)
    right = (predicted == labels) & ~abstained
    answered = ~abstained
    return {
        "count": len(labels),
        "accuracy": float(right.mean()),
        "abstained": float(abstained.mean()),
        "accuracy_answered": float(right.sum() / max(1, answered.sum())),
        "per_class": [float(right[labels == d].mean()) for d in range(10)],
        "confusions": _top_confusions(labels, predicted, answered),
    }


def abstention_rate(logits: np.ndarray, threshold: float | None) -> float:
    return float(abstention.abstains(logits, threshold).mean()) if len(logits) else 0.0


def font_letter_images() -> tuple[list[str], np.ndarray]:
    """Letters from the handwriting fonts installed here, preprocessed (none if no fonts)."""
    names, images = [], []
    for name, rgba in notdigits.font_letters(notdigits.handwriting_fonts()):
        names.append(name)
        images.append(preprocess(rgba).image)
    return names, np.array(images, np.float32).reshape(-1, 28, 28)


def handwriting_report(
    outputs_of: OutputsFn, threshold: float | None, temperature: float | None
) -> dict[str, Any]:
    """The held-out figures of one model: see the module's docstring."""
    test = handdrawn.pen_digits("test")
    logits = outputs_of(_floats(test.images))
    report = digit_scores(logits, test.labels, threshold)
    report["writers"] = list(handdrawn.TEST_WRITERS)
    report["per_writer"] = {}
    abstained = abstention.abstains(logits, threshold)
    right = (logits.argmax(axis=-1) == test.labels) & ~abstained
    for writer in handdrawn.TEST_WRITERS:
        report["per_writer"][str(writer)] = float(right[test.writers == writer].mean())
    # Misread (answered and wrong), most confident first: the gallery.
    top = abstention.top_probabilities(logits)
    misread = np.flatnonzero(~right & ~abstained)
    misread = misread[np.argsort(-top[misread], kind="stable")][:MISREAD_SHOWN]
    report["misread"] = [
        {
            "index": int(i),
            "true": int(test.labels[i]),
            "predicted": int(logits[i].argmax()),
            "confidence": float(top[i]),
        }
        for i in misread
    ]
    for suffix, t in (("", 1.0), ("_calibrated", temperature or 1.0)):
        probabilities = softmax(logits, t)
        correct = probabilities.argmax(axis=-1) == test.labels
        report["ece" + suffix] = expected_calibration_error(probabilities.max(axis=-1), correct)
    paper = handdrawn.pen_digits("test", style=handdrawn.PAPER)
    report["paper"] = digit_scores(outputs_of(_floats(paper.images)), paper.labels, threshold)
    report["paper"].pop("confusions")
    not_digits = handdrawn.not_digits("test")
    report["not_digits_abstained"] = abstention_rate(
        outputs_of(_floats(not_digits.images)), threshold
    )
    report["not_digits_count"] = len(not_digits)
    names, letters = font_letter_images()
    report["font_letters_count"] = len(names)
    report["font_letters_abstained"] = (
        abstention_rate(outputs_of(letters), threshold) if names else None
    )
    return report
