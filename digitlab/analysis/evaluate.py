"""Evaluate, calibrate, explain: a stored model's scores over the 10,000 MNIST test images.

Classifiers get accuracy, loss, per-class precision/recall/F1, the confusion matrix and a
temperature calibration after Guo et al. 2017 ("On Calibration of Modern Neural Networks"):
one temperature T, fitted on held-out images, by minimising the NLL of softmax(logits / T).
Regression models get MSE, MAE and the accuracy of the rounded prediction.

The result is computed once per run and cached under the store (`evaluation.json` and
`test_outputs.npy`); the shipped runs' summaries ship beside them, read-only.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from digitlab import store
from digitlab.analysis.scores import (
    confusion_matrix,
    expected_calibration_error,
    fit_temperature,
    nll,
    per_class_scores,
    reliability_bins,
)
from digitlab.core import atomic
from digitlab.data import mnist as data
from digitlab.data.batch import model_batch
from digitlab.inference.metrics import classification_metrics, model_outputs, regression_metrics
from digitlab.inference.softmax import softmax
from digitlab.zoo.registry import CLASSIFICATION, CUSTOM, get_spec, labels_from_outputs

EVALUATION_FILE = "evaluation.json"
OUTPUTS_FILE = "test_outputs.npy"
HANDWRITING = "handwriting"  # the summary's key for the held-out handwriting figures
CALIBRATION_FALLBACK = 5000  # last MNIST training images, when a model kept no validation


@dataclass
class Evaluation:
    """One stored model's scores (`summary`, as cached) and its raw test outputs."""

    summary: dict[str, Any]  # what to_json gives; also holds the model's saved_at and seconds
    outputs: np.ndarray = field(repr=False)  # test logits (N, 10), or regression values (N,)
    labels: np.ndarray = field(repr=False)  # the true test digits (N,)
    cached: bool = False  # read from the cache: the model was not run

    @property
    def model(self) -> str:
        return self.summary["model"]

    @property
    def task(self) -> str:
        # A custom network's task is in its spec, so its evaluation records it.
        return self.summary.get("task") or get_spec(self.model).task

    @cached_property
    def probabilities(self) -> np.ndarray:
        """Test-set softmax probabilities at T = 1 (classifiers only)."""
        return softmax(self.outputs)

    @cached_property
    def calibrated_probabilities(self) -> np.ndarray:
        """Test-set probabilities at the fitted temperature (classifiers only)."""
        return softmax(self.outputs, self.summary["temperature"])

    @cached_property
    def predictions(self) -> np.ndarray:
        """The predicted digit of each test image."""
        return labels_from_outputs(self.outputs, self.task)

    def to_json(self) -> dict[str, Any]:
        return dict(self.summary)


def mistakes(evaluation: Evaluation, true_digit: int, predicted_digit: int) -> np.ndarray:
    """Test indices of `true_digit` predicted as `predicted_digit`, most confident first.

    Classifiers rank by the uncalibrated top probability; regression ranks by how close
    the predicted value lies to the wrong digit.
    """
    chosen = np.flatnonzero(
        (evaluation.labels == true_digit) & (evaluation.predictions == predicted_digit)
    )
    if evaluation.task == CLASSIFICATION:
        strength = evaluation.probabilities[chosen].max(axis=-1)
    else:
        strength = -np.abs(evaluation.outputs[chosen] - predicted_digit)
    return chosen[np.argsort(-strength, kind="stable")]


def _classification_scores(
    logits: np.ndarray, labels: np.ndarray, cal_logits: np.ndarray, cal_labels: np.ndarray
) -> dict[str, Any]:
    confusion = confusion_matrix(labels, logits.argmax(axis=-1))
    temperature = fit_temperature(cal_logits, cal_labels)
    scores: dict[str, Any] = {
        **classification_metrics(logits, labels),
        "per_class": per_class_scores(confusion),
        "confusion": confusion.tolist(),
        "temperature": temperature,
        "nll": nll(logits, labels),
        "nll_calibrated": nll(logits, labels, temperature),
        "reliability": {},
    }
    for when, suffix, t in (("before", "", 1.0), ("after", "_calibrated", temperature)):
        probabilities = softmax(logits, t)
        confidences = probabilities.max(axis=-1)
        correct = probabilities.argmax(axis=-1) == labels
        scores["ece" + suffix] = expected_calibration_error(confidences, correct)
        scores["reliability"][when] = reliability_bins(confidences, correct)
    return scores


