"""Drawings people saved from the Draw page: what they drew, and what it really was.

Each row keeps the drawing (the canvas's strokes as it returned them, and the 28x28 input
the model saw), the label its author gave (a digit, or -1 for "not a digit"), what the
model said (its answer and probabilities) and which run said it, the session that made it
and when. In the app a session sees only its own drawings; the command line sees all.

They live in `drawings.sqlite` beside the runs' `runs.sqlite`, not in it: a saved drawing
must not bump the runs' generation (every session's run listing would be read again), and
the runs database's reconcile rules are about model folders, which drawings do not have.
Each write is one transaction.
"""

from __future__ import annotations

import json
import math
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from digitlab.core.errors import UserError
from digitlab.data.notdigits import NOT_A_DIGIT
from digitlab.store import sqlite
from digitlab.store.limits import check_room_for_drawing
from digitlab.store.run import root_or_default

DB_FILE = "drawings.sqlite"
IMAGE_SHAPE = (28, 28)
LABELS = (*range(10), NOT_A_DIGIT)  # what a drawing may be labelled

_SCHEMA = """
CREATE TABLE IF NOT EXISTS drawings (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    owner TEXT,
    label INTEGER NOT NULL CHECK (label BETWEEN -1 AND 9),
    predicted INTEGER,
    probabilities TEXT,
    temperature REAL,
    run_id TEXT,
    image BLOB NOT NULL,
    strokes TEXT,
    created_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS drawings_by_owner ON drawings (owner, id);
"""


class DrawingError(UserError, ValueError):
    """A drawing can't be saved, found or changed: the message says why."""


def label_name(label: int) -> str:
    """A label in words: "7", or "not a digit"."""
    return "not a digit" if label == NOT_A_DIGIT else str(label)


@dataclass(frozen=True)
class Drawing:
    """One saved drawing and what was known when it was saved."""

    id: int
    owner: str | None  # the browser session that saved it; None: the command line
    label: int  # 0-9, or NOT_A_DIGIT
    image: np.ndarray  # (28, 28) uint8, ink bright, as the model's input
    created_at: float  # seconds since the epoch
    predicted: int | None = None  # the model's answer; NOT_A_DIGIT if it abstained
    probabilities: list[float] | None = None  # the ten it showed (None: a regression model)
    temperature: float | None = None  # the temperature those probabilities were shown at
    run_id: str | None = None  # the run that answered
    strokes: Any = None  # the canvas's JSON (None for an upload, or under AppTest)

    @property
    def label_name(self) -> str:
        return label_name(self.label)

    @property
    def corrected(self) -> bool:
        """Whether its author said the model was wrong."""
        return self.predicted != self.label


# --- the database ----------------------------------------------------------------------------


def _connect(root: Path | None) -> sqlite3.Connection:
    """This thread's connection to the drawings database, created on first use."""
    return sqlite.connect(root_or_default(root) / DB_FILE, _SCHEMA)[0]


def _write(root: Path | None) -> sqlite.Transaction:
    """One write transaction: all of it happens, or none."""
    return sqlite.Transaction(_connect(root))


# --- checking what comes in ------------------------------------------------------------------


def check_label(label: Any) -> int:
    """A label as stored: a digit 0-9 or NOT_A_DIGIT (-1); anything else is refused."""
    if isinstance(label, bool) or not isinstance(label, int | np.integer) or label not in LABELS:
        raise DrawingError(f'A label is a digit 0-9, or -1 for "not a digit"; got {label!r}.')
    return int(label)


def _image_bytes(image: np.ndarray) -> bytes:
    """The 28x28 input as 784 bytes: floats in [0, 1] are scaled, uint8 kept as it is."""
    array = np.asarray(image)
    if array.shape != IMAGE_SHAPE:
        raise DrawingError(f"A drawing's input is 28x28; got shape {array.shape}.")
    if array.dtype != np.uint8:
        if not np.all(np.isfinite(array)) or array.min() < 0 or array.max() > 1:
            raise DrawingError("A drawing's input as floats must lie between 0 and 1.")
        array = np.round(array * 255).astype(np.uint8)
    return array.tobytes()


def _probabilities_json(probabilities: Any) -> str | None:
    if probabilities is None:
        return None
    values = [float(p) for p in np.asarray(probabilities, np.float64).reshape(-1)]
    if len(values) != 10 or not all(math.isfinite(p) and 0 <= p <= 1 for p in values):
        raise DrawingError("Probabilities are ten numbers between 0 and 1.")
    return json.dumps([round(p, 6) for p in values])


def _strokes_json(strokes: Any) -> str | None:
    if strokes is None:
        return None
    try:
        return json.dumps(strokes)
    except (TypeError, ValueError) as error:
        raise DrawingError(f"The strokes are not JSON: {error}") from None


