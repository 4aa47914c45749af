"""DigitLab in a real browser: real handwriting, latency, temperature, Clear, models, training.

Run with `python -m pytest tests/e2e -s` to see the accuracy and latency reports. The tests
share one DigitLab server (each test opens its own tab, so its own session); the handwriting
replay also uses the bare echo app (echo_app.py) as the latency baseline.
"""

from __future__ import annotations

import dataclasses
import re
import statistics
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TypeVar

import numpy as np
import pytest
from playwright.sync_api import Browser, Locator, Page, expect

from digitlab.data import handdrawn
from digitlab.data.pendigits import (
    PenDigit,
    default_pendigits_path,
    fit_to_canvas,
    sample_balanced,
)
from digitlab.ui.canvas import UNDO_LABEL

from .browser import BLANK, StreamlitPage, new_tab

Stroke = list[list[float]]
T = TypeVar("T")

PER_CLASS = 10  # 100 digits in all, by the 10 held-out writers
REQUIRED_ACCURACY = 0.97  # a little below what the app measured (the README says)
ECHO_PER_CLASS = 2  # the echo baseline replays the first strokes of 20 of the 100
APP_LATENCY_BOUND_MS = 3000  # a sanity bound; the real target is only reported
LATENCY_TARGET_MS = 100  # the app's median may exceed the echo app's by at most this much
# A plain "1": a straight down-stroke in the middle of the 280x280 canvas.
ONE: list[Stroke] = [[[140.0, 50.0 + 20.0 * step] for step in range(10)]]


# --- helpers ---------------------------------------------------------------------------------


def eventually(read: Callable[[], T], accept: Callable[[T], bool], timeout_s: float = 10) -> T:
    """Poll read() until accept() likes its answer; return the last answer either way.

    For what Streamlit has no run for: plotly draws its SVG a moment after the run ends.
    """
    deadline = time.monotonic() + timeout_s
    value = read()
    while not accept(value) and time.monotonic() < deadline:
        time.sleep(0.1)
        value = read()
    return value


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


def clear_button(app: StreamlitPage) -> Locator:
    return app.page.get_by_role("button", name="Clear", exact=True)


def percent(text: str | None) -> float:
    assert text is not None and text.endswith("%"), f"not a percentage: {text!r}"
    return float(text.rstrip("%"))


def bars(page: Page) -> Locator:
    return page.get_by_test_id("stPlotlyChart").locator("g.point path")


def bar_heights(page: Page) -> list[float]:
    """The probability bars' heights in pixels, read from plotly's SVG paths.

    Each bar is a path "M x0,base V top H x1 V base Z"; its height is base - top.
    """
    heights = []
    for d in bars(page).evaluate_all("paths => paths.map(path => path.getAttribute('d'))"):
        match = re.match(r"M[-\d.]+,([-\d.]+)V([-\d.]+)", d or "")
        assert match, f"unexpected bar path {d!r}"
        heights.append(float(match.group(1)) - float(match.group(2)))
    return heights


def choose_option(page: Page, combobox: Locator, option: re.Pattern[str]) -> None:
    """Open a selectbox and click the option whose accessible name matches."""
    for _ in range(3):
        # Right after a rerun that changed its value, the first click on a selectbox can
        # leave it closed (seen after a training job ends); a second one opens it.
        combobox.click()
        try:
            expect(combobox).to_have_attribute("aria-expanded", "true", timeout=2_000)
            break
        except AssertionError:
            continue
    page.get_by_role("option", name=option).click()


def choose_model_to_train(app: StreamlitPage, model: str) -> Locator:
    """Pick a model in the sidebar form and wait for the rerun that fills in its recipe.

    Typing into the form before that rerun lands races it: the recipe's value can be
    merged into what was typed (20 became 520 once)."""
    combobox = app.page.get_by_test_id("stSidebar").get_by_role("combobox", name="Model to train")
    choose_option(app.page, combobox, re.compile(f"^{model}$"))
    expect(combobox).to_have_value(model)
    app.wait_until_quiet()
    return combobox