def _calibration_split(run: store.Run, split: data.Split) -> tuple[Any, Any, str]:
    """Images to fit T on (never test images), and a line saying which they are.

    The validation split training held out is the honest choice. A model trained without
    one falls back to the last 5,000 MNIST training images, which it may have seen: an
    approximation that makes the fitted temperature somewhat too low.
    """
    if len(split.x_val):
        return split.x_val, split.y_val, f"held-out validation split ({len(split.x_val)} images)"
    mnist, tail = data.load_mnist(), slice(-CALIBRATION_FALLBACK, None)
    x = model_batch(mnist.x_train[tail], run.spec.input_size)
    return x, mnist.y_train[tail], f"last {CALIBRATION_FALLBACK} training images"


def _compute(run: store.Run, model) -> Evaluation:
    started = time.perf_counter()
    config = run.config
    split = data.prepare_split(
        run.spec.input_size, config.train_samples, config.validation_split, config.seed
    )
    # Rounded to float32 as cached, so a fresh and a cached evaluation agree exactly.
    outputs = model_outputs(model, split.x_test).astype(np.float32).astype(np.float64)
    labels = np.asarray(split.y_test, dtype=np.int64)
    if run.spec.task == CLASSIFICATION:
        x_cal, y_cal, description = _calibration_split(run, split)
        scores = _classification_scores(outputs, labels, model_outputs(model, x_cal), y_cal)
        scores["calibration_split"] = description
    else:
        outputs = outputs.reshape(-1)
        scores = regression_metrics(outputs, labels)
    summary = {
        "model": run.model,
        **({"task": run.spec.task} if run.model == CUSTOM else {}),
        "run": run.id,
        **scores,
        "saved_at": run.created_at,
        "seconds": round(time.perf_counter() - started, 3),
    }
    return Evaluation(summary, outputs, labels)


# --- the cache -----------------------------------------------------------------------------


def _cache_dir(run: store.Run) -> Path:
    """Where a run's evaluation is kept: under the store, never beside a shipped model."""
    return store.cache_dir(run, "evaluation")


