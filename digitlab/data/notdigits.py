"""Drawings that are not a single digit: what a model learns to say "I don't know" to.

Three kinds, all drawn as pen strokes so they look like what people draw on the canvas:
letters that can't pass for a digit (upper and lower case; not O, I, l, S, Z, B, g, q),
scribbles and shapes, and two pen-written digits side by side. Every drawing is a list of
strokes in the pendigits convention (x right, y up), so pendigits.rasterize draws it the
way the canvas would. Letters rendered from handwriting fonts are kept apart: they measure
abstention on shapes the model never trained on.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from digitlab.data.pendigits import PenDigit

NOT_A_DIGIT = -1  # the label of a not-a-digit drawing
# Bump when the drawings change, so sets made of them are drawn again. 2: lone lines, ticks,
# crosses and dots; 3: second forms of some letters.
VERSION = 3
LETTERS = "ACEFHKMNPRUVWXacefhkmnpruvwx"


def _arc(cx, cy, rx, ry, start, end, points=12) -> list[tuple[float, float]]:
    """Points on an ellipse from `start` to `end` degrees (0 = right, 90 = up), y down."""
    angles = np.radians(np.linspace(start, end, points))
    return [(cx + rx * np.cos(a), cy - ry * np.sin(a)) for a in angles]


# Each letter as strokes in a box with y pointing down: capitals fill 0..1, lower case
# letters sit between 0.4 and 1 with ascenders and descenders outside.
_P_BOWL = [(0, 0), (0.5, 0), *_arc(0.5, 0.25, 0.4, 0.25, 90, -90), (0, 0.5)]
_TEMPLATES: dict[str, list[list[tuple[float, float]]]] = {
    "A": [[(0, 1), (0.5, 0), (1, 1)], [(0.25, 0.55), (0.75, 0.55)]],
    "C": [_arc(0.55, 0.5, 0.5, 0.5, 45, 315)],
    "E": [[(0.9, 0), (0, 0), (0, 1), (0.9, 1)], [(0, 0.5), (0.7, 0.5)]],
    "F": [[(0.9, 0), (0, 0), (0, 1)], [(0, 0.5), (0.7, 0.5)]],
    "H": [[(0, 0), (0, 1)], [(0.9, 0), (0.9, 1)], [(0, 0.5), (0.9, 0.5)]],
    "K": [[(0, 0), (0, 1)], [(0.9, 0), (0, 0.6)], [(0.3, 0.4), (0.9, 1)]],
    "M": [[(0, 1), (0, 0), (0.5, 0.6), (1, 0), (1, 1)]],
    "N": [[(0, 1), (0, 0), (0.9, 1), (0.9, 0)]],
    "P": [[(0, 1), *_P_BOWL]],
    "R": [[(0, 1), *_P_BOWL], [(0.35, 0.5), (0.95, 1)]],
    "U": [[(0, 0), (0, 0.6), *_arc(0.45, 0.6, 0.45, 0.4, 180, 360), (0.9, 0)]],
    "V": [[(0, 0), (0.5, 1), (1, 0)]],
    "W": [[(0, 0), (0.25, 1), (0.5, 0.35), (0.75, 1), (1, 0)]],
    "X": [[(0, 0), (1, 1)], [(1, 0), (0, 1)]],
    "a": [_arc(0.4, 0.7, 0.35, 0.3, 0, 360, 16), [(0.75, 0.4), (0.75, 1)]],
    "c": [_arc(0.45, 0.7, 0.4, 0.3, 45, 315)],
    "e": [[(0.05, 0.7), (0.85, 0.7), *_arc(0.45, 0.7, 0.4, 0.3, 0, 320, 16)]],
    "f": [[(0.4, 1), (0.4, 0.25), *_arc(0.65, 0.25, 0.25, 0.2, 180, 20)], [(0.1, 0.5), (0.7, 0.5)]],
    "h": [[(0, 0), (0, 1)], [(0, 0.65), *_arc(0.4, 0.65, 0.4, 0.25, 180, 0), (0.8, 1)]],
    "k": [[(0, 0), (0, 1)], [(0.7, 0.4), (0, 0.75), (0.75, 1)]],
    "m": [
        [(0, 1), (0, 0.45)],
        [(0, 0.6), *_arc(0.25, 0.6, 0.25, 0.15, 180, 0), (0.5, 1)],
        [(0.5, 0.6), *_arc(0.75, 0.6, 0.25, 0.15, 180, 0), (1, 1)],
    ],
    "n": [[(0, 1), (0, 0.45)], [(0, 0.6), *_arc(0.4, 0.6, 0.4, 0.2, 180, 0), (0.8, 1)]],
    "p": [[(0, 0.4), (0, 1.35)], _arc(0.35, 0.68, 0.35, 0.28, 0, 360, 16)],
    "r": [[(0, 1), (0, 0.4)], [(0, 0.6), *_arc(0.35, 0.6, 0.35, 0.2, 180, 60)]],
    # Without the right stem a hand might add: with it, a "u" is an open 4.
    "u": [[(0, 0.4), (0, 0.8), *_arc(0.4, 0.8, 0.4, 0.2, 180, 360), (0.8, 0.4)]],
    "v": [[(0, 0.4), (0.5, 1), (1, 0.4)]],
    "w": [[(0, 0.4), (0.25, 1), (0.5, 0.55), (0.75, 1), (1, 0.4)]],
    "x": [[(0, 0.4), (1, 1)], [(1, 0.4), (0, 1)]],
}

# Second ways of writing some letters, picked half the time: a hand's letters differ more
# than one slant of one form, and a letter met in one form only is refused in that form only.
_ALSO: dict[str, list[list[tuple[float, float]]]] = {
    # The print "a": a hook over the top into the stem, and the bowl against it.
    "a": [
        [*_arc(0.42, 0.58, 0.32, 0.18, 150, 0), (0.74, 0.6), (0.74, 1)],
        [(0.74, 0.72), *_arc(0.42, 0.83, 0.32, 0.17, 70, 290), (0.74, 0.92)],
    ],
    # Joined-up: the stem a loop from the top, down below the line, the bar across it.
    "f": [
        [*_arc(0.6, 0.18, 0.2, 0.16, 20, 180), (0.4, 0.3), (0.38, 1.3), (0.2, 1.2)],
        [(0.1, 0.5), (0.75, 0.48)],
    ],
    # One stroke: the stem down, back up it, the arch and a flick off the foot.
    "h": [[(0, 0), (0, 1), (0, 0.6), *_arc(0.35, 0.62, 0.35, 0.2, 180, 0), (0.7, 1), (0.85, 0.92)]],
    "n": [[(-0.1, 0.5), (0, 0.4), (0, 1), (0, 0.6), *_arc(0.4, 0.6, 0.4, 0.2, 180, 0), (0.8, 1)]],
    # One stroke: the stem down below the line, back up it, the bowl round to the stem.
    "p": [[(0, 0.4), (0, 1.35), (0, 0.5), *_arc(0.32, 0.68, 0.32, 0.25, 150, -170)]],
    "k": [[(0, 0), (0, 1)], [(0.65, 0.45), (0.05, 0.72)], [(0.25, 0.64), (0.7, 1)]],
    "M": [[(0, 1), (0.15, 0), (0.5, 0.7), (0.85, 0), (1, 1)]],
    "U": [[(0, 0), (0, 0.65), *_arc(0.4, 0.65, 0.4, 0.35, 180, 360), (0.8, 0), (0.8, 1.05)]],
    "e": [[(0.1, 0.72), (0.8, 0.62), *_arc(0.45, 0.7, 0.38, 0.3, 20, 330, 16)]],
}

_SHAPES: dict[str, list[list[tuple[float, float]]]] = {
    "triangle": [[(0, 1), (0.5, 0), (1, 1), (0, 1)]],
    "square": [[(0, 0), (1, 0), (1, 1), (0, 1), (0, 0)]],
    "star": [[(0.5, 0), (0.2, 1), (1, 0.35), (0, 0.35), (0.8, 1), (0.5, 0)]],
    "smiley": [
        _arc(0.5, 0.5, 0.5, 0.5, 0, 360, 24),
        [(0.33, 0.35), (0.35, 0.37)],
        [(0.65, 0.35), (0.67, 0.37)],
        _arc(0.5, 0.5, 0.28, 0.25, 200, 340),
    ],
    "hash": [
        [(0.3, 0), (0.25, 1)],
        [(0.7, 0), (0.65, 1)],
        [(0, 0.33), (1, 0.3)],
        [(0, 0.67), (1, 0.65)],
    ],
    "arrow": [[(0, 0.5), (1, 0.5)], [(0.7, 0.2), (1, 0.5), (0.7, 0.8)]],
    "heart": [
        [
            (0.5, 1),
            (0, 0.35),
            *_arc(0.25, 0.3, 0.25, 0.2, 180, 0),
            *_arc(0.75, 0.3, 0.25, 0.2, 180, 0),
            (0.5, 1),
        ]
    ],
    "spiral": [
        [
            (0.5 + 0.5 * t * np.cos(a), 0.5 - 0.5 * t * np.sin(a))
            for t, a in zip(np.linspace(0.05, 1, 40), np.linspace(0, 4 * np.pi, 40), strict=True)
        ]
    ],
    "tick": [[(0, 0.6), (0.35, 1), (1, 0)]],
    "cross": [[(0.5, 0), (0.5, 1)], [(0, 0.5), (1, 0.5)]],
}
# A lone straight line is not a digit at any angle but near-vertical (that is a 1): it
# leans at most this far from level, before the hand's own slant and rotation.
LINE_MAX_TILT = 40.0


def letter_names() -> str:
    return LETTERS


def shape_names() -> list[str]:
    return list(_SHAPES)


def _as_strokes(template: list[list[tuple[float, float]]]) -> list[np.ndarray]:
    # Flip y so the strokes point up like a tablet's (the pendigits convention).
    return [np.array([(x, -y) for x, y in stroke], dtype=np.float32) for stroke in template]


def densify(stroke: np.ndarray, spacing: float = 0.04) -> np.ndarray:
    """Points every `spacing` along the stroke, so jitter bends lines instead of moving ends."""
    if len(stroke) < 2:
        return stroke
    steps = np.linalg.norm(np.diff(stroke, axis=0), axis=1)
    along = np.concatenate([[0.0], np.cumsum(steps)])
    count = max(2, int(along[-1] / spacing) + 1)
    at = np.linspace(0, along[-1], count)
    return np.stack([np.interp(at, along, stroke[:, i]) for i in range(2)], axis=1)


def distort(strokes: list[np.ndarray], rng: np.random.Generator) -> list[np.ndarray]:
    """One person's way of drawing it: slant, rotation, proportions, a wobbly hand."""
    angle = np.radians(rng.normal(0, 8))
    shear = rng.normal(0, 0.2)
    squash = np.exp(rng.normal(0, 0.2))
    rotate = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    matrix = rotate @ np.array([[squash, shear], [0.0, 1.0]])
    # Work in a unit box whatever the source's units (tablet pixels for pendigits).
    every = np.concatenate(strokes)
    low, size = every.min(axis=0), max(float(np.ptp(every, axis=0).max()), 1e-6)
    drawn = []
    for stroke in strokes:
        points = densify((stroke - low) / size) @ matrix.T
        # A slow wander (the hand) plus a little per-point noise (the pen).
        wander = np.cumsum(rng.normal(0, 0.012, points.shape), axis=0)
        wander -= np.linspace(0, 1, len(points))[:, None] * wander[-1]  # the ends stay put
        drawn.append((points + wander + rng.normal(0, 0.006, points.shape)).astype(np.float32))
    return drawn


