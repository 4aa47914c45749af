"""In a real browser, what AppTest can't do: strokes on the canvas itself grow the belief
chart one stroke at a time (counted from the canvas's JSON), and a sample is chosen and
sent with the keyboard alone. Run alone: `python -m pytest tests/e2e/test_samples.py`."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from digitlab.data import samples
from digitlab.ui.state import sample_button_key

from .browser import BLANK, StreamlitPage

# A 4 in canvas pixels, three strokes: down-left, across, the long down-stroke.
FOUR = [
    [[90.0, 50.0], [70.0, 160.0]],
    [[70.0, 160.0], [210.0, 160.0]],
    [[170.0, 40.0], [170.0, 240.0]],
]


def test_each_stroke_on_the_canvas_moves_the_belief_on(app: StreamlitPage) -> None:
    for count, stroke in enumerate(FOUR, start=1):
        app.draw([stroke])
        expect(app.page.get_by_text(f"After stroke {count}, its top answers:")).to_be_visible()
    expect(app.page.locator(".st-key-belief_chart")).to_be_visible()
    assert app.prediction() == "4"
    app.canvas().hover()  # the canvas's own toolbar shows while the pen is over it
    app.click_and_wait(app.page.get_by_role("button", name="Undo", exact=True))
    expect(app.page.get_by_text("After stroke 2, its top answers:")).to_be_visible()
    app.page.mouse.move(0, 0)
    sent = app.messages_sent()
    app.page.keyboard.press("Control+z")  # as in any drawing program
    app.wait_until_settled(sent)
    expect(app.page.get_by_text("After stroke 1, its top answers:")).to_be_visible()


def test_samples_is_clicked_straight_up_from_the_canvas(app: StreamlitPage) -> None:
    """The canvas's hover toolbar once covered the Input choice above it: the pointer
    moving up from the canvas onto "Samples" clicked the toolbar's empty margin."""
    samples_choice = app.page.get_by_role("radio", name="Samples", exact=True)
    target, canvas = samples_choice.bounding_box(), app.canvas().bounding_box()
    assert target is not None and canvas is not None
    x = target["x"] + target["width"] / 2
    app.page.mouse.move(x, canvas["y"] + canvas["height"] / 2)
    low_edge = target["y"] + target["height"] - 4  # where the toolbar reached
    app.page.mouse.move(x, low_edge, steps=15)
    sent = app.messages_sent()
    app.page.mouse.down()
    app.page.mouse.up()
    app.wait_until_settled(sent)
    expect(app.page.get_by_text(re.compile("CC BY 4.0"))).to_be_visible()


def test_a_sample_is_chosen_with_the_keyboard(app: StreamlitPage) -> None:
    app.click_and_wait(app.page.get_by_role("radio", name="Samples", exact=True))
    assert app.prediction() == BLANK
    expect(app.page.get_by_text(re.compile("CC BY 4.0"))).to_be_visible()
    index = 14  # a 7
    sample = samples.gallery()[index]
    # By role: Streamlit keeps a hidden copy of a button with a tooltip, to measure it.
    app.page.locator(f".st-key-{sample_button_key(index - 1)}").get_by_role("button").focus()
    sent = app.messages_sent()
    app.page.keyboard.press("Tab")  # Tab goes on to the next sample...
    app.page.keyboard.press("Enter")  # ...and Enter sends it
    app.wait_until_settled(sent)
    assert app.prediction() == str(sample.label)
    expect(app.page.get_by_text(f"Sample {index + 1}: {sample.name}.")).to_be_visible()
