"""The correction loop in a real browser: draw, say what it really was, find the drawing on
My digits with that label, and download it (ZIP of PNGs + labels.csv, and the .npz with the
canvas's strokes). Run alone: `python -m pytest tests/e2e/test_corrections.py`."""

from __future__ import annotations

import csv
import io
import json
import re
import zipfile
from pathlib import Path

import numpy as np
from playwright.sync_api import expect

from .browser import BLANK, StreamlitPage

# A 7 in canvas pixels: the bar, then the down-stroke.
SEVEN = [[[80.0, 60.0], [200.0, 60.0]], [[200.0, 60.0], [160.0, 140.0], [120.0, 230.0]]]
SAID = "2"  # what the user says it is: surely not what the model says of a 7


def download(app: StreamlitPage, name: re.Pattern[str], folder: Path) -> Path:
    """Click a download button and save what the browser receives."""
    with app.page.expect_download() as info:
        app.page.get_by_role("button", name=name).click()
    path = folder / info.value.suggested_filename
    info.value.save_as(path)
    return path


def test_draw_correct_find_on_my_digits_and_export(app: StreamlitPage, tmp_path: Path) -> None:
    app.draw(SEVEN)
    said = app.prediction()
    assert said not in (BLANK, SAID), f"the model read the 7 as {said}"
    expect(app.page.get_by_text("Wrong? Save it as …")).to_be_visible()
    app.click_and_wait(app.page.get_by_role("button", name=SAID, exact=True))
    expect(app.page.get_by_text(re.compile(f"Saved as {SAID} \\(your drawing"))).to_be_visible()

    sent = app.messages_sent()
    app.page.get_by_test_id("stSidebarNav").get_by_role("link", name="My digits").click()
    app.wait_until_settled(sent)
    expect(app.page.get_by_role("heading", name="My digits", exact=True)).to_be_visible()
    expect(app.page.get_by_test_id("stException")).to_have_count(0)
    card = app.page.locator("[class*='st-key-drawing_']")
    expect(card).to_have_count(1)
    expect(card.get_by_text(f"the model said {said}")).to_be_visible()
    expect(card.get_by_role("combobox", name="Label")).to_have_value(SAID)
    expect(card.get_by_role("img")).to_be_visible()

    zipped = download(app, re.compile("Download ZIP"), tmp_path)
    with zipfile.ZipFile(zipped) as archive:
        [row] = list(csv.DictReader(io.StringIO(archive.read("labels.csv").decode())))
        assert row["label"] == SAID and row["predicted"] == said
        png = archive.read(row["file"])
        assert png.startswith(b"\x89PNG")

    arrays = np.load(download(app, re.compile("Download .npz"), tmp_path))
    assert arrays["labels"].tolist() == [int(SAID)]
    assert arrays["images"].shape == (1, 28, 28) and arrays["images"].max() > 200
    strokes = json.loads(str(arrays["strokes"][0]))  # the canvas's own JSON
    assert len(strokes["objects"]) == len(SEVEN)
    assert all(stroke["type"] == "Path" and stroke["path"] for stroke in strokes["objects"])