def set_number(field: Locator, value: int) -> None:
    # Tab commits the value by blurring; Enter would submit the surrounding form.
    field.fill(str(value))
    field.press("Tab")
    expect(field).to_have_value(str(value))


def summary(latencies: list[float]) -> str:
    return f"median {statistics.median(latencies):.0f} ms, worst {max(latencies):.0f} ms"


# --- real handwriting: one replay for the accuracy and latency tests ---------------------------


@dataclass(frozen=True)
class Replay:
    """One pendigits digit replayed on the app's canvas."""

    label: int
    writer: int
    index: int
    predicted: str
    latency_ms: float | None  # from the pen-up of the first stroke to a new Prediction
    echo_latency_ms: float | None = None  # the same stroke on the bare echo app, if drawn


def pendigits_sample() -> list[PenDigit]:
    """Digits by the held-out writers only: no shipped model trained or tuned on them."""
    path = default_pendigits_path()
    if path is None or not path.is_file():
        pytest.skip("the pendigits file is not available (assets/data, or DIGITLAB_PENDIGITS)")
    return sample_balanced(handdrawn.writer_digits("test"), PER_CLASS, seed=0)


def replay(app: StreamlitPage, digit: PenDigit) -> Replay:
    """Draw a digit on a blank canvas, read the Prediction, then press Clear.

    The latency is taken at the end of the first stroke, where the Prediction must change
    from "—"; at the last stroke it often would not (a "4" missing its last stroke may
    already read "4"), and an unchanged value cannot be timed. Like a person, the replay
    goes on drawing as soon as the Prediction shows, without waiting for the rest of the
    page; only after the last stroke does it wait for the app to settle.
    """
    latency = None
    prediction_is_final = False
    for stroke in canvas_strokes(digit):
        if latency is None:
            latency = app.stroke_with_latency(stroke)
            prediction_is_final = latency is not None  # unless more strokes follow
        else:
            app.stroke_and_wait(stroke)
            prediction_is_final = True
    if not prediction_is_final:
        app.wait_until_quiet()
    app.page.mouse.move(0, 0)  # off the canvas: its hover toolbar covers widgets above it
    predicted = app.read_metric("Prediction")
    # Clear may interrupt the run that is still drawing the chart, as a person's click would.
    clear_button(app).click()
    app.expect_blank()
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


@pytest.fixture(scope="module")
def handwriting(browser: Browser, app_url: str, echo_url: str) -> Iterator[list[Replay]]:
    """50 pendigits digits replayed on the app, some also (first stroke) on the echo app.

    The echo app's strokes are interleaved with the app's, each right after the same digit,
    so a machine that gets busier or quieter meanwhile affects both alike.
    """
    digits = pendigits_sample()
    app = StreamlitPage(new_tab(browser))
    app.open(app_url)
    warm_up(app)
    echo = StreamlitPage(new_tab(browser))
    echo.open(echo_url)
    echo_latency(echo, canvas_strokes(digits[0])[0])  # a warm-up, not counted, as for the app

    replays = []
    for number, digit in enumerate(digits):
        app.page.bring_to_front()
        replayed = replay(app, digit)
        if number % PER_CLASS < ECHO_PER_CLASS:
            echoed = echo_latency(echo, canvas_strokes(digit)[0])
            replayed = dataclasses.replace(replayed, echo_latency_ms=echoed)
        replays.append(replayed)
    yield replays
    app.page.context.close()
    echo.page.context.close()


def test_real_handwriting_is_recognised(handwriting: list[Replay]) -> None:
    """The default model reads >= 95% of 50 digits that people wrote with a pen."""
    misses = [r for r in handwriting if r.predicted != str(r.label)]
    accuracy = 1 - len(misses) / len(handwriting)
    writers = len({r.writer for r in handwriting})
    print(
        f"\nReal handwriting (pendigits, {len(handwriting)} digits by {writers} writers): "
        f"{accuracy:.0%} right"
    )
    for r in misses:
        print(f"  missed: a {r.label} (writer {r.writer}, sample {r.index}) read as {r.predicted}")
    assert accuracy >= REQUIRED_ACCURACY, f"{accuracy:.0%} < {REQUIRED_ACCURACY:.0%}: {misses}"


