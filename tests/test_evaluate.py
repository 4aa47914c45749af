"""Evaluation scores against hand computations, and the cached evaluation of a real model."""

from __future__ import annotations

import dataclasses
import json
import time

import numpy as np
import pytest

from digitlab import store
from digitlab.analysis import evaluate, scores
from digitlab.data.pendigits import PENDIGITS_ENV

CLASSIFICATION_KEYS = {
    "model",
    "accuracy",
    "loss",
    "per_class",
    "confusion",
    "temperature",
    "nll",
    "nll_calibrated",
    "ece",
    "ece_calibrated",
}


def test_confusion_matrix_matches_hand_count():
    labels = [0, 0, 1, 1, 1, 2, 2, 2, 2]
    predictions = [0, 1, 1, 1, 2, 2, 2, 0, 2]
    expected = [
        [1, 1, 0],
        [0, 2, 1],
        [1, 0, 3],
    ]
    confusion = scores.confusion_matrix(labels, predictions, classes=3)
    np.testing.assert_array_equal(confusion, expected)


def test_per_class_scores_match_hand_computation():
    confusion = np.array([[1, 1, 0], [0, 2, 1], [1, 0, 3]])
    rows = scores.per_class_scores(confusion)
    # Class 0: 1 of 2 predicted 0 are right, 1 of 2 true 0 found.
    # Class 1: 2 of 3 predicted right, 2 of 3 found. Class 2: 3 of 4 and 3 of 4.
    expected = [(1 / 2, 1 / 2, 2), (2 / 3, 2 / 3, 3), (3 / 4, 3 / 4, 4)]
    for digit, (row, (precision, recall, support)) in enumerate(zip(rows, expected, strict=True)):
        assert row["digit"] == digit
        assert row["precision"] == pytest.approx(precision)
        assert row["recall"] == pytest.approx(recall)
        assert row["f1"] == pytest.approx(2 * precision * recall / (precision + recall))
        assert row["support"] == support


