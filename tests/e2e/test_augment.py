"""The sidebar's Augmentation panel in a real browser: a strength slider moved with the
keyboard redraws the preview of 8 training digits."""

from __future__ import annotations

import re
import time

from playwright.sync_api import expect

from .browser import StreamlitPage


def test_moving_a_strength_slider_redraws_the_preview(app: StreamlitPage) -> None:
    sidebar = app.page.get_by_test_id("stSidebar")
    sidebar.get_by_text("Augmentation", exact=True).click()  # opens the panel: no rerun
    app.click_and_wait(sidebar.get_by_text("Preview on 8 training digits"))
    preview = sidebar.get_by_test_id("stImage").locator("img")
    expect(preview).to_have_attribute("src", re.compile("^data:image/png;base64,"))
    before = preview.get_attribute("src")

    rotation = app.page.locator(".st-key-train_aug_rotation").get_by_role("slider")
    rotation.focus()
    start = time.perf_counter()
    rotation.press("End")  # to the largest rotation, half a turn: sixes become nines
    app.page.wait_for_function(
        "([img, before]) => img.getAttribute('src') !== before",
        arg=[preview.element_handle(), before],
    )
    print(f"preview redrawn {1000 * (time.perf_counter() - start):.0f} ms after the key press")
    expect(rotation).to_have_value("180")
    app.wait_until_quiet()