def test_stroke_to_prediction_latency(handwriting: list[Replay]) -> None:
    """Pen-up to new Prediction, timed in the page, for the app and the bare echo app.

    Only a sanity bound is asserted; the target (the app's median at most 100 ms above the
    echo app's) is printed, as timings on a shared machine are too noisy for a unit test.
    """
    app_all = [r.latency_ms for r in handwriting if r.latency_ms is not None]
    assert len(app_all) == len(handwriting), "some digits' Prediction never changed"
    pairs = [
        (r.latency_ms, r.echo_latency_ms)
        for r in handwriting
        if r.latency_ms is not None and r.echo_latency_ms is not None
    ]
    assert len(pairs) >= 20, f"only {len(pairs)} digits were also drawn on the echo app"
    app_paired = [app for app, _ in pairs]
    echo_paired = [echo for _, echo in pairs]

    excess = statistics.median(app_paired) - statistics.median(echo_paired)
    paired_excess = statistics.median(app - echo for app, echo in pairs)
    verdict = "MET" if excess <= LATENCY_TARGET_MS else "NOT MET"
    print(
        "\nStroke-to-prediction latency (pen-up to new Prediction text, timed in the page):\n"
        f"  app,  all {len(app_all)} digits:       {summary(app_all)}\n"
        f"  app,  {len(pairs)} digits also echoed: {summary(app_paired)}\n"
        f"  echo, the same {len(pairs)} strokes:    {summary(echo_paired)}\n"
        f"  app median - echo median = {excess:+.0f} ms "
        f"(median of per-digit differences {paired_excess:+.0f} ms); "
        f"target <= {LATENCY_TARGET_MS} ms: {verdict}"
    )
    assert statistics.median(app_all) < APP_LATENCY_BOUND_MS


# --- the Draw page's controls ----------------------------------------------------------------


def test_temperature_slider_flattens_the_bars(app: StreamlitPage) -> None:
    """T = 10 lowers the Confidence and the top bar, and raises the others."""
    app.draw(ONE)
    confidence_before = percent(app.read_metric("Confidence"))
    expect(bars(app.page)).to_have_count(10)  # plotly draws a moment after the run
    heights_before = bar_heights(app.page)

    slider = app.page.get_by_role("slider", name="Softmax temperature")
    sent = app.messages_sent()
    slider.focus()
    app.page.keyboard.press("End")  # the hottest stop, T = 10
    app.wait_until_settled(sent)
    expect(slider).to_have_attribute("aria-valuetext", "10.0")

    confidence_after = percent(app.read_metric("Confidence"))
    heights_after = eventually(
        lambda: bar_heights(app.page), lambda heights: max(heights) < max(heights_before)
    )
    assert confidence_after < confidence_before
    assert max(heights_after) < max(heights_before), (heights_before, heights_after)
    # Flatter: the other nine bars gained what the top one lost.
    assert sum(sorted(heights_after)[:-1]) > sum(sorted(heights_before)[:-1])


def test_clear_empties_the_canvas_and_the_prediction(app: StreamlitPage) -> None:
    """Clear: no ink left on the canvas, and the Prediction is "—"; Undo takes back the
    last stroke only."""
    app.draw(ONE)
    assert app.prediction() != BLANK
    assert app.ink_pixels() > 0

    app.click_and_wait(clear_button(app))
    app.expect_blank()
    assert app.ink_pixels() == 0

    app.draw(ONE)
    one_stroke = app.ink_pixels()
    app.draw([[[60.0, 140.0], [220.0, 140.0]]])  # a second stroke across it
    assert app.ink_pixels() > one_stroke
    app.click_and_wait(app.page.get_by_role("button", name=UNDO_LABEL, exact=True))
    assert app.ink_pixels() == pytest.approx(one_stroke, rel=0.02)  # redrawn, same ink
    assert app.prediction() != BLANK


