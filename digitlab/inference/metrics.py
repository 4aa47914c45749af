"""Test-set metrics computed with plain numpy from the model's raw outputs."""

from __future__ import annotations

from typing import Any

import numpy as np

from digitlab.inference.softmax import log_softmax
from digitlab.zoo.registry import CLASSIFICATION, ModelSpec, regression_digit


def model_outputs(model, images: np.ndarray, batch_size: int = 2000) -> np.ndarray:
    """Raw outputs (logits, or the regression value) for many images, in batches.

    Calls the model directly rather than `model.predict`, which is slower for this size.
    """
    chunks = [
        np.asarray(model(images[start : start + batch_size], training=False))
        for start in range(0, len(images), batch_size)
    ]
    return np.concatenate(chunks).astype(np.float64)


def classification_metrics(logits: np.ndarray, labels: np.ndarray) -> dict[str, float]:
    """Accuracy and mean cross-entropy loss from logits."""
    labels = np.asarray(labels, dtype=np.int64)
    log_probs = log_softmax(logits)
    loss = -log_probs[np.arange(len(labels)), labels].mean()
    accuracy = (logits.argmax(axis=-1) == labels).mean()
    return {"accuracy": float(accuracy), "loss": float(loss)}


def regression_metrics(values: np.ndarray, labels: np.ndarray) -> dict[str, float]:
    """MSE, MAE and the accuracy of the prediction rounded to the nearest digit."""
    values = np.asarray(values, dtype=np.float64).reshape(-1)
    labels = np.asarray(labels, dtype=np.float64)
    errors = values - labels
    rounded = regression_digit(values)
    return {
        "mse": float(np.mean(errors**2)),
        "mae": float(np.mean(np.abs(errors))),
        "accuracy": float(np.mean(rounded == labels)),
    }


def score_on_test_set(
    model, spec: ModelSpec, images: np.ndarray, labels: np.ndarray
) -> dict[str, Any]:
    """The metrics recorded with a stored model, on the MNIST test set."""
    outputs = model_outputs(model, images)
    if spec.task == CLASSIFICATION:
        return classification_metrics(outputs, labels)
    return regression_metrics(outputs, labels)
