"""Real pen-written digits (UCI "pendigits", UNIPEN text format) and their rasterisation.

They let tests feed the app strokes that real people wrote, drawn the way the browser
canvas draws them, instead of MNIST images that the model has effectively already seen.
"""

from __future__ import annotations

import gzip
import os
import re
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

PENDIGITS_ENV = "DIGITLAB_PENDIGITS"
_SEGMENT_LABEL = re.compile(r'"(\d)"\s*$')
_SUPERSAMPLE = 4


@dataclass(frozen=True, eq=False)  # eq=False: arrays make field-wise equality ambiguous
class PenDigit:
    """One handwritten digit: its strokes as (k, 2) float32 x, y arrays, y pointing up."""

    label: int
    writer: int
    strokes: tuple[np.ndarray, ...]
    index: int = -1  # the sample number in the source file's .COMMENT line


# --- parsing -------------------------------------------------------------------------------


def _read_text(path: Path) -> str:
    with open(path, "rb") as f:
        raw = f.read()
    if raw[:2] == b"\x1f\x8b":  # gzip magic, whatever the file is called
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError) as e:
            raise ValueError(f"{path}: not a valid gzip file ({e})") from e
    try:
        return raw.decode("ascii")
    except UnicodeDecodeError as e:
        raise ValueError(f"{path}: not a UNIPEN text file ({e})") from e