# --- reading and writing ---------------------------------------------------------------------


def _from_row(row: sqlite3.Row) -> Drawing:
    return Drawing(
        id=row["id"],
        owner=row["owner"],
        label=row["label"],
        image=np.frombuffer(row["image"], np.uint8).reshape(IMAGE_SHAPE),
        created_at=row["created_at"],
        predicted=row["predicted"],
        probabilities=json.loads(row["probabilities"]) if row["probabilities"] else None,
        temperature=row["temperature"],
        run_id=row["run_id"],
        strokes=json.loads(row["strokes"]) if row["strokes"] else None,
    )


def save(
    image: np.ndarray,
    label: int,
    owner: str | None,
    *,
    predicted: int | None = None,
    probabilities: Any = None,
    temperature: float | None = None,
    run_id: str | None = None,
    strokes: Any = None,
    root: Path | None = None,
) -> Drawing:
    """Save a drawing with the label its author gave; returns it with its new id. A workspace
    (`owner`) at its limit of drawings is refused (limits.LimitError); the command line isn't."""
    if owner is not None:
        check_room_for_drawing(count(owner, root))
    values = (
        owner,
        check_label(label),
        None if predicted is None else check_label(predicted),
        _probabilities_json(probabilities),
        None if temperature is None else float(temperature),
        None if run_id is None else str(run_id),
        _image_bytes(image),
        _strokes_json(strokes),
        time.time(),
    )
    with _write(root) as write:
        cursor = write.execute(
            "INSERT INTO drawings (owner, label, predicted, probabilities, temperature, run_id,"
            " image, strokes, created_at) VALUES (?,?,?,?,?,?,?,?,?)",
            values,
        )
        drawing_id = cursor.lastrowid
    return get(drawing_id, owner, root)


def list_drawings(owner: str | None = None, root: Path | None = None) -> list[Drawing]:
    """A session's drawings (every drawing when `owner` is None), oldest first."""
    query, params = "SELECT * FROM drawings", ()
    if owner is not None:
        query, params = query + " WHERE owner = ?", (owner,)
    return [_from_row(row) for row in _connect(root).execute(query + " ORDER BY id", params)]


def count(owner: str | None = None, root: Path | None = None) -> int:
    query, params = "SELECT COUNT(*) FROM drawings", ()
    if owner is not None:
        query, params = query + " WHERE owner = ?", (owner,)
    return int(_connect(root).execute(query, params).fetchone()[0])


def by_owner(root: Path | None = None) -> dict[str, tuple[int, float, float]]:
    """Each owner's drawings, for the operator: (how many, the first's time, the last's)."""
    query = (
        "SELECT owner, COUNT(*), MIN(created_at), MAX(created_at) FROM drawings"
        " WHERE owner IS NOT NULL GROUP BY owner"
    )
    return {row[0]: (row[1], row[2], row[3]) for row in _connect(root).execute(query)}


def delete_owned(owners: list[str], root: Path | None = None) -> int:
    """Delete every drawing of these owners, in one transaction; returns how many."""
    with _write(root) as write:
        return sum(
            write.execute("DELETE FROM drawings WHERE owner = ?", (owner,)).rowcount
            for owner in owners
        )


def get(drawing_id: int, owner: str | None = None, root: Path | None = None) -> Drawing:
    """One drawing; a session (`owner`) finds only its own, the command line (None) any."""
    row = _connect(root).execute("SELECT * FROM drawings WHERE id = ?", (int(drawing_id),))
    found = row.fetchone()
    if found is None or (owner is not None and found["owner"] != owner):
        raise DrawingError(f"No drawing {drawing_id} among this session's drawings.")
    return _from_row(found)


def relabel(
    drawing_id: int, label: int, owner: str | None = None, root: Path | None = None
) -> Drawing:
    """Give a drawing another label (a session may change only its own)."""
    label = check_label(label)
    get(drawing_id, owner, root)  # refuses another session's drawing
    with _write(root) as write:
        write.execute("UPDATE drawings SET label = ? WHERE id = ?", (label, int(drawing_id)))
    return get(drawing_id, owner, root)


def delete(drawing_id: int, owner: str | None = None, root: Path | None = None) -> None:
    """Delete a drawing (a session may delete only its own)."""
    get(drawing_id, owner, root)
    with _write(root) as write:
        write.execute("DELETE FROM drawings WHERE id = ?", (int(drawing_id),))


def arrays(found: list[Drawing]) -> tuple[np.ndarray, np.ndarray]:
    """Drawings as training arrays: (n, 28, 28) uint8 images and (n,) int64 labels."""
    images = np.stack([d.image for d in found]) if found else np.zeros((0, *IMAGE_SHAPE), np.uint8)
    return images, np.array([d.label for d in found], np.int64)