def letter(name: str, rng: np.random.Generator) -> PenDigit:
    """The letter as one hand draws it: its form (the second one half the time, where it
    has one), slanted and wobbled."""
    template = _TEMPLATES[name]
    if name in _ALSO and rng.random() < 0.5:
        template = _ALSO[name]
    return PenDigit(NOT_A_DIGIT, -1, tuple(distort(_as_strokes(template), rng)))


def shape(name: str, rng: np.random.Generator) -> PenDigit:
    return PenDigit(NOT_A_DIGIT, -1, tuple(distort(_as_strokes(_SHAPES[name]), rng)))


def line(rng: np.random.Generator) -> PenDigit:
    """A single straight stroke, level or tilted up to LINE_MAX_TILT degrees either way."""
    tilt = np.radians(rng.uniform(-LINE_MAX_TILT, LINE_MAX_TILT))
    end = (0.5 + 0.5 * np.cos(tilt), 0.5 - 0.5 * np.sin(tilt))
    start = (1 - end[0], 1 - end[1])
    stroke = _as_strokes([[start, end]])
    if rng.random() < 0.5:  # drawn either way
        stroke = [stroke[0][::-1]]
    return PenDigit(NOT_A_DIGIT, -1, tuple(distort(stroke, rng)))


def dot() -> PenDigit:
    """A tap of the pen: one point, which the canvas draws as a disk the pen's width (and
    the app then scales up to fill its box, as it does any ink)."""
    return PenDigit(NOT_A_DIGIT, -1, (np.zeros((1, 2), np.float32),))