def test_a_stroke_right_after_clear_is_always_answered(app: StreamlitPage) -> None:
    """Twelve times: Clear, and 50 ms later a new digit; every one gets its answer."""
    app.draw(ONE)
    for round_number in range(12):
        clear_button(app).click()
        app.page.wait_for_timeout(50)  # no waiting for the app: draw as a person would
        app.draw(ONE)
        app.wait_until_quiet()
        assert app.ink_pixels() > 0, f"round {round_number}: the stroke was lost"
        assert app.prediction() != BLANK, f"round {round_number}: no answer"


def test_model_selector_switches_models(app: StreamlitPage) -> None:
    """Choosing mlp_small predicts with it: the caption names its architecture."""
    combobox = app.page.get_by_role("combobox", name="Model", exact=True)
    sent = app.messages_sent()
    choose_option(app.page, combobox, re.compile(r"^mlp_small"))
    app.wait_until_settled(sent)
    expect(combobox).to_have_value(re.compile(r"^mlp_small"))

    app.draw(ONE)
    assert app.prediction() != BLANK
    expect(app.page.get_by_test_id("stCaptionContainer").filter(has_text="MLP 128")).to_be_visible()


def test_evaluate_page_renders(app: StreamlitPage) -> None:
    """The Evaluate page, when there is one, opens from the navigation without an error."""
    link = app.page.get_by_test_id("stSidebarNav").get_by_role("link", name="Evaluate")
    if link.count() == 0:
        pytest.skip("no Evaluate page yet")
    sent = app.messages_sent()
    link.click()
    # The first visit may score the model on the 10,000 test images.
    app.wait_until_settled(sent, timeout_ms=90_000)
    expect(app.page).to_have_url(re.compile("evaluate", re.IGNORECASE))
    expect(app.page.get_by_role("heading", name=re.compile("Evaluate"))).to_be_visible()
    expect(app.page.get_by_test_id("stMetric").first).to_be_visible()
    expect(app.page.get_by_test_id("stException")).to_have_count(0)


# --- the sidebar's Retrain panel -------------------------------------------------------------


@pytest.mark.slow
def test_sidebar_trains_a_model_and_stops_a_run(app: StreamlitPage) -> None:
    """Retrain: a tiny run ends stored, with its two curves; Stop ends a long run."""
    page = app.page
    sidebar = page.get_by_test_id("stSidebar")
    epochs = sidebar.get_by_role("spinbutton", name="Epochs")
    images = sidebar.get_by_role("spinbutton", name="Training images")
    train = sidebar.get_by_role("button", name="Train", exact=True)
    progress = sidebar.get_by_test_id("stProgress")
    charts = sidebar.get_by_test_id("stPlotlyChart")

    # A short run to the end: the form, the live panel, the stored model.
    choose_model_to_train(app, "tiny20")
    set_number(epochs, 1)
    set_number(images, 500)
    train.click()
    done = sidebar.get_by_test_id("stAlert").filter(has_text="tiny20: Trained and stored.")
    expect(progress.or_(charts.first).or_(done)).to_be_visible(timeout=60_000)
    expect(done).to_be_visible(timeout=120_000)
    expect(charts).to_have_count(2)  # loss and accuracy
    app.wait_until_quiet()  # the app reruns once when a job ends; let it finish first

    # A long run, stopped: Stop must end it within a batch or so.
    choose_model_to_train(app, "mlp_small")
    set_number(epochs, 20)
    set_number(images, 60_000)
    train.click()
    expect(progress).to_be_visible(timeout=60_000)
    sidebar.get_by_role("button", name="Stop").click()
    stopped = sidebar.get_by_test_id("stAlert").filter(has_text="Stopped")
    expect(stopped).to_be_visible(timeout=20_000)
    expect(progress).to_have_count(0)
