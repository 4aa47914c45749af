"""Pure scores from labels, predictions and logits: no model, no files, no TensorFlow.

The confusion matrix and per-class precision/recall/F1; calibration after Guo et al. 2017
("On Calibration of Modern Neural Networks"): reliability bins, the expected calibration
error, and the one temperature T that minimises the NLL of softmax(logits / T).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from digitlab.inference.softmax import log_softmax

ECE_BINS = 15
LOG_T_RANGE = (math.log(0.05), math.log(20.0))


def confusion_matrix(labels: np.ndarray, predictions: np.ndarray, classes: int = 10) -> np.ndarray:
    """Counts (classes, classes): rows are the true class, columns the predicted one."""
    labels = np.asarray(labels, dtype=np.int64)
    predictions = np.asarray(predictions, dtype=np.int64)
    flat = np.bincount(labels * classes + predictions, minlength=classes * classes)
    return flat.reshape(classes, classes)


def _ratio(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    """numerator / denominator, 0 where the denominator is 0 (an undefined score)."""
    numerator = np.asarray(numerator, dtype=np.float64)
    return np.divide(numerator, denominator, out=np.zeros_like(numerator), where=denominator > 0)


def per_class_scores(confusion: np.ndarray) -> list[dict[str, float | int]]:
    """Precision, recall, F1 and support of each class (0 where a score is undefined)."""
    confusion = np.asarray(confusion)
    hits, support = np.diag(confusion), confusion.sum(axis=1)
    precision, recall = _ratio(hits, confusion.sum(axis=0)), _ratio(hits, support)
    f1 = _ratio(2 * precision * recall, precision + recall)
    return [
        {"digit": d, "precision": float(p), "recall": float(r), "f1": float(f), "support": int(n)}
        for d, (p, r, f, n) in enumerate(zip(precision, recall, f1, support, strict=True))
    ]


def reliability_bins(
    confidences: np.ndarray, correct: np.ndarray, bins: int = ECE_BINS
) -> list[dict[str, Any]]:
    """Per equal-width confidence bin (lower, upper]: its count, mean confidence and
    accuracy (None when empty). The data of a reliability diagram."""
    confidences = np.asarray(confidences, dtype=np.float64)
    # ceil puts a confidence lying exactly on an edge in the bin below, as Guo et al. do.
    index = np.clip(np.ceil(confidences * bins).astype(np.int64) - 1, 0, bins - 1)
    counts = np.bincount(index, minlength=bins)
    mean_conf = _ratio(np.bincount(index, confidences, bins), counts)
    accuracy = _ratio(np.bincount(index, np.asarray(correct, np.float64), bins), counts)
    return [
        {
            "lower": b / bins,
            "upper": (b + 1) / bins,
            "count": int(counts[b]),
            "confidence": float(mean_conf[b]) if counts[b] else None,
            "accuracy": float(accuracy[b]) if counts[b] else None,
        }
        for b in range(bins)
    ]


def expected_calibration_error(
    confidences: np.ndarray, correct: np.ndarray, bins: int = ECE_BINS
) -> float:
    """ECE: the gap between accuracy and mean confidence per bin, weighted by bin count."""
    rows = [row for row in reliability_bins(confidences, correct, bins) if row["count"]]
    total = sum(row["count"] for row in rows)
    gaps = sum(row["count"] * abs(row["accuracy"] - row["confidence"]) for row in rows)
    return float(gaps / total) if total else 0.0


def nll(logits: np.ndarray, labels: np.ndarray, temperature: float = 1.0) -> float:
    """Mean negative log-likelihood of the labels under softmax(logits / temperature)."""
    labels = np.asarray(labels, dtype=np.int64)
    log_probs = log_softmax(np.asarray(logits, dtype=np.float64) / temperature)
    return float(-log_probs[np.arange(len(labels)), labels].mean())


def fit_temperature(logits: np.ndarray, labels: np.ndarray, tolerance: float = 1e-4) -> float:
    """The temperature in [0.05, 20] minimising the NLL, by golden-section search on log T.

    The NLL is convex in 1/T, hence unimodal in log T, which is all golden-section needs.
    """
    logits = np.asarray(logits, dtype=np.float64)

    def loss(log_t: float) -> float:
        return nll(logits, labels, math.exp(log_t))

    # Each step keeps the part of the bracket that must hold the minimum: 0.618 of it.
    ratio = (math.sqrt(5) - 1) / 2
    low, high = LOG_T_RANGE
    while high - low > tolerance:
        a, b = high - ratio * (high - low), low + ratio * (high - low)
        if loss(a) <= loss(b):
            high = b
        else:
            low = a
    return math.exp((low + high) / 2)


# --- the evaluation of one stored model ----------------------------------------------------