def test_per_class_scores_are_zero_for_a_class_never_predicted():
    confusion = np.array([[2, 0], [1, 0]])
    never = scores.per_class_scores(confusion)[1]
    assert never == {"digit": 1, "precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 1}
    assert scores.per_class_scores(confusion)[0]["precision"] == pytest.approx(2 / 3)


def test_ece_of_a_calibrated_toy_is_zero():
    confidences = np.full(100, 0.8)
    correct = np.arange(100) < 80  # exactly 80 % right at confidence 0.8
    assert scores.expected_calibration_error(confidences, correct) == pytest.approx(0, abs=1e-12)


def test_ece_of_an_overconfident_toy_is_the_gap():
    confidences = np.full(100, 0.99)
    correct = np.arange(100) < 60
    assert scores.expected_calibration_error(confidences, correct) == pytest.approx(0.39)


def test_ece_weights_bins_by_their_count():
    # 30 images at 0.95 all right (gap 0.05), 10 at 0.55 half right (gap 0.05) -> 0.05.
    confidences = np.r_[np.full(30, 0.95), np.full(10, 0.55)]
    correct = np.r_[np.ones(30), np.arange(10) < 5]
    assert scores.expected_calibration_error(confidences, correct) == pytest.approx(0.05)
    # 75 % of images at gap 0.1, 25 % at gap 0.3 -> 0.15.
    correct = np.r_[np.arange(30) < 26, np.arange(10) < 8]
    expected = 0.75 * abs(26 / 30 - 0.95) + 0.25 * abs(0.8 - 0.55)
    assert scores.expected_calibration_error(confidences, correct) == pytest.approx(expected)


def test_reliability_bins_describe_each_bin():
    confidences = np.array([0.05, 0.5, 0.55, 1.0])
    correct = np.array([False, True, False, True])
    rows = scores.reliability_bins(confidences, correct, bins=10)
    assert len(rows) == 10
    assert rows[0] == {"lower": 0.0, "upper": 0.1, "count": 1, "confidence": 0.05, "accuracy": 0.0}
    # 0.5 sits on an edge: bins hold (lower, upper], so it belongs to the fifth bin.
    assert rows[4]["count"] == 1 and rows[4]["accuracy"] == 1.0
    assert rows[5]["count"] == 1 and rows[5]["confidence"] == pytest.approx(0.55)
    assert rows[9]["count"] == 1 and rows[9]["accuracy"] == 1.0
    assert rows[1] == {"lower": 0.1, "upper": 0.2, "count": 0, "confidence": None, "accuracy": None}
    assert sum(row["count"] for row in rows) == 4


def test_nll_matches_direct_computation():
    logits = np.array([[2.0, 0.0, -1.0], [0.5, 0.5, 3.0]])
    labels = np.array([0, 1])
    for temperature in (1.0, 2.5):
        scaled = logits / temperature
        probs = np.exp(scaled) / np.exp(scaled).sum(axis=1, keepdims=True)
        expected = -np.mean(np.log(probs[[0, 1], labels]))
        assert scores.nll(logits, labels, temperature) == pytest.approx(expected)


@pytest.mark.parametrize("factor", [0.5, 3.0])
def test_fit_temperature_recovers_a_known_scaling(factor: float):
    rng = np.random.default_rng(0)
    logits = rng.normal(0.0, 2.5, size=(20_000, 10))
    probs = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    # Labels drawn from softmax(logits) make the logits calibrated at T = 1.
    labels = (probs.cumsum(axis=1) < rng.random((len(probs), 1))).sum(axis=1)
    temperature = scores.fit_temperature(logits * factor, labels)
    assert temperature == pytest.approx(factor, rel=0.1)
    assert scores.nll(logits * factor, labels, temperature) <= scores.nll(
        logits * factor, labels, factor
    )


def test_fit_temperature_stays_in_its_range():
    logits = np.array([[1.0, 0.0], [0.0, 1.0]])
    labels = np.array([0, 1])  # perfectly separable: sharper is always better
    assert scores.fit_temperature(logits, labels) == pytest.approx(0.05, rel=1e-3)


# --- a real shipped model ------------------------------------------------------------------


@pytest.fixture
def real_evaluation(mnist):
    run = store.shipped_run("mlp_small")
    if run is None:
        pytest.skip("The shipped mlp_small model is not there.")
    return evaluate.evaluate_run(run), run


@pytest.mark.slow
def test_evaluate_a_shipped_run(real_evaluation):
    evaluation, run = real_evaluation
    summary = evaluation.to_json()
    assert summary.keys() >= CLASSIFICATION_KEYS
    assert summary["model"] == "mlp_small" and summary["run"] == "mlp_small"
    assert summary["accuracy"] == pytest.approx(run.metrics["accuracy"], abs=0.002)
    confusion = np.array(summary["confusion"])
    assert confusion.shape == (10, 10) and confusion.sum() == 10_000
    assert np.trace(confusion) / 10_000 == pytest.approx(summary["accuracy"])
    assert [row["digit"] for row in summary["per_class"]] == list(range(10))
    assert summary["ece_calibrated"] <= summary["ece"] + 0.005
    assert summary["nll_calibrated"] <= summary["nll"] + 1e-6
    assert len(summary["reliability"]["after"]) == scores.ECE_BINS
    json.dumps(summary)  # JSON-ready as it is
    assert evaluation.outputs.shape == (10_000, 10) and evaluation.labels.shape == (10_000,)
    assert "mlp_small" in evaluate.evaluation_summary_table(evaluation)


@pytest.mark.slow
def test_second_evaluation_comes_from_the_cache(real_evaluation, monkeypatch):
    first, run = real_evaluation

    def no_model(*args, **kwargs):
        raise AssertionError("a cached evaluation must not load the model")

    monkeypatch.setattr(store.Run, "load", no_model)
    started = time.perf_counter()
    second = evaluate.evaluate_run(run)
    assert second.cached and time.perf_counter() - started < 2.0
    assert second.to_json() == first.to_json()
    np.testing.assert_array_equal(second.outputs, first.outputs)
    np.testing.assert_array_equal(evaluate.mistakes(second, 4, 9), evaluate.mistakes(first, 4, 9))


@pytest.mark.slow
def test_the_cache_belongs_to_one_run_and_lives_in_the_store(real_evaluation, private_store):
    evaluation, run = real_evaluation
    released_again = dataclasses.replace(run, created_at=run.created_at + 1)
    assert evaluate.load_cache(run) is not None
    assert evaluate.load_cache(released_again) is None
    cached = private_store / "cache" / "evaluation" / run.version_key
    assert (cached / evaluate.OUTPUTS_FILE).is_file()
    assert not (run.path / evaluate.OUTPUTS_FILE).exists()  # nothing written beside it
    assert evaluate.calibrated_temperature(run) == evaluation.summary["temperature"]


def test_mistakes_are_sorted_by_confidence():
    logits = np.array(
        [
            [0.0, 2.0, 0.0],  # true 0, predicted 1, fairly sure
            [0.0, 9.0, 0.0],  # true 0, predicted 1, very sure
            [5.0, 0.0, 0.0],  # true 0, right
            [0.0, 1.0, 0.9],  # true 0, predicted 1, unsure
            [0.0, 9.0, 0.0],  # true 2, predicted 1
        ]
    )
    labels = np.array([0, 0, 0, 0, 2])
    evaluation = evaluate.Evaluation({"model": "mlp_small"}, logits, labels)
    np.testing.assert_array_equal(evaluate.mistakes(evaluation, 0, 1), [1, 0, 3])
    np.testing.assert_array_equal(evaluate.mistakes(evaluation, 1, 0), [])


@pytest.mark.slow
def test_a_shipped_model_brings_its_handwriting_figures(
    mnist, private_store, monkeypatch, tmp_path
):
    """The first evaluation on a fresh machine scores MNIST and keeps the held-out
    handwriting figures the model shipped with: here there are no pen digits to draw."""
    monkeypatch.setenv(PENDIGITS_ENV, str(tmp_path / "no-pendigits.txt"))
    run = store.shipped_run("digitnet")
    shipped = json.loads((run.path / "evaluation.json").read_text(encoding="utf-8"))
    evaluation = evaluate.evaluate_run(run)
    assert shipped["handwriting"] is not None
    assert evaluation.summary["handwriting"] == shipped["handwriting"]
    assert evaluation.summary["accuracy"] == pytest.approx(shipped["accuracy"], abs=1e-4)
    assert evaluate.load_cache(run) is not None  # kept under the store for the next visit
