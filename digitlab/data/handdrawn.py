"""Canvas-like sets for training and measuring: pen-written digits and drawings that aren't.

Every drawing is rasterised as the browser canvas draws it and preprocessed as the app
does, so a model learns from, and is measured on, exactly what a drawing becomes. The
pendigits writers are split three ways, once for all: a model trains on TRAIN writers, its
abstention threshold is chosen on TUNE writers, and its figures come from TEST writers
only. Building a set costs about 4 ms a drawing, so the arrays are cached on disk, keyed by
what made them.
"""

from __future__ import annotations

import functools
import io
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from digitlab.core import atomic
from digitlab.core.errors import UserError
from digitlab.data import notdigits
from digitlab.data.pendigits import PenDigit, default_pendigits_path, parse_pendigits, rasterize
from digitlab.data.preprocess import preprocess

# pendigits has writers 1..30. Every third is held out for measuring; three more choose
# the abstention threshold; the other seventeen may be trained on.
TEST_WRITERS = tuple(range(3, 31, 3))
TUNE_WRITERS = (2, 13, 23)
TRAIN_WRITERS = tuple(w for w in range(1, 31) if w not in TEST_WRITERS + TUNE_WRITERS)
GROUPS = {"train": TRAIN_WRITERS, "tune": TUNE_WRITERS, "test": TEST_WRITERS}
# Not-a-digit drawings per group; the pairs in each are made of that group's writers.
NOT_DIGIT_COUNTS = {"train": 12_000, "tune": 1_500, "test": 1_500}
GENERATION = 1  # bump when the drawings change, so old caches are not used
CACHE_ENV = "DIGITLAB_CACHE_DIR"
# The two ways a drawing reaches the app: the canvas's ink in the alpha channel on
# transparent, or dark ink on white paper (a scan, an upload).
ALPHA, PAPER = "alpha", "paper"


class NoPenDigits(UserError, RuntimeError):
    """The pen-written digits file is missing or unreadable."""


@dataclass(frozen=True)
class Drawings:
    """Preprocessed drawings: 28x28 uint8 images, their labels and their writers."""

    images: np.ndarray  # (n, 28, 28) uint8, ink bright, as MNIST
    labels: np.ndarray  # (n,) int64: a digit, or notdigits.NOT_A_DIGIT
    writers: np.ndarray  # (n,) int64: the pendigits writer, -1 for a synthetic drawing

    def __len__(self) -> int:
        return len(self.labels)

    def __add__(self, other: Drawings) -> Drawings:
        return Drawings(
            np.concatenate([self.images, other.images]),
            np.concatenate([self.labels, other.labels]),
            np.concatenate([self.writers, other.writers]),
        )


def cache_dir() -> Path:
    """`$DIGITLAB_CACHE_DIR`, else `~/.digitlab/cache`: data built once per machine."""
    configured = os.environ.get(CACHE_ENV)
    return Path(configured) if configured else Path.home() / ".digitlab" / "cache"


def writer_digits(group: str) -> list[PenDigit]:
    """The pen-written digits of one writer group ("train", "tune" or "test")."""
    path = default_pendigits_path()
    if path is None or not path.is_file():
        raise NoPenDigits(f"The pen-written digits file is missing (looked for {path}).")
    writers = set(GROUPS[group])
    return [digit for digit in _parsed(path, path.stat().st_mtime_ns) if digit.writer in writers]


@functools.lru_cache(maxsize=2)
def _parsed(path: Path, mtime_ns: int) -> tuple[PenDigit, ...]:
    # Parsing takes seconds and the style and device sets ask for each group many times;
    # the file's mtime in the key means an edited file is read again.
    return tuple(parse_pendigits(path))


def in_style(canvas: np.ndarray, style: str) -> np.ndarray:
    """A canvas drawing (RGBA, ink in alpha) as the given style shows it."""
    if style == PAPER:
        return np.repeat(255 - canvas[..., 3:], 3, axis=2)
    return canvas