def scribble(rng: np.random.Generator) -> PenDigit:
    """A random smooth path: a few control points joined by a jittery spline-like walk."""
    controls = rng.uniform(0, 1, (int(rng.integers(6, 14)), 2))
    fine = np.concatenate(
        [
            np.linspace(a, b, 6, endpoint=False)
            for a, b in zip(controls[:-1], controls[1:], strict=True)
        ]
    )
    smooth = np.stack(
        [
            np.convolve(np.pad(fine[:, i], 3, mode="edge"), np.ones(5) / 5, "same")[3:-3]
            for i in range(2)
        ],
        axis=1,
    )
    return PenDigit(NOT_A_DIGIT, -1, (smooth.astype(np.float32),))


def pair(left: PenDigit, right: PenDigit, rng: np.random.Generator) -> PenDigit:
    """Two pen-written digits side by side, as one drawing."""

    def normalised(digit: PenDigit) -> list[np.ndarray]:
        points = np.concatenate(digit.strokes)
        low, high = points.min(axis=0), points.max(axis=0)
        scale = 1.0 / max(float((high - low)[1]), 1e-6)
        return [(stroke - low) * scale for stroke in digit.strokes]

    gap = rng.uniform(0.15, 0.5)
    first = normalised(left)
    width = max(float(np.concatenate(first)[:, 0].max()), 0.2)
    second = [
        stroke + np.array([width + gap, rng.normal(0, 0.08)], np.float32)
        for stroke in normalised(right)
    ]
    return PenDigit(NOT_A_DIGIT, -1, tuple(np.asarray(s, np.float32) for s in first + second))


