"""The figures drawn on every rerun skip plotly's validation for speed; here they are validated."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import pytest

from digitlab.ui.belief_charts import belief_lines
from digitlab.ui.charts import probability_bars, training_curves

PROBABILITIES = np.array([0.02, 0.01, 0.005, 0.9, 0.0, 0.03, 0.01, 0.015, 0.005, 0.005])


@pytest.mark.parametrize(
    "figure",
    [
        probability_bars(PROBABILITIES, 3),
        probability_bars(PROBABILITIES, None),
        belief_lines([1], PROBABILITIES[None, :], [3], 3),
        belief_lines([1, 2, 3], np.tile(PROBABILITIES, (3, 1)), [3, 5, 0], 5),
        training_curves(
            [{"position": 0.5, "loss": 1.2}, {"position": 1.0, "loss": 0.6}],
            [{"epoch": 1, "loss": 0.7, "val_loss": 0.65}],
            "loss",
        ),
        training_curves([], [{"epoch": 1, "accuracy": 0.9}], "accuracy"),
    ],
    ids=[
        "bars",
        "bars without an answer",
        "belief after one stroke",
        "belief after three",
        "training curves",
        "a cached run's curves",
    ],
)
def test_a_drawing_figure_is_what_plotly_would_have_validated(figure: go.Figure) -> None:
    """Validation raises on an unknown key or a bad value, and rewrites a deprecated form
    (a string title becomes {"text": ...}): the figure must come through it unchanged."""
    drawn = figure.to_dict()
    assert go.Figure(drawn).to_dict() == drawn


def test_a_drawing_figure_shows_the_answer() -> None:
    bars = probability_bars(PROBABILITIES, 3).to_dict()["data"][0]
    assert bars["y"] == pytest.approx(PROBABILITIES.tolist())
    assert [colour == bars["marker"]["color"][3] for colour in bars["marker"]["color"]].count(
        True
    ) == 1  # the answer alone is highlighted
    assert bars["text"][3] == "90%"