def as_canvas_drawings(
    drawings: list[PenDigit],
    style: str = ALPHA,
    stroke_width: int | None = None,
    margin: float = 0.15,
) -> Drawings:
    """Rasterise each as the canvas would and preprocess it as the app does (the pen's width
    and the digit's margin in the box as `pendigits.rasterize` takes them)."""
    images = np.zeros((len(drawings), 28, 28), np.uint8)
    for i, drawing in enumerate(drawings):
        canvas = rasterize(drawing, stroke_width=stroke_width, margin=margin)
        images[i] = np.round(preprocess(in_style(canvas, style)).image * 255)
    labels = np.array([d.label for d in drawings], np.int64)
    writers = np.array([d.writer for d in drawings], np.int64)
    return Drawings(images, labels.reshape(-1), writers.reshape(-1))


def _read_cached(path: Path) -> Drawings | None:
    if not path.is_file():
        return None
    try:
        with np.load(path) as saved:
            return Drawings(saved["images"], saved["labels"], saved["writers"])
    except (OSError, ValueError, KeyError):
        return None  # unreadable: build it again


def cached_drawings(name: str, build: Callable[[], Drawings]) -> Drawings:
    """`build()`, or what it built before for this name (kept in cache_dir()).

    Processes that ask for the same set at once (two first training jobs, two test workers)
    build it once: the first builds under a lock, the others wait and read its file."""
    source = default_pendigits_path()
    source_size = source.stat().st_size if source is not None and source.is_file() else 0
    # Keyed by the generation of the code that draws and by the pendigits file it drew from.
    path = cache_dir() / f"drawings-g{GENERATION}-{name}-{source_size}.npz"
    drawings = _read_cached(path)
    if drawings is not None:
        return drawings
    with atomic.one_at_a_time(path.with_suffix(".lock")):
        drawings = _read_cached(path)  # built by another process while this one waited
        if drawings is not None:
            return drawings
        drawings = build()
        buffer = io.BytesIO()
        np.savez_compressed(
            buffer, images=drawings.images, labels=drawings.labels, writers=drawings.writers
        )
        atomic.write_bytes(path, buffer.getvalue())
    return drawings


def pen_digits(group: str, style: str = ALPHA) -> Drawings:
    """Every digit the group's writers wrote, drawn as on the canvas (or on paper)."""
    return cached_drawings(
        f"pen-{group}-{style}", lambda: as_canvas_drawings(writer_digits(group), style)
    )


def pen_digit_variants(group: str, seed: int = 0) -> Drawings:
    """The group's digits once more, each slanted and wobbled as another hand might."""

    def build() -> Drawings:
        rng = np.random.default_rng(seed)
        digits = writer_digits(group)
        varied = [
            PenDigit(d.label, d.writer, tuple(notdigits.distort(list(d.strokes), rng)))
            for d in digits
        ]
        return as_canvas_drawings(varied)

    return cached_drawings(f"pen-{group}-variants-{seed}", build)


def not_digits(group: str) -> Drawings:
    """Letters, scribbles, shapes and pairs of the group's digits: none of them a digit."""
    seed = list(GROUPS).index(group)

    def build() -> Drawings:
        count = NOT_DIGIT_COUNTS[group]
        return as_canvas_drawings(notdigits.synthetic(count, writer_digits(group), seed))

    return cached_drawings(f"not-digits-v{notdigits.VERSION}-{group}", build)


def training_extras(
    pen: bool,
    not_a_digit: bool,
    share: float = 1.0,
    seed: int = 0,
    more: tuple[Drawings, ...] = (),
) -> Drawings:
    """What a config adds to MNIST: the training writers' digits (as written and once
    re-slanted), the not-a-digit drawings and `more` made elsewhere from the training writers
    (the writing styles); `share` of them, for runs on part of MNIST."""
    parts = list(more)
    if pen:
        parts += [pen_digits("train"), pen_digit_variants("train")]
    if not_a_digit:
        parts.append(not_digits("train"))
    if not parts:
        empty = np.zeros(0, np.int64)
        return Drawings(np.zeros((0, 28, 28), np.uint8), empty, empty)
    extras = parts[0]
    for part in parts[1:]:
        extras = extras + part
    if share < 1.0:
        keep = np.random.default_rng(seed).permutation(len(extras))[: round(len(extras) * share)]
        extras = Drawings(extras.images[keep], extras.labels[keep], extras.writers[keep])
    return extras
