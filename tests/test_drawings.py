"""Saved drawings: a real SQLite file, sessions kept apart, bad input refused, exports that
read back, and the `drawings` command."""

from __future__ import annotations

import csv
import io
import json
import sqlite3
import zipfile
from datetime import datetime

import numpy as np
import pytest
from PIL import Image

from digitlab.store import drawings, drawings_export
from digitlab.store.drawings import DrawingError

from helpers import run_cli

STROKES = {"version": "6.0.0", "objects": [{"type": "path", "path": [["M", 1, 2], ["L", 3, 4]]}]}


def an_image(seed: int = 0) -> np.ndarray:
    """A 28x28 input as the app makes it: floats in [0, 1]."""
    return np.random.default_rng(seed).random((28, 28)).astype(np.float32)


def test_a_drawing_is_stored_whole_and_read_back(private_store):
    image = an_image()
    probabilities = np.eye(10)[3] * 0.9 + 0.01
    saved = drawings.save(
        image,
        7,
        "session-a",
        predicted=3,
        probabilities=probabilities,
        temperature=1.5,
        run_id="digitnet",
        strokes=STROKES,
    )
    assert (private_store / drawings.DB_FILE).is_file()
    again = drawings.get(saved.id, "session-a")
    assert again.label == 7 and again.predicted == 3 and again.corrected
    assert again.run_id == "digitnet" and again.temperature == 1.5
    assert again.strokes == STROKES
    np.testing.assert_allclose(again.probabilities, probabilities, atol=1e-6)
    assert again.image.dtype == np.uint8
    np.testing.assert_array_equal(again.image, np.round(image * 255).astype(np.uint8))
    # Another process reads the same file: the row is there, in one table.
    with sqlite3.connect(private_store / drawings.DB_FILE) as connection:
        assert connection.execute("SELECT label, run_id FROM drawings").fetchall() == [
            (7, "digitnet")
        ]


def test_sessions_see_only_their_own_drawings():
    mine = drawings.save(an_image(1), 1, "me")
    theirs = drawings.save(an_image(2), 2, "them")
    assert [d.id for d in drawings.list_drawings("me")] == [mine.id]
    assert drawings.count("them") == 1 and drawings.count() == 2
    with pytest.raises(DrawingError):
        drawings.get(theirs.id, "me")
    with pytest.raises(DrawingError):
        drawings.relabel(theirs.id, 5, "me")
    with pytest.raises(DrawingError):
        drawings.delete(theirs.id, "me")
    assert drawings.get(theirs.id, "them").label == 2


def test_relabel_and_delete():
    saved = drawings.save(an_image(), 4, "me", predicted=4)
    assert not saved.corrected
    relabelled = drawings.relabel(saved.id, drawings.NOT_A_DIGIT, "me")
    assert relabelled.label_name == "not a digit" and relabelled.corrected
    drawings.delete(saved.id, "me")
    assert drawings.list_drawings("me") == []


@pytest.mark.parametrize("label", [10, -2, "7", 3.0, True, None])
def test_a_label_out_of_range_is_refused(label):
    with pytest.raises(DrawingError, match="digit 0-9"):
        drawings.save(an_image(), label, "me")
    assert drawings.count() == 0


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"image": np.zeros((28, 27))}, "28x28"),
        ({"image": np.full((28, 28), 2.0)}, "between 0 and 1"),
        ({"probabilities": [0.5] * 9}, "ten numbers"),
        ({"strokes": {"bad": object()}}, "not JSON"),
    ],
)
def test_bad_input_is_refused_and_nothing_is_written(change, message):
    values = {"image": an_image(), "probabilities": None, "strokes": None, **change}
    with pytest.raises(DrawingError, match=message):
        drawings.save(
            values["image"],
            3,
            "me",
            probabilities=values["probabilities"],
            strokes=values["strokes"],
        )
    assert drawings.count() == 0


def test_zip_export_holds_a_png_and_a_label_for_each(tmp_path):
    first = drawings.save(an_image(1), 7, "me", predicted=1, run_id="12")
    second = drawings.save(an_image(2), drawings.NOT_A_DIGIT, "me")
    out = drawings_export.write(drawings.list_drawings("me"), tmp_path / "mine.zip")
    with zipfile.ZipFile(out) as archive:
        rows = list(csv.DictReader(io.StringIO(archive.read("labels.csv").decode())))
        assert [row["label"] for row in rows] == ["7", "-1"]
        assert rows[0]["predicted"] == "1" and rows[0]["run_id"] == "12"
        saved_at = datetime.fromisoformat(rows[0]["created_at"])  # ISO 8601, in UTC
        assert saved_at.tzinfo is not None
        assert saved_at.timestamp() == pytest.approx(first.created_at, abs=1)
        for row, drawing in zip(rows, (first, second), strict=True):
            pixels = np.asarray(Image.open(io.BytesIO(archive.read(row["file"]))))
            np.testing.assert_array_equal(pixels, drawing.image)
    assert [p.name for p in tmp_path.iterdir()] == ["mine.zip"]  # no temporary left


def test_npz_export_reads_back_as_arrays(tmp_path):
    saved = drawings.save(an_image(3), 9, "me", predicted=4, strokes=STROKES)
    drawings.save(an_image(4), 0, "me")
    out = drawings_export.write(drawings.list_drawings("me"), tmp_path / "mine.npz")
    with np.load(out) as arrays:
        assert arrays["images"].shape == (2, 28, 28) and arrays["images"].dtype == np.uint8
        assert arrays["labels"].tolist() == [9, 0]
        assert arrays["predicted"].tolist() == [4, -2]
        np.testing.assert_array_equal(arrays["images"][0], saved.image)
        assert json.loads(str(arrays["strokes"][0])) == STROKES
        assert str(arrays["strokes"][1]) == ""


def test_the_cli_lists_and_exports_every_session(private_store, tmp_path):
    drawings.save(an_image(5), 2, "one", predicted=2)
    drawings.save(an_image(6), 5, "two", predicted=3)
    listed = run_cli("drawings", "list", "--json", store=private_store)
    assert listed.returncode == 0, listed.stderr
    assert [row["label"] for row in json.loads(listed.stdout)] == [2, 5]
    out = tmp_path / "all.npz"
    done = run_cli("drawings", "export", "--out", str(out), store=private_store)
    assert done.returncode == 0, done.stderr
    assert "2 drawings" in done.stdout
    with np.load(out) as arrays:
        assert arrays["labels"].tolist() == [2, 5]
    zipped = tmp_path / "all.data"
    done = run_cli(
        "drawings", "export", "--out", str(zipped), "--format", "zip", store=private_store
    )
    assert done.returncode == 0 and zipfile.is_zipfile(zipped)
    refused = run_cli(
        "drawings", "export", "--out", str(tmp_path / "no" / "x.zip"), store=private_store
    )
    assert refused.returncode == 1 and "No folder" in refused.stderr
