"""Hints from the curves, and the softmax worked by hand on the Draw page."""

from __future__ import annotations

import numpy as np
import pytest

from digitlab.analysis.hints import (
    CHANCE,
    DIVERGED,
    OVERFITTING,
    STALLED,
    TOO_FAST,
    UNDERFITTING,
    broken_run,
    curve_hints,
    diagnose,
    history_from_rows,
)
from digitlab.inference.softmax import softmax, softmax_steps
from digitlab.ui.draw import SOFTMAX_KEY
from digitlab.zoo.registry import CLASSIFICATION, REGRESSION

from helpers import drawn_seven, new_app

HEALTHY = {
    "loss": [0.5, 0.2, 0.1, 0.07],
    "val_loss": [0.3, 0.15, 0.09, 0.08],
    "accuracy": [0.85, 0.94, 0.97, 0.98],
    "val_accuracy": [0.9, 0.95, 0.972, 0.978],
}


def test_healthy_curves_get_no_hint():
    assert curve_hints(HEALTHY) == []
    assert curve_hints({}) == []


def test_validation_loss_rising_while_training_loss_falls_is_overfitting():
    history = {**HEALTHY, "loss": [0.5, 0.2, 0.1, 0.05], "val_loss": [0.3, 0.1, 0.12, 0.15]}
    assert set(diagnose(history)) == {OVERFITTING}
    assert "overfitting" in curve_hints(history)[0]
    # One rising epoch is noise, not a pattern.
    assert OVERFITTING not in diagnose({**history, "val_loss": [0.3, 0.1, 0.09, 0.12]})


def test_a_loss_jump_says_the_learning_rate_is_too_high():
    history = {"loss": [0.5, 0.3, 0.9], "accuracy": [0.9, 0.93, 0.8]}
    assert TOO_FAST in diagnose(history)
    assert "lower learning rate" in " ".join(curve_hints(history))
    assert DIVERGED in diagnose({"loss": [0.5, float("nan")]})
    assert DIVERGED in diagnose({"loss": [float("inf")]})  # caught after the first epoch


def test_chance_level_is_caught_after_one_epoch():
    """Learning rate 1.0: 10.28% after three epochs, the loss stuck at ~2.30."""
    history = {"loss": [2.35], "accuracy": [0.1], "val_loss": [2.31], "val_accuracy": [0.1028]}
    assert set(diagnose(history)) == {CHANCE}
    assert "chance level" in curve_hints(history)[0]
    assert CHANCE not in diagnose({**history, "loss": [2.2]})  # it learned a little


@pytest.mark.parametrize(
    ("accuracy", "loss", "task", "broken"),
    [
        (0.1028, [2.36, 2.31, 2.31], CLASSIFICATION, "chance level"),
        (0.35, [2.4, 2.35], CLASSIFICATION, "never fell below"),
        (0.42, [1.9, 1.5], CLASSIFICATION, "far below"),
        (0.97, [0.4, float("nan")], CLASSIFICATION, "diverged"),
        (0.87, [0.9, 0.4], CLASSIFICATION, None),  # weak but learning: it may answer
        (0.3, [3.0, 2.5], REGRESSION, None),  # a regressor's loss is not cross-entropy
    ],
)
def test_a_broken_run_is_told_from_a_weak_one(accuracy, loss, task, broken):
    reason = broken_run(accuracy, {"loss": loss}, task)
    assert reason is None if broken is None else broken in reason


def test_flat_low_accuracy_is_underfitting():
    history = {"loss": [2.2, 2.1, 2.1], "accuracy": [0.40, 0.45, 0.451]}
    assert diagnose(history) == {UNDERFITTING: {"accuracy": 0.451}}
    assert "underfitting" in curve_hints(history)[0]


def test_stalled_validation_accuracy_suggests_a_schedule():
    history = {**HEALTHY, "val_accuracy": [0.95, 0.970, 0.9705, 0.9702]}
    assert STALLED in diagnose(history)
    assert "schedule" in " ".join(curve_hints(history))


def test_history_from_the_panels_epoch_rows():
    rows = [{"position": 1.0, "epoch": 1, "loss": 0.5}, {"position": 2.0, "epoch": 2, "loss": 0.3}]
    assert history_from_rows(rows) == {"loss": [0.5, 0.3]}
    assert history_from_rows([]) == {}


@pytest.mark.parametrize("temperature", [0.1, 1.0, 4.0])
def test_the_softmax_by_hand_gives_the_softmax(temperature):
    logits = np.array([2.0, -1.0, 0.5, 8.0, 0.0, 1.0, -3.0, 4.0, 2.5, 0.2])
    steps = softmax_steps(logits, temperature)
    assert [row["digit"] for row in steps] == list(range(10))
    assert [row["z / T"] for row in steps] == pytest.approx(list(logits / temperature))
    assert max(row["exp"] for row in steps) == pytest.approx(1.0)  # the largest, shifted to 0
    probabilities = [row["probability"] for row in steps]
    assert probabilities == pytest.approx(list(softmax(logits, temperature)))


def test_the_draw_page_shows_the_softmax_worked_by_hand():
    app = new_app("mlp", drawn_seven()).run()
    assert not app.exception
    expander = next(e for e in app.expander if e.label == "The softmax, worked by hand")
    assert not expander.dataframe  # shut: its table is built only when it is opened
    app.session_state[SOFTMAX_KEY] = True
    app.run()
    expander = next(e for e in app.expander if e.label == "The softmax, worked by hand")
    table = expander.dataframe[0].value
    assert len(table) == 10 and table["probability"].sum() == pytest.approx(1.0)
    assert int(table["probability"].idxmax()) == 7
