"""Fast single-drawing inference, temperature softmax and abstention.

The drawing path never calls `model.predict` (tens of milliseconds of set-up per call): a
`tf.function` with one fixed input signature is traced once per model, then each drawing
costs about a millisecond.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from digitlab.data import downscale_to_20
from digitlab.models import CLASSIFICATION, ModelSpec
from digitlab.preprocess import preprocess

BLANK_MESSAGE = "Draw a digit: the canvas is empty or nearly empty."
MIN_TEMPERATURE, MAX_TEMPERATURE = 0.1, 10.0


def softmax(logits: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    """softmax(logits / temperature), computed stably."""
    if temperature <= 0:
        raise ValueError("temperature must be positive")
    scaled = np.asarray(logits, dtype=np.float64) / temperature
    scaled -= scaled.max(axis=-1, keepdims=True)
    exps = np.exp(scaled)
    return exps / exps.sum(axis=-1, keepdims=True)


def entropy_bits(probabilities: np.ndarray) -> float:
    """Shannon entropy in bits: 0 for a certain answer, log2(10) = 3.32 for a uniform one."""
    p = np.asarray(probabilities, dtype=np.float64)
    nonzero = p[p > 0]
    return float(-(nonzero * np.log2(nonzero)).sum())


@dataclass(frozen=True)
class Prediction:
    """What a model says about one input, or why it says nothing."""

    abstained: bool
    message: str
    label: int | None = None
    probabilities: np.ndarray | None = None  # ten values summing to 1 (classifiers)
    confidence: float | None = None  # the top probability
    entropy: float | None = None  # in bits
    value: float | None = None  # the raw number a regression model predicts

    def to_json(self) -> dict:
        return {
            "label": self.label,
            "probabilities": None
            if self.probabilities is None
            else [round(float(p), 6) for p in self.probabilities],
            "abstained": self.abstained,
        }


def abstain(message: str = BLANK_MESSAGE) -> Prediction:
    return Prediction(abstained=True, message=message)


def interpret(outputs: np.ndarray, task: str, temperature: float = 1.0) -> Prediction:
    """Turn raw model outputs (logits, or one regression value) into a Prediction.

    Kept apart from the model call so the temperature can change without running the model.
    """
    if task == CLASSIFICATION:
        probabilities = softmax(outputs, temperature)
        label = int(probabilities.argmax())
        return Prediction(
            abstained=False,
            message="",
            label=label,
            probabilities=probabilities,
            confidence=float(probabilities[label]),
            entropy=entropy_bits(probabilities),
        )
    value = float(np.asarray(outputs).reshape(-1)[0])
    label = int(np.clip(np.rint(value), 0, 9))
    return Prediction(abstained=False, message="", label=label, value=value)


class Predictor:
    """A loaded model wrapped for one-image-at-a-time inference."""

    def __init__(self, model, spec: ModelSpec) -> None:
        import tensorflow as tf  # late import: the pure helpers above need no TensorFlow

        self.spec = spec
        size = spec.input_size
        signature = [tf.TensorSpec([1, size, size, 1], tf.float32)]
        self._call = tf.function(lambda x: model(x, training=False), input_signature=signature)
        self.raw_outputs(np.zeros((28, 28), np.float32))  # trace now, not on the first drawing

    def raw_outputs(self, image28: np.ndarray) -> np.ndarray:
        """Logits (or the regression value) for one preprocessed 28x28 image in [0, 1]."""
        image = downscale_to_20(image28) if self.spec.input_size == 20 else image28
        batch = np.asarray(image, np.float32)[None, :, :, None]
        return self._call(batch).numpy()[0].astype(np.float64)

    def predict_image(self, image: np.ndarray, temperature: float = 1.0) -> Prediction:
        """Preprocess any digit image and predict; abstains on a blank image."""
        prepared = preprocess(image)
        if prepared.blank:
            return abstain()
        return interpret(self.raw_outputs(prepared.image), self.spec.task, temperature)