class _Parser:
    """A line-by-line UNIPEN reader that knows segments, comments and pen up/down."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.digits: list[PenDigit] = []
        self.label: int | None = None  # of the open segment
        self.comment: tuple[int, int, int] | None = None
        self.strokes: list[np.ndarray] = []
        self.points: list[tuple[float, float]] | None = None  # None while the pen is up

    def fail(self, line_no: int, why: str) -> ValueError:
        return ValueError(f"{self.path}, line {line_no}: {why}")

    def feed(self, line_no: int, line: str) -> None:
        words = line.split()
        if not words:
            return
        keyword = words[0]
        if keyword == ".SEGMENT":
            self.start_segment(line_no, line)
        elif keyword == ".COMMENT" and self.label is not None:
            self.read_comment(line_no, words)
        elif keyword == ".PEN_DOWN":
            if self.label is None or self.points is not None:
                raise self.fail(line_no, ".PEN_DOWN outside a digit segment or while down")
            self.points = []
        elif keyword == ".PEN_UP":
            if self.points is None:
                raise self.fail(line_no, ".PEN_UP without .PEN_DOWN")
            if not self.points:
                raise self.fail(line_no, "a stroke with no points")
            self.strokes.append(np.array(self.points, dtype=np.float32))
            self.points = None
        elif keyword.startswith("."):
            if self.points is not None:
                raise self.fail(line_no, f"{keyword} while the pen is down")
            # Other UNIPEN keywords (.INCLUDE, .LEXICON, .DT, ...) carry nothing we need.
        else:
            self.read_point(line_no, words)

    def read_point(self, line_no: int, words: list[str]) -> None:
        if self.points is None:
            raise self.fail(line_no, "coordinates outside a .PEN_DOWN ... .PEN_UP stroke")
        if len(words) != 2:
            raise self.fail(line_no, f"expected 'x y', got {' '.join(words)!r}")
        try:
            self.points.append((float(words[0]), float(words[1])))
        except ValueError:
            raise self.fail(line_no, f"coordinates are not numbers: {' '.join(words)!r}") from None

    def start_segment(self, line_no: int, line: str) -> None:
        self.finish_segment(line_no)
        match = _SEGMENT_LABEL.search(line)
        if not line.split()[1:2] == ["DIGIT"] or not match:
            raise self.fail(line_no, f'expected .SEGMENT DIGIT ... "<digit>", got {line!r}')
        self.label = int(match.group(1))

    def read_comment(self, line_no: int, words: list[str]) -> None:
        try:
            label, writer, index = (int(w) for w in words[1:4])
        except ValueError:
            raise self.fail(line_no, "expected '.COMMENT label writer index'") from None
        if label != self.label:
            raise self.fail(line_no, f"label {label} differs from the segment's {self.label}")
        self.comment = (label, writer, index)

    def finish_segment(self, line_no: int) -> None:
        """Store the open segment as a PenDigit, if there is one."""
        if self.label is None:
            return
        if self.points is not None:
            raise self.fail(line_no, "a new segment starts while the pen is down")
        if self.comment is None or not self.strokes:
            raise self.fail(line_no, "the previous digit lacks its .COMMENT or its strokes")
        for stroke in self.strokes:
            stroke.setflags(write=False)
        label, writer, index = self.comment
        self.digits.append(PenDigit(label, writer, tuple(self.strokes), index))
        self.label, self.comment, self.strokes = None, None, []


def parse_pendigits(path: str | os.PathLike[str]) -> list[PenDigit]:
    """Every digit in a UNIPEN pendigits file (gzip-compressed or plain), in file order."""
    path = Path(path)
    parser = _Parser(path)
    lines = _read_text(path).splitlines()
    for line_no, line in enumerate(lines, start=1):
        parser.feed(line_no, line)
    parser.finish_segment(len(lines))
    if not parser.digits:
        raise ValueError(f"{path}: no .SEGMENT DIGIT entries found")
    return parser.digits


# The copy that ships with DigitLab (CC BY 4.0; its attribution lies beside it).
SHIPPED_PENDIGITS = Path(__file__).resolve().parents[2] / "assets/data/pendigits-train.gz"


def default_pendigits_path() -> Path | None:
    """$DIGITLAB_PENDIGITS, else the copy shipped in assets/data, or None."""
    from_env = os.environ.get(PENDIGITS_ENV)
    if from_env:
        return Path(from_env).expanduser()
    return SHIPPED_PENDIGITS if SHIPPED_PENDIGITS.is_file() else None


# --- drawing -------------------------------------------------------------------------------


def fit_to_canvas(digit: PenDigit, size: int = 280, margin: float = 0.15) -> list[np.ndarray]:
    """The strokes in canvas pixels (x right, y down), centred and scaled to fit the margin."""
    if not 0 <= margin < 0.5:
        raise ValueError(f"margin must be in [0, 0.5), got {margin}")
    points = np.concatenate(digit.strokes)
    low, high = points.min(axis=0), points.max(axis=0)
    extent = float((high - low).max())
    # A digit that is a single dot has no extent; leave it unscaled at the centre.
    scale = size * (1 - 2 * margin) / extent if extent > 0 else 1.0
    centre = (low + high) / 2
    flip = np.array([1.0, -1.0], dtype=np.float32)  # tablet y points up, canvas y down
    return [
        ((stroke - centre) * scale * flip + size / 2).astype(np.float32) for stroke in digit.strokes
    ]


def rasterize(
    digit: PenDigit, size: int = 280, stroke_width: int | None = None, margin: float = 0.15
) -> np.ndarray:
    """The digit as streamlit-drawable-canvas returns a black drawing: RGBA uint8, ink in alpha.

    Strokes have round caps and joins, drawn at 4x and box-filtered down for smooth edges.
    `margin` (a share of the box on each side) sets how large the digit is drawn.
    """
    width = stroke_width if stroke_width is not None else max(1, round(size / 14))
    big_width = width * _SUPERSAMPLE
    radius = big_width / 2
    canvas = Image.new("L", (size * _SUPERSAMPLE, size * _SUPERSAMPLE), 0)
    draw = ImageDraw.Draw(canvas)
    for stroke in fit_to_canvas(digit, size, margin):
        points = [(float(x), float(y)) for x, y in stroke * _SUPERSAMPLE]
        if len(points) > 1:
            # No joint="curve": the circles below cover every joint already (the same
            # pixels, checked on held-out digits at three widths), at half the drawing time.
            draw.line(points, fill=255, width=big_width)
        # Circles at every point give the round caps and joins a browser pen draws.
        for x, y in points:
            draw.ellipse((x - radius, y - radius, x + radius, y + radius), fill=255)
    alpha = np.asarray(canvas.resize((size, size), Image.Resampling.BOX))
    rgba = np.zeros((size, size, 4), dtype=np.uint8)
    rgba[..., 3] = alpha
    return rgba


# --- sampling ------------------------------------------------------------------------------


def sample_balanced(digits: list[PenDigit], per_class: int, seed: int = 0) -> list[PenDigit]:
    """per_class digits of each label 0..9, spread over as many writers as possible.

    Deterministic for a seed; ordered by label. Writers take turns in a shuffled order, so
    no writer gives a second digit of a class before every writer of it has given one.
    """
    if per_class < 0:
        raise ValueError(f"per_class must be >= 0, got {per_class}")
    rng = np.random.default_rng(seed)
    by_label_writer: dict[int, dict[int, list[PenDigit]]] = defaultdict(lambda: defaultdict(list))
    for digit in digits:
        by_label_writer[digit.label][digit.writer].append(digit)
    chosen: list[PenDigit] = []
    for label in range(10):
        by_writer = by_label_writer.get(label, {})
        available = sum(len(group) for group in by_writer.values())
        if available < per_class:
            raise ValueError(f"only {available} digits labelled {label}, {per_class} wanted")
        queues = [list(by_writer[w]) for w in rng.permutation(sorted(by_writer))]
        for queue in queues:
            order = rng.permutation(len(queue))
            queue[:] = [queue[i] for i in order]
        picked: list[PenDigit] = []
        while len(picked) < per_class:
            for queue in queues:
                if queue and len(picked) < per_class:
                    picked.append(queue.pop())
        chosen.extend(picked)
    return chosen
