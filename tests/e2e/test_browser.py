"""DigitLab's Draw page in a real browser: temperature, Clear and Undo, the softmax worked by
hand, a stroke right after Clear, the model selector, the Evaluate page, and the sidebar's
Retrain panel.

The tests share the session's DigitLab server; each opens its own tab, so its own session.
Real handwriting replayed (accuracy, memory): test_live_answer.py; latency: test_latency.py.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import TypeVar

import pytest
from playwright.sync_api import Locator, Page, expect

from digitlab.ui.canvas import UNDO_LABEL

from .browser import (
    BLANK,
    ONE,
    StreamlitPage,
    choose_model_to_train,
    choose_option,
    clear_button,
    set_number,
)

T = TypeVar("T")


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


def test_the_softmax_by_hand_is_built_when_opened_and_follows_the_drawing(
    app: StreamlitPage,
) -> None:
    """Shut, the expander holds no table (a pen-up does not wait for one); opened, its table
    shows, and it stays open for the next stroke, which the drawing's fragment answers."""
    app.draw(ONE)
    expander = app.page.get_by_test_id("stExpander").filter(has_text="worked by hand")
    table = expander.get_by_test_id("stDataFrame")
    expect(table).to_have_count(0)
    app.click_and_wait(expander.get_by_text("The softmax, worked by hand"))
    expect(table).to_be_visible()
    ink = app.ink_pixels()
    app.canvas().scroll_into_view_if_needed()  # the click scrolled down to the expander
    app.draw([[[60.0, 140.0], [220.0, 140.0]]])  # a stroke across the 1
    assert app.ink_pixels() > ink and app.prediction() != BLANK
    expect(table).to_be_visible()


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
    """The Evaluate page opens from the navigation without an error."""
    link = app.page.get_by_test_id("stSidebarNav").get_by_role("link", name="Evaluate")
    expect(link).to_have_count(1)  # the page always exists: a missing link is a failure
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
    expect(charts).to_have_count(3)  # loss, accuracy, and the per-digit heat strip
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
