"""Saved drawings out of DigitLab, for use elsewhere: a ZIP of PNGs with a CSV of labels,
or one NumPy `.npz`. Files are written whole or not at all (digitlab.core.atomic)."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from PIL import Image

from digitlab.core import atomic
from digitlab.store.drawings import Drawing, DrawingError, arrays

ZIP, NPZ = "zip", "npz"
FORMATS = (ZIP, NPZ)
LABELS_FILE = "labels.csv"
CSV_COLUMNS = ("file", "label", "predicted", "run_id", "created_at")


def png_name(drawing: Drawing) -> str:
    """`drawing-00012-label-7.png`; a not-a-digit drawing's label reads `none`."""
    label = "none" if drawing.label < 0 else str(drawing.label)
    return f"drawing-{drawing.id:05d}-label-{label}.png"


def png_bytes(drawing: Drawing) -> bytes:
    """The 28x28 input as a greyscale PNG (white ink on black, as MNIST)."""
    buffer = io.BytesIO()
    Image.fromarray(drawing.image).save(buffer, format="PNG")
    return buffer.getvalue()


def iso_time(seconds: float) -> str:
    """A saved drawing's time as ISO 8601 in UTC ("2026-12-03T14:52:07+00:00"): what a
    spreadsheet or pandas reads as a date, unlike seconds since 1970."""
    return datetime.fromtimestamp(seconds, UTC).isoformat(timespec="seconds")


def zip_bytes(found: list[Drawing]) -> bytes:
    """A ZIP of one PNG per drawing and `labels.csv` naming each file's label (-1: not a
    digit), the model's answer, the run that gave it and when it was saved."""
    table = io.StringIO()
    writer = csv.writer(table)
    writer.writerow(CSV_COLUMNS)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for drawing in found:
            name = png_name(drawing)
            archive.writestr(name, png_bytes(drawing))
            predicted = "" if drawing.predicted is None else drawing.predicted
            created = iso_time(drawing.created_at)
            writer.writerow((name, drawing.label, predicted, drawing.run_id or "", created))
        archive.writestr(LABELS_FILE, table.getvalue())
    return buffer.getvalue()


def npz_bytes(found: list[Drawing]) -> bytes:
    """One `.npz`: images (n, 28, 28) uint8, labels (n,) (-1: not a digit), ids, the model's
    answers (-2 where none was recorded), probabilities (n, 10; NaN where none) and the
    strokes as JSON text (empty where none)."""
    images, labels = arrays(found)
    probabilities = np.full((len(found), 10), np.nan)
    for row, drawing in enumerate(found):
        if drawing.probabilities is not None:
            probabilities[row] = drawing.probabilities
    buffer = io.BytesIO()
    np.savez_compressed(
        buffer,
        images=images,
        labels=labels,
        ids=np.array([d.id for d in found], np.int64),
        predicted=np.array([-2 if d.predicted is None else d.predicted for d in found], np.int64),
        probabilities=probabilities,
        strokes=np.array([json.dumps(d.strokes) if d.strokes else "" for d in found], np.str_),
    )
    return buffer.getvalue()


def export_bytes(found: list[Drawing], fmt: str) -> bytes:
    if fmt == ZIP:
        return zip_bytes(found)
    if fmt == NPZ:
        return npz_bytes(found)
    raise DrawingError(f"Export as {' or '.join(FORMATS)}, not {fmt!r}.")


def format_for(out: Path, fmt: str | None) -> str:
    """The format asked for, else the one the file name ends in (ZIP when it says nothing)."""
    if fmt is not None:
        return fmt
    return NPZ if Path(out).suffix.lower() == ".npz" else ZIP


def write(found: list[Drawing], out: Path, fmt: str | None = None) -> Path:
    """Write the drawings to `out` atomically; returns the path written."""
    out = Path(out)
    if not out.parent.is_dir():
        raise DrawingError(f"No folder {out.parent} to write {out.name} into.")
    atomic.write_bytes(out, export_bytes(found, format_for(out, fmt)))
    return out
