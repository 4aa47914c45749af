"""Fast single-drawing inference, temperature softmax and abstention.

The drawing path never calls `model.predict` (tens of milliseconds of set-up per call). A
run's predictor is its numpy forward pass (digitlab.zoo.numpy_net: no TensorFlow import, well
under a millisecond a drawing); a model numpy can't run gets a `tf.function` with one fixed
input signature, traced once, then about a millisecond a drawing.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import numpy as np

from digitlab.data.batch import model_batch
from digitlab.data.preprocess import preprocess
from digitlab.inference import abstention, ensemble
from digitlab.inference.softmax import entropy_bits, softmax
from digitlab.store import Run
from digitlab.zoo.registry import CLASSIFICATION, ENSEMBLE, ModelSpec, regression_digit

BLANK_MESSAGE = "Draw a digit: the canvas is empty or nearly empty."
# Why a prediction abstained: nothing drawn, or a drawing the model doesn't take for a digit.
BLANK, NOT_A_DIGIT = "blank", "not a digit"
# The temperature range everywhere: the slider, the CLI and the HTTP API.
MIN_TEMPERATURE, MAX_TEMPERATURE = 0.1, 10.0


@dataclass(frozen=True)
class Prediction:
    """What a model says about one input, or why it says nothing."""

    abstained: bool
    message: str
    label: int | None = None  # None when it abstains
    reason: str | None = None  # BLANK or NOT_A_DIGIT when it abstains
    probabilities: np.ndarray | None = None  # ten values summing to 1 (classifiers)
    confidence: float | None = None  # the top probability
    entropy: float | None = None  # in bits
    value: float | None = None  # the raw number a regression model predicts

    @property
    def best_guess(self) -> int | None:
        """The answer, or when it abstained on a drawing, the digit it leaned to most."""
        if self.label is None and self.probabilities is not None:
            return int(np.argmax(self.probabilities))
        return self.label

    def to_json(self) -> dict:
        return {
            "label": self.label,
            "probabilities": None
            if self.probabilities is None
            else [round(float(p), 6) for p in self.probabilities],
            "abstained": self.abstained,
            "reason": self.reason,
        }


def abstain(message: str = BLANK_MESSAGE) -> Prediction:
    return Prediction(abstained=True, message=message, reason=BLANK)


def interpret(
    outputs: np.ndarray, task: str, temperature: float = 1.0, abstain_below: float | None = None
) -> Prediction:
    """Turn raw model outputs (logits, or one regression value) into a Prediction.

    Kept apart from the model call so the temperature can change without running the model.
    A classifier with an abstention threshold (abstention.py) abstains when its top
    probability at temperature 1 is below it: the temperature never changes that decision.
    The probabilities stay in the Prediction, so a learner can see why. An ensemble's
    outputs are its members' logits, one row each (digitlab.inference.ensemble).
    """
    if task == CLASSIFICATION:
        outputs = np.asarray(outputs, np.float64)
        if ensemble.is_members_outputs(outputs):  # T on each member, then their mean
            probabilities = ensemble.mean_probabilities(outputs, temperature)
            outputs = ensemble.pooled_logits(outputs)
        else:
            probabilities = softmax(outputs, temperature)
        label = int(probabilities.argmax())
        unsure = bool(abstention.abstains(outputs[None], abstain_below)[0])
        return Prediction(
            abstained=unsure,
            message=abstention.NOT_A_DIGIT_MESSAGE if unsure else "",
            label=None if unsure else label,
            reason=NOT_A_DIGIT if unsure else None,
            probabilities=probabilities,
            confidence=float(probabilities[label]),
            entropy=entropy_bits(probabilities),
        )
    value = float(np.asarray(outputs).reshape(-1)[0])
    label = int(regression_digit(value))
    return Prediction(abstained=False, message="", label=label, value=value)


class Predictor:
    """A loaded Keras model wrapped for one-image-at-a-time inference."""

    def __init__(self, model, spec: ModelSpec, abstain_below: float | None = None) -> None:
        import tensorflow as tf  # late import: the pure helpers above need no TensorFlow

        self.spec = spec
        self.abstain_below = abstain_below  # see abstention.py; None: only blanks abstain
        size = spec.input_size
        # Traced once, here, into a concrete function that is called directly. (Calling a
        # tf.function instead made TensorFlow warn of "retracing" when several models load
        # in a row: it counts traces by the Python code traced, which every model shares.)
        signature = tf.TensorSpec([1, size, size, 1], tf.float32)
        traced = tf.function(lambda x: model(x, training=False))
        self._call = traced.get_concrete_function(signature)
        self.raw_outputs(np.zeros((28, 28), np.float32))  # warm up, not on the first drawing

    def raw_outputs(self, image28: np.ndarray) -> np.ndarray:
        """Logits (or the regression value) for one preprocessed 28x28 image in [0, 1]."""
        batch = model_batch(image28, self.spec.input_size)
        return self._call(batch).numpy()[0].astype(np.float64)

    def predict_image(self, image: np.ndarray, temperature: float = 1.0) -> Prediction:
        """Preprocess any digit image and predict; abstains on a blank image."""
        prepared = preprocess(image)
        if prepared.blank:
            return abstain()
        outputs = self.raw_outputs(prepared.image)
        return interpret(outputs, self.spec.task, temperature, self.abstain_below)


class NumpyPredictor(Predictor):
    """Predictor's interface on a model's numpy forward pass (digitlab.zoo.numpy_net)."""

    def __init__(self, net, spec: ModelSpec, abstain_below: float | None = None) -> None:
        self.spec = spec
        self.abstain_below = abstain_below
        self._net = net

    def raw_outputs(self, image28: np.ndarray) -> np.ndarray:
        batch = model_batch(image28, self.spec.input_size)
        return self._net(batch)[0].astype(np.float64)


class EnsembleNet:
    """An ensemble's members in numpy: (N, size, size, 1) -> each member's logits (N, M, 10)."""

    def __init__(self, members: list) -> None:
        self.members = members

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        return np.stack([member(batch) for member in self.members], axis=1)


def _numpy_net(run: Run):
    from digitlab.zoo import numpy_net

    if run.model != ENSEMBLE:
        return numpy_net.load(run.model_file)
    count = len(ensemble.members(run))
    return EnsembleNet([numpy_net.load(ensemble.member_file(run, i)) for i in range(count)])


def _ready_predictor(run: Run) -> Predictor:
    """numpy where it can run the model (no TensorFlow needed), else Keras (an ensemble's
    Keras model answers with its mean probability as logits, not each member's)."""
    from digitlab.zoo import numpy_net

    threshold = abstain_threshold(run)
    try:
        return NumpyPredictor(_numpy_net(run), run.spec, threshold)
    except numpy_net.UnsupportedModel:
        return Predictor(run.load(), run.spec, threshold)


def abstain_threshold(run: Run) -> float | None:
    """The run's abstention threshold (from its metrics, no file read), if it learnt one."""
    value = (run.metrics or {}).get("abstain_below")
    return float(value) if value is not None else None


def prediction_line(path: str, prediction: Prediction | None, error: str | None = None) -> dict:
    """One image's answer as `predict --json` prints it and the HTTP API returns it."""
    line: dict[str, Any] = {"path": path, "label": None, "probabilities": None}
    line.update(abstained=False, reason=None, error=error)
    if prediction is not None:
        line.update(prediction.to_json())
    return line


# Loaded models, one per run per process, the least recently used dropped past this many.
MAX_LOADED = 24
_loaded: OrderedDict[str, Predictor] = OrderedDict()
_loaded_lock = threading.Lock()
_load_locks: dict[str, threading.Lock] = {}


def load_predictor(run: Run) -> Predictor:
    """The ready predictor of a run: loaded and traced once per run per process.

    Loading takes a second; it holds only that run's lock, so answers from models already
    loaded never wait on it, and two first requests for one run load it once.
    """
    key = run.cache_key
    with _loaded_lock:
        if key in _loaded:
            _loaded.move_to_end(key)
            return _loaded[key]
        key_lock = _load_locks.setdefault(key, threading.Lock())
    with key_lock:
        with _loaded_lock:
            predictor = _loaded.get(key)
        if predictor is None:
            predictor = _ready_predictor(run)
            with _loaded_lock:
                _loaded[key] = predictor
                while len(_loaded) > MAX_LOADED:
                    _loaded.popitem(last=False)
    return predictor


def loaded_runs() -> list[str]:
    """The version keys of the runs loaded in this process, least recently used first."""
    with _loaded_lock:
        return [key.rpartition(":")[2] for key in _loaded]  # a cache key ends in its version


def is_loaded(run: Run) -> bool:
    """Whether this run's predictor is loaded in this process (its first answer is fast)."""
    with _loaded_lock:
        return run.cache_key in _loaded
