"""Real handwriting on the canvas: pen-written digits by held-out writers, replayed stroke by
stroke in a browser tab. Shared by test_live_answer.py (the live and the server's answers,
and the server's memory over them) and test_latency.py (how long each first stroke waits
for its answer).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest

from digitlab.data import handdrawn
from digitlab.data.pendigits import (
    PenDigit,
    default_pendigits_path,
    fit_to_canvas,
    sample_balanced,
)

from .browser import ONE, StreamlitPage, clear_button

Stroke = list[list[float]]


def canvas_strokes(digit: PenDigit) -> list[Stroke]:
    """The digit's strokes in canvas pixels, each with at least two distinct points.

    The canvas makes no path of a click that does not move (so no run, nothing to wait for);
    a one-sample stroke becomes a 2-pixel dash, which is what a pen tap draws.
    """
    strokes = []
    for stroke in fit_to_canvas(digit):
        points = stroke.tolist()
        if np.ptp(stroke, axis=0).max() < 1:
            points = [points[0], [points[0][0] + 2.0, points[0][1] + 2.0]]
        strokes.append(points)
    return strokes


@dataclass(frozen=True)
class Replay:
    """One pendigits digit replayed on the app's canvas."""

    label: int
    writer: int
    index: int
    predicted: str
    latency_ms: float | None  # from the pen-up of the first stroke to a new Prediction
    echo_latency_ms: float | None = None  # the same stroke on the bare echo app, if drawn


def pendigits_sample(per_class: int) -> list[PenDigit]:
    """Digits by the held-out writers only: no shipped model trained or tuned on them.

    The same seed always gives the same digits, so a smaller sample is the first
    `per_class` of each digit of a bigger one."""
    path = default_pendigits_path()
    if path is None or not path.is_file():
        pytest.skip("the pendigits file is not available (assets/data, or DIGITLAB_PENDIGITS)")
    return sample_balanced(handdrawn.writer_digits("test"), per_class, seed=0)


def replay(app: StreamlitPage, digit: PenDigit, timed: bool = False) -> Replay:
    """Draw a digit on a blank canvas, read the Prediction, then press Clear.

    Like a person, the replay draws the strokes one after another, whatever the app is
    doing, and only after the last one waits for the app to settle; after Clear it starts
    the next digit as soon as the Prediction reads blank.

    `timed`: the first stroke's latency is taken too (pen-up to a new Prediction), where
    the Prediction must change from "—"; at the last stroke it often would not (a "4"
    missing its last stroke may already read "4"), and an unchanged value cannot be timed.
    The next stroke follows as soon as the Prediction shows; after Clear, the replay waits
    for the app to be still, so that no run of this digit is in the next one's time.
    """
    strokes = canvas_strokes(digit)
    latency = app.stroke_with_latency(strokes[0]) if timed else None
    sent = None if timed else app.stroke(strokes[0])
    for stroke in strokes[1:]:
        sent = app.stroke(stroke)
    if sent is not None:
        app.wait_until_settled(sent)
    elif latency is None:
        app.wait_until_quiet()
    app.page.mouse.move(0, 0)  # off the canvas: its hover toolbar covers widgets above it
    predicted = app.read_metric("Prediction")
    # Clear may interrupt the run that is still drawing the chart, as a person's click would.
    clear_button(app).dispatch_event("click")
    if timed:
        app.expect_blank()
    else:
        app.wait_for_blank()
    return Replay(digit.label, digit.writer, digit.index, str(predicted), latency)


def warm_up(app: StreamlitPage) -> None:
    """A first drawing, unmeasured: the first model call and chart are slower than the rest."""
    app.draw(ONE)
    app.click_and_wait(clear_button(app))
    app.expect_blank()


def echo_latency(echo: StreamlitPage, stroke: Stroke) -> float:
    """One stroke on the blank echo app; the ms until its value changed, then a reset."""
    echo.page.bring_to_front()
    latency = echo.stroke_with_latency(stroke)  # it counts ink: any stroke changes it
    assert latency is not None, "the echo app's value did not change"
    echo.page.get_by_role("button", name="Reset canvas & history").click()
    echo.expect_blank()
    return latency