def _read_summary(run: store.Run) -> dict[str, Any] | None:
    """The cached summary of exactly this run; for a shipped run also the shipped one."""
    folders = [_cache_dir(run)] + ([run.path] if run.shipped else [])
    for folder in folders:
        try:
            summary = json.loads((folder / EVALUATION_FILE).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if (summary.get("model"), summary.get("saved_at")) == (run.model, run.created_at):
            return summary
    return None


def save_cache(evaluation: Evaluation, run: store.Run) -> Path:
    """Cache the evaluation: the outputs first, the JSON last (it marks a complete cache)."""
    folder = _cache_dir(run)
    atomic.write_array(folder / OUTPUTS_FILE, evaluation.outputs.astype(np.float32))
    atomic.write_text(folder / EVALUATION_FILE, json.dumps(evaluation.to_json(), indent=1))
    _temperatures[run.cache_key] = evaluation.summary.get("temperature")
    return folder


def load_cache(run: store.Run) -> Evaluation | None:
    """The cached evaluation of exactly this run, or None."""
    summary = _read_summary(run)
    outputs = atomic.read_array(_cache_dir(run) / OUTPUTS_FILE)
    if outputs is None:
        return None
    labels = np.asarray(data.load_mnist().y_test, dtype=np.int64)
    if summary is None or len(outputs) != len(labels):
        return None
    return Evaluation(summary, outputs.astype(np.float64), labels, cached=True)


# Run (its cache key: two stores may both have a "run 1") -> its fitted temperature (None:
# not evaluated yet); read from disk once.
_temperatures: dict[str, float | None] = {}


def calibrated_temperature(run: store.Run) -> float | None:
    """The fitted temperature of exactly this run, from its cached evaluation.

    Needs no MNIST and no model run, and reads the disk once per run and process, so the
    Draw page can show it on every rerun; None when the run was not evaluated yet (an
    evaluation in this process fills it in) or is a regression model.
    """
    if run.cache_key not in _temperatures:
        summary = _read_summary(run)
        _temperatures[run.cache_key] = summary.get("temperature") if summary else None
    return _temperatures[run.cache_key]


def evaluate_run(run: store.Run) -> Evaluation:
    """Evaluate a run, from its cache when possible (a cached evaluation needs no model).

    A classifier's evaluation includes its figures on real handwriting (handwriting.py);
    one cached before they existed gets them added once. A shipped model carries them, so
    its first evaluation on a fresh machine scores MNIST only (seconds), drawing none of the
    ~6,500 held-out drawings they were measured on.
    """
    cached = load_cache(run)
    if cached is not None and (cached.task != CLASSIFICATION or HANDWRITING in cached.summary):
        return cached
    model = run.load()
    evaluation = cached or _compute(run, model)
    if evaluation.task == CLASSIFICATION:
        known = (_read_summary(run) or {}).get(HANDWRITING)
        evaluation.summary[HANDWRITING] = known or _handwriting(run, model, evaluation.summary)
        evaluation.cached = False
    save_cache(evaluation, run)
    return evaluation


def outputs_fn(run: store.Run, model):
    """images (n, 28, 28) in [0, 1] -> the model's outputs, batched as the run's model takes
    them: what the handwriting and style reports call."""

    def outputs_of(images: np.ndarray) -> np.ndarray:
        return model_outputs(model, model_batch(images, run.spec.input_size))

    return outputs_of


def _handwriting(run: store.Run, model, summary: dict[str, Any]) -> dict[str, Any] | None:
    """The run's held-out handwriting report, or None without the pen-written digits."""
    from digitlab.analysis.handwriting import handwriting_report
    from digitlab.data.handdrawn import NoPenDigits
    from digitlab.inference.predict import abstain_threshold

    outputs_of = outputs_fn(run, model)
    try:
        return handwriting_report(outputs_of, abstain_threshold(run), summary["temperature"])
    except NoPenDigits:
        return None


# --- text ----------------------------------------------------------------------------------


def evaluation_summary_table(evaluation: Evaluation) -> str:
    """A readable plain-text report, for the command line."""
    s = evaluation.summary
    source = "from the cache" if evaluation.cached else f"computed in {s['seconds']:.1f} s"
    lines = [f"{s['model']} on the 10,000 MNIST test images ({source})"]
    if evaluation.task != CLASSIFICATION:
        lines.append(f"MSE {s['mse']:.4f}  MAE {s['mae']:.4f}  accuracy {s['accuracy']:.2%}")
        return "\n".join(lines)
    lines += [
        f"accuracy {s['accuracy']:.2%}  loss {s['loss']:.4f}",
        f"temperature {s['temperature']:.3f}, fitted on the {s['calibration_split']}",
        f"NLL {s['nll']:.4f} -> {s['nll_calibrated']:.4f} calibrated",
        f"ECE {s['ece']:.2%} -> {s['ece_calibrated']:.2%} calibrated",
        "",
        "digit precision recall     F1 support | predicted as "
        + "".join(f"{d:>5}" for d in range(10)),
    ]
    for row, counts in zip(s["per_class"], s["confusion"], strict=True):
        lines.append(
            f"{row['digit']:>5} {row['precision']:>9.4f} {row['recall']:>6.4f} {row['f1']:>6.4f}"
            f" {row['support']:>7} |              " + "".join(f"{n:>5}" for n in counts)
        )
    if s.get(HANDWRITING):
        lines += ["", *handwriting_lines(s[HANDWRITING])]
    return "\n".join(lines)


def handwriting_lines(h: dict[str, Any]) -> list[str]:
    """The handwriting report in a few plain sentences (the CLI and the Evaluate page)."""
    lines = [
        f"Real handwriting: {h['count']} pen-written digits by {len(h['writers'])} writers "
        "it never trained on.",
        f"Right on {h['accuracy']:.2%} as drawn on the canvas, {h['paper']['accuracy']:.2%} "
        f"as dark ink on paper; abstained on {h['abstained']:.2%} of them.",
        f"ECE {h['ece']:.2%} at T = 1, {h['ece_calibrated']:.2%} at the calibrated T.",
        f"Abstained on {h['not_digits_abstained']:.1%} of {h['not_digits_count']} held-out "
        "letters, scribbles, shapes and digit pairs.",
    ]
    if h.get("font_letters_abstained") is not None:
        lines.append(
            f"Abstained on {h['font_letters_abstained']:.1%} of {h['font_letters_count']} "
            "letters from handwriting fonts (never trained or tuned on)."
        )
    return lines
