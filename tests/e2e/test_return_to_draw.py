"""Back on the Draw page after another page: the drawing and its answer are still there."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from .browser import BLANK, ONE, StreamlitPage

ACROSS = [[[60.0, 140.0], [220.0, 140.0]]]


def go_to(app: StreamlitPage, page_name: str) -> None:
    link = app.page.get_by_test_id("stSidebarNav").get_by_role("link", name=page_name)
    sent = app.messages_sent()
    link.click()
    # The Evaluate page may score the model on the 10,000 test images the first time.
    app.wait_until_settled(sent, timeout_ms=90_000)


def test_draw_evaluate_draw_keeps_the_drawing_and_its_answer(app: StreamlitPage) -> None:
    """Draw -> Evaluate -> Draw: the same ink and answer; then drawing on and Clear work."""
    app.draw(ONE)
    answer, ink = app.prediction(), app.ink_pixels()
    assert answer != BLANK

    go_to(app, "Evaluate")
    expect(app.page).to_have_url(re.compile("evaluate", re.IGNORECASE))
    go_to(app, "Draw")
    app.canvas().wait_for(state="visible")
    app.wait_until_quiet()
    assert app.prediction() == answer
    assert app.ink_pixels() == ink

    app.draw(ACROSS)  # the restored drawing takes more strokes
    assert app.ink_pixels() > ink
    app.click_and_wait(app.page.get_by_role("button", name="Clear", exact=True))
    app.expect_blank()
    assert app.ink_pixels() == 0
