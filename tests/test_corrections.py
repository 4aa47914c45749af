"""The correction loop under AppTest: "Wrong? Save it as …" and "Right" on the Draw page save
the drawing, My digits shows this session's drawings only, relabels and deletes them, and
offers both exports."""

from __future__ import annotations

import io
import re
import time
import zipfile

import numpy as np

from digitlab import store
from digitlab.data.preprocess import preprocess
from digitlab.store import drawings
from digitlab.ui.my_digits_page import EMPTY_MESSAGE
from digitlab.ui.state import (
    CORRECTIONS_RIGHT_KEY,
    OWNER_KEY,
    correction_button_key,
    delete_key,
    relabel_key,
)

from helpers import drawn_seven, metric, new_app, open_page


def drawn_app():
    app = new_app(drawing=drawn_seven()).run()
    assert not app.exception, app.exception
    return app


def test_wrong_saves_the_drawing_with_the_label_given():
    drawings.save(preprocess(drawn_seven()).image, 7, "someone else")  # another person's
    app = drawn_app()
    said = metric(app, "Prediction")
    assert any(c.value == "Wrong? Save it as …" for c in app.caption)
    app.button(key=correction_button_key(2)).click().run()
    owner = app.session_state[OWNER_KEY]
    [saved] = drawings.list_drawings(owner)
    assert saved.label == 2 and saved.predicted == int(said) and saved.corrected
    assert saved.run_id == "digitnet" and saved.strokes is None  # AppTest's canvas: no JSON
    assert len(saved.probabilities) == 10 and abs(sum(saved.probabilities) - 1) < 1e-4
    assert saved.image.max() > 200  # the 28x28 input, ink bright
    assert any("Saved as 2 (your drawing 1)" in s.value for s in app.success)  # not drawing 2
    # Another label for the same drawing changes it rather than saving it twice.
    app.button(key=correction_button_key(drawings.NOT_A_DIGIT)).click().run()
    [again] = drawings.list_drawings(owner)
    assert again.id == saved.id and again.label == drawings.NOT_A_DIGIT
    assert any("(your drawing 1)" in s.value for s in app.success)
    open_page(app, "my_digits")
    assert [c.value for c in app.caption if c.value.startswith("Drawing ")] == [
        "Drawing 1: the model said " + said
    ]


def test_right_confirms_the_models_answer():
    app = drawn_app()
    app.button(key=CORRECTIONS_RIGHT_KEY).click().run()
    [saved] = drawings.list_drawings(app.session_state[OWNER_KEY])
    assert saved.label == saved.predicted == int(metric(app, "Prediction"))
    assert not saved.corrected


def test_my_digits_shows_relabels_deletes_and_exports():
    app = drawn_app()
    app.button(key=correction_button_key(1)).click().run()
    someone_else = drawings.save(np.zeros((28, 28), np.uint8), 4, "another-session")
    open_page(app, "my_digits")
    assert not app.exception, app.exception
    [saved] = drawings.list_drawings(app.session_state[OWNER_KEY])
    labels = {box.key: box.value for box in app.selectbox if box.key.startswith("relabel_")}
    assert labels == {relabel_key(saved.id): 1}  # only this session's drawing
    assert relabel_key(someone_else.id) not in labels
    downloads = [element for element in app.get("download_button")]
    assert len(downloads) == 2
    # The fine-tune button waits for enough drawings.
    assert app.button(key="fine_tune_start").disabled

    app.selectbox(key=relabel_key(saved.id)).set_value(9).run()
    assert drawings.get(saved.id).label == 9
    archive = zipfile.ZipFile(io.BytesIO(_zip_of(saved.id)))
    assert "labels.csv" in archive.namelist()

    app.button(key=delete_key(saved.id)).click().run()
    assert drawings.list_drawings(app.session_state[OWNER_KEY]) == []
    assert any(EMPTY_MESSAGE in info.value for info in app.info)
    assert drawings.get(someone_else.id).label == 4  # untouched


def _zip_of(drawing_id: int) -> bytes:
    from digitlab.store import drawings_export

    return drawings_export.zip_bytes([drawings.get(drawing_id)])


def test_fine_tune_from_my_digits_becomes_the_sessions_model(mnist):
    """Fine-tune mlp_small on 9 saved drawings from the page: the job ends with its
    before/after figures, and its run answers this session on the Draw page."""
    app = new_app("mlp_small", drawn_seven()).run()
    owner = app.session_state[OWNER_KEY]
    image = preprocess(drawn_seven()).image
    for index in range(9):
        drawings.save(np.roll(image, index % 3 - 1, axis=1), 7, owner)
    open_page(app, "my_digits")
    assert "mlp_small" in next(c.value for c in app.caption if "Trains your model" in c.value)
    app.button(key="fine_tune_start").click().run()
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline and not app.success:  # the job runs in the background
        time.sleep(0.5)
        app.run()
    assert not app.exception, app.exception
    assert any("Fine-tuned and stored as run 1" in s.value for s in app.success), app.warning
    labels = [m.label for m in app.metric]
    assert "MNIST test" in labels and "Your 3 held-out drawings" in labels
    held = next(m for m in app.metric if m.label == "Your 3 held-out drawings")
    assert re.fullmatch(r"-?\d of 3 (more|fewer) right|no change \(from \d of 3\)", held.delta)
    run = store.get_run("1")
    assert run.owner == owner and run.metrics["fine_tuned_from"] == "mlp_small"
    open_page(app, "draw")
    assert "your run 1," in next(c.value for c in app.caption if "Answered by" in c.value)