def synthetic(count: int, digits: list[PenDigit], seed: int) -> list[PenDigit]:
    """`count` not-a-digit drawings: 60% letters, 20% scribbles, lines and shapes (a tick, a
    cross, a dot...), 20% digit pairs.

    `digits` supplies the pairs; pass digits of training writers only."""
    rng = np.random.default_rng(seed)
    names, shapes = list(_TEMPLATES), list(_SHAPES)
    drawings = []
    for i in range(count):
        kind = i % 5
        if kind < 3:
            drawings.append(letter(names[(i // 5 * 3 + kind) % len(names)], rng))
        elif kind == 3:
            # A scribble and a lone line twice as often as any one shape, and a dot.
            pick = rng.integers(len(shapes) + 5) - len(shapes)
            if pick < 0:
                drawings.append(shape(shapes[pick], rng))
            else:
                drawings.append((scribble, scribble, line, line, lambda _: dot())[pick](rng))
        else:
            a, b = rng.integers(len(digits), size=2)
            drawings.append(pair(digits[a], digits[b], rng))
    return drawings


# --- letters from handwriting fonts: for measuring only --------------------------------------

FONT_FOLDERS = ("/usr/share/fonts/truetype",)
# Debian's handwriting fonts (fonts-dkg-handwriting, fonts-breip, fonts-femkeklaver,
# fonts-rufscript, fonts-sjfonts), for measuring only (`styles`, the README's font-letter
# figure; no test needs them): `apt-get install` them; without them that figure is left out.
# Breip draws outlines, not strokes: left out.
HANDWRITING_FONTS = (
    "dkg.ttf",
    "femkeklaver.ttf",
    "Rufscript010.ttf",
    "SteveHand.ttf",
    "Delphine.ttf",
)


def handwriting_fonts() -> list[Path]:
    found = []
    for folder in FONT_FOLDERS:
        for name in HANDWRITING_FONTS:
            found.extend(sorted(Path(folder).rglob(name)))
    return found


def font_letters(
    fonts: list[Path], letters: str = LETTERS, size: int = 280
) -> Iterator[tuple[str, np.ndarray]]:
    """(letter, canvas-like RGBA image) for every letter in every font, ink in the alpha."""
    for path in fonts:
        font = ImageFont.truetype(str(path), int(size * 0.6))
        for char in letters:
            canvas = Image.new("L", (size, size), 0)
            draw = ImageDraw.Draw(canvas)
            left, top, right, bottom = draw.textbbox((0, 0), char, font=font)
            x = (size - (right - left)) / 2 - left
            y = (size - (bottom - top)) / 2 - top
            draw.text((x, y), char, fill=255, font=font)
            rgba = np.zeros((size, size, 4), np.uint8)
            rgba[..., 3] = np.asarray(canvas)
            yield f"{char} ({path.stem})", rgba
