"""DigitLab on a phone: a finger draws, the answer sits under the canvas, nothing scrolls
sideways, and the sidebar gets out of the way. And on a laptop-sized window, the answer's
numbers are shown whole.

The phone is Playwright's Pixel 7 (a phone's user agent, touch, a mobile viewport) at the
sizes the issue names; strokes are real touch events sent through the Chrome DevTools
protocol (Input.dispatchTouchEvent), as a finger's would arrive, not mouse events.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import pytest
from playwright.sync_api import Browser, CDPSession, Playwright, expect

from .browser import BLANK, StreamlitPage
from .tabs import new_tab

PHONE = "Pixel 7"
SCREEN_HEIGHT = 844  # the phone: 390 x 844
# A plain "1" in canvas pixels: a straight down-stroke in the middle of the canvas.
ONE = [(140.0, 50.0 + 20.0 * step) for step in range(10)]


@pytest.fixture
def phone_at(browser: Browser, playwright_driver: Playwright, app_url: str) -> Iterator:
    """Opens DigitLab in a fresh phone-sized tab of a given width; closes them all after."""
    contexts = []

    def open_phone(width: int) -> StreamlitPage:
        device = dict(playwright_driver.devices[PHONE])
        device.pop("default_browser_type", None)
        device["viewport"] = {"width": width, "height": SCREEN_HEIGHT}
        context = browser.new_context(**device)
        contexts.append(context)
        app = StreamlitPage(context.new_page())
        app.open(app_url)
        return app

    yield open_phone
    for context in contexts:
        context.close()


def touch_stroke(app: StreamlitPage, touch: CDPSession, points: Sequence[tuple]) -> None:
    """One finger stroke through `points` (canvas pixels), then wait for its answer.

    A canvas that has just appeared can miss a first stroke; one that left no ink is
    drawn again, as a person would.
    """
    canvas = app.canvas()
    canvas.scroll_into_view_if_needed()
    app.wait_until_quiet()
    for _ in range(3):
        box = canvas.bounding_box()
        assert box is not None, "the canvas is not visible"
        fingers = [{"x": box["x"] + x, "y": box["y"] + y} for x, y in points]
        touch.send("Input.dispatchTouchEvent", {"type": "touchStart", "touchPoints": fingers[:1]})
        for finger in fingers[1:]:
            touch.send("Input.dispatchTouchEvent", {"type": "touchMove", "touchPoints": [finger]})
        sent = app.messages_sent()  # the lifted stroke is in the next message it sends
        touch.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})
        if app.ink_pixels() > 0:
            app.wait_until_settled(sent)
            return
        app.page.wait_for_timeout(100)
    raise AssertionError("the canvas takes no touch strokes")


def top_of(locator) -> float:
    box = locator.bounding_box()
    assert box is not None, "not on the page"
    return box["y"]


def bottom_of(locator) -> float:
    box = locator.bounding_box()
    assert box is not None, "not on the page"
    return box["y"] + box["height"]


@pytest.mark.parametrize("width", [390, 360])
def test_a_finger_draws_and_the_answer_is_under_the_canvas(phone_at, width: int) -> None:
    """A touch stroke is answered; canvas, answer and bars fit one screen; no sideways
    scrolling at 360 px (the narrowest common phone)."""
    app = phone_at(width)
    # The first screen, before any scrolling: the canvas and the answer both on it (the
    # settings above them put the canvas at y = 708 before they moved under the answer).
    assert app.page.evaluate("window.scrollY") == 0
    first_screen = (top_of(app.canvas()), bottom_of(app.metric_value("Prediction")))
    print(
        f"\nphone {width} px, unscrolled: canvas top {first_screen[0]:.0f}, answer bottom "
        f"{first_screen[1]:.0f}"
    )
    assert first_screen[0] >= 0 and first_screen[1] <= SCREEN_HEIGHT
    touch_stroke(app, app.page.context.new_cdp_session(app.page), ONE)
    assert app.ink_pixels() > 0
    assert app.prediction() not in (BLANK, None)

    bars = app.page.get_by_test_id("stPlotlyChart").first
    expect(bars).to_be_visible()
    canvas_top = top_of(app.canvas())
    answer_top = top_of(app.metric_value("Prediction"))
    bars_box = bars.bounding_box()
    assert bars_box is not None
    print(
        f"\nphone {width} px: the answer {answer_top - canvas_top:.0f} px and the bars' bottom "
        f"{bars_box['y'] + bars_box['height'] - canvas_top:.0f} px below the canvas's top"
    )
    assert 0 < answer_top - canvas_top < SCREEN_HEIGHT / 2
    assert bars_box["y"] + bars_box["height"] - canvas_top <= SCREEN_HEIGHT

    widths = app.page.evaluate(
        """() => [document.scrollingElement.scrollWidth,
                  document.querySelector('[data-testid="stMain"]').scrollWidth]"""
    )
    assert max(widths) <= width, f"the page scrolls sideways: {widths} at {width} px"


def test_the_sidebar_closes_after_choosing_a_page(phone_at) -> None:
    """On a phone the sidebar covers most of the screen: choosing a page closes it.

    Streamlit does this itself when the browser says it is a phone (its user agent); a
    narrow desktop window keeps the sidebar open, as on a desktop.
    """
    app = phone_at(390)
    sidebar = app.page.get_by_test_id("stSidebar")
    app.page.get_by_test_id("stExpandSidebarButton").tap()
    expect(sidebar).to_have_attribute("data-collapsed", "false")
    sent = app.messages_sent()
    sidebar.get_by_test_id("stSidebarNav").get_by_role("link", name="Runs").tap()
    app.wait_until_settled(sent, timeout_ms=60_000)
    expect(sidebar).to_have_attribute("data-collapsed", "true")
    box = sidebar.bounding_box()
    assert box is None or box["x"] + box["width"] <= 0, f"the sidebar still shows: {box}"


# Each metric's value is clipped with an ellipsis when its box is too narrow for it.
CLIPPED_METRICS_JS = """
() => [...document.querySelectorAll('[data-testid="stMetricValue"]')]
  .filter(value => [value, ...value.querySelectorAll('*')]
    .some(box => box.scrollWidth > box.clientWidth + 1))
  .map(value => value.innerText)
"""


def test_the_answer_is_not_cut_off_in_a_1400_pixel_window(browser: Browser, app_url: str) -> None:
    """Prediction, Confidence and Entropy show whole values at 1400 x 1000 ("0.67 …" was)."""
    page = new_tab(browser)
    page.set_viewport_size({"width": 1400, "height": 1000})
    app = StreamlitPage(page)
    try:
        app.open(app_url)
        app.draw([[[x, y] for x, y in ONE]])
        assert app.prediction() != BLANK
        expect(app.page.get_by_test_id("stMetricValue")).to_have_count(3)
        assert app.page.evaluate(CLIPPED_METRICS_JS) == []
    finally:
        page.close()
