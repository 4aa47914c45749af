"""Stroke-level edits of real pen digits, one per way of writing a digit (styles.STYLES).

Each edit takes one pendigits digit (tablet units, y up) and a random generator, and
returns the digit written the other way, or None when the digit doesn't fit the edit (a
4 in one stroke has no separate arm to open). Added and redrawn strokes vary as a hand
does: where they sit, their angle and length, and a wobble (_hand).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from digitlab.data.notdigits import densify
from digitlab.data.pendigits import PenDigit

_Rng = np.random.Generator


# --- geometry ------------------------------------------------------------------------------


def _height(strokes) -> float:
    points = np.concatenate(strokes)
    return max(float(np.ptp(points, axis=0).max()), 1e-6)


def _hand(points, height: float, rng: _Rng, spacing: float = 0.05) -> np.ndarray:
    """A path through `points` as a hand draws it: a slow wander and a little pen noise,
    the ends kept where they are (so an added bar still crosses what it should)."""
    path = densify(np.asarray(points, np.float64), spacing * height)
    wander = np.cumsum(rng.normal(0, 0.008 * height, path.shape), axis=0)
    wander -= np.linspace(0, 1, len(path))[:, None] * wander[-1]
    return (path + wander + rng.normal(0, 0.003 * height, path.shape)).astype(np.float32)


def _restyled(digit: PenDigit, strokes) -> PenDigit:
    strokes = tuple(np.asarray(s, np.float32) for s in strokes)
    return PenDigit(digit.label, digit.writer, strokes, digit.index)


def _length(stroke: np.ndarray) -> float:
    return float(np.linalg.norm(np.diff(stroke, axis=0), axis=1).sum())


def _main(digit: PenDigit) -> tuple[np.ndarray, list[np.ndarray]]:
    """The longest stroke and the others."""
    order = sorted(range(len(digit.strokes)), key=lambda i: -_length(digit.strokes[i]))
    return digit.strokes[order[0]], [digit.strokes[i] for i in order[1:]]


def _corner(stroke: np.ndarray, start: int = 0) -> int:
    """The index of the stroke's bottom-left point (from `start` on), in its own box."""
    low, span = stroke.min(axis=0), np.maximum(np.ptp(stroke, axis=0), 1e-6)
    score = ((stroke - low) / span).sum(axis=1)
    return start + int(np.argmin(score[start:]))


def _rotation(degrees: float) -> np.ndarray:
    a = np.radians(degrees)
    return np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])


def _bar(centre, length: float, degrees: float, height: float, rng: _Rng) -> np.ndarray:
    """A short straight stroke, left to right, through `centre` at `degrees` from level."""
    half = _rotation(degrees) @ np.array([length / 2, 0.0])
    return _hand([np.asarray(centre) - half, np.asarray(centre) + half], height, rng)


# --- 0 --------------------------------------------------------------------------------------


def zero_slashed(digit: PenDigit, rng: _Rng) -> PenDigit:
    """Ø: one more stroke, a slash through the ring from upper right to lower left, longer
    or shorter than the ring and at a steeper or flatter angle from one hand to the next."""
    points = np.concatenate(digit.strokes)
    low, high = points.min(axis=0), points.max(axis=0)
    height = float(high[1] - low[1])
    centre = (low + high) / 2 + rng.normal(0, 0.03 * height, 2)
    rise = height * rng.uniform(0.95, 1.35)
    angle = np.radians(rng.uniform(50, 78))
    half = np.array([rise / np.tan(angle), rise]) / 2
    return _restyled(digit, [*digit.strokes, _hand([centre + half, centre - half], height, rng)])


def zero_dotted(digit: PenDigit, rng: _Rng) -> PenDigit:
    """A dot in the ring's middle: one more stroke, a pen tap of a point or two."""
    points = np.concatenate(digit.strokes)
    height = _height(digit.strokes)
    centre = (points.min(axis=0) + points.max(axis=0)) / 2 + rng.normal(0, 0.05 * height, 2)
    tap = centre + np.cumsum(rng.normal(0, 0.01 * height, (int(rng.integers(1, 4)), 2)), axis=0)
    return _restyled(digit, [*digit.strokes, tap])


# --- 1 --------------------------------------------------------------------------------------


def _stick(digit: PenDigit) -> np.ndarray | None:
    """The 1's stem, top to bottom: its longest stroke from its highest point on."""
    main, _ = _main(digit)
    top = int(np.argmax(main[:, 1]))
    down, up = main[top:], main[: top + 1][::-1]  # written top-down, or (rarely) bottom-up
    stem = down if np.ptp(down[:, 1]) >= np.ptp(up[:, 1]) else up
    if len(stem) < 2 or np.ptp(stem[:, 1]) < 0.6 * _height(digit.strokes):
        return None
    return stem


def one_stick(digit: PenDigit, rng: _Rng) -> PenDigit | None:
    """A plain stick: the stem alone, the flag (the lead-in stroke at the top) taken off."""
    stem = _stick(digit)
    return None if stem is None else _restyled(digit, [stem])


def _flagged(stem: np.ndarray, height: float, rng: _Rng) -> np.ndarray:
    # The flag is written in the same movement: up from its end to the top, then down. Its
    # length and angle span what the training writers' own flagged 1s do, out to their long
    # and flat end (0.25 to 1.05 of the stem: 5th to 99th percentile; 29 to 77 degrees below
    # level: 1st to 95th), since such flags, a 7's shape but for the upright stem, are where
    # the 1s of writers from elsewhere are misread.
    length = height * rng.uniform(0.25, 1.05)
    end = stem[0] + _rotation(rng.uniform(209, 257)) @ np.array([length, 0.0])
    return np.concatenate([_hand([end, stem[0]], height, rng), stem[1:]])


def one_flag(digit: PenDigit, rng: _Rng) -> PenDigit | None:
    """One stroke: a flag (up from the lower left to the top), then the stem down."""
    stem = _stick(digit)
    if stem is None:
        return None
    return _restyled(digit, [_flagged(stem, _height([stem]), rng)])


def one_flag_base(digit: PenDigit, rng: _Rng) -> PenDigit | None:
    """The flagged 1 and a second stroke: a base, a short level bar under the stem."""
    stem = _stick(digit)
    if stem is None:
        return None
    height = _height([stem])
    foot = stem[np.argmin(stem[:, 1])]  # the lowest point: some stems end with an upturn
    centre = foot + np.array([rng.normal(0, 0.03 * height), 0.0])
    base = _bar(centre, height * rng.uniform(0.35, 0.65), rng.normal(0, 3), height, rng)
    return _restyled(digit, [_flagged(stem, height, rng), base])


# --- 7 --------------------------------------------------------------------------------------


def _plain_seven(digit: PenDigit) -> np.ndarray | None:
    main, _ = _main(digit)
    return main if np.ptp(main[:, 1]) >= 0.7 * _height(digit.strokes) else None


def seven_plain(digit: PenDigit, rng: _Rng) -> PenDigit | None:
    """The top bar and stem in one stroke, no bar across the stem (any taken off)."""
    main = _plain_seven(digit)
    return None if main is None else _restyled(digit, [main])


def seven_crossed(digit: PenDigit, rng: _Rng) -> PenDigit | None:
    """The plain 7 and a second stroke: a short bar across the stem about mid-height."""
    main = _plain_seven(digit)
    if main is None:
        return None
    height = float(np.ptp(main[:, 1]))
    level = main[:, 1].min() + height * rng.uniform(0.35, 0.55)
    corner = int(np.argmax(main[:, 0] + main[:, 1]))  # the top right, where the stem starts
    below = np.flatnonzero(main[corner:, 1] <= level)
    if len(below) == 0:
        return None
    x = main[corner + below[0], 0] + rng.normal(0, 0.03 * height)
    bar = _bar((x, level), height * rng.uniform(0.3, 0.5), rng.normal(0, 5), height, rng)
    return _restyled(digit, [main, bar])


def seven_hooked(digit: PenDigit, rng: _Rng) -> PenDigit | None:
    """One stroke that starts with a short down-stroke hanging from the top bar's left end
    (a serif): the pen starts low, goes up to the bar, along it and down the stem."""
    main = _plain_seven(digit)
    if main is None:
        return None
    height = float(np.ptp(main[:, 1]))
    start = main[0] + np.array([rng.uniform(-0.03, 0.05), -rng.uniform(0.15, 0.3)]) * height
    return _restyled(digit, [np.concatenate([_hand([start, main[0]], height, rng), main[1:]])])


# --- 4 --------------------------------------------------------------------------------------


def _four_parts(digit: PenDigit) -> tuple[np.ndarray, np.ndarray, int] | None:
    """A two-stroke 4's stem (the more upright stroke), its arm-and-crossbar stroke, and
    the arm's corner where the crossbar begins."""
    if len(digit.strokes) != 2:
        return None
    upright = sorted(digit.strokes, key=lambda s: np.ptp(s[:, 0]) / max(np.ptp(s[:, 1]), 1e-6))
    stem, arm = upright
    height = _height(digit.strokes)
    if np.ptp(arm[:, 0]) < 0.3 * height or np.ptp(stem[:, 1]) < 0.6 * height:
        return None
    corner = _corner(arm)
    if corner >= len(arm) - 1:
        return None
    return stem, arm, corner


def four_closed(digit: PenDigit, rng: _Rng) -> PenDigit | None:
    """The arm starts at the stem's top: a slanted line down to the crossbar, closing the
    triangle, then the crossbar across the stem; the stem a second stroke."""
    parts = _four_parts(digit)
    if parts is None:
        return None
    stem, arm, corner = parts
    height = _height(digit.strokes)
    top = stem[np.argmax(stem[:, 1])] + rng.normal(0, 0.015 * height, 2)
    closing = _hand([top, arm[corner]], height, rng)
    return _restyled(digit, [np.concatenate([closing, _through(arm[corner:], stem, rng)]), stem])


def _through(bar: np.ndarray, stem: np.ndarray, rng: _Rng) -> np.ndarray:
    """The crossbar (from the arm's corner on), run on past the stem where it stops short:
    a closed 4 whose bar ends at the stem is a triangle on a stick, an angular 9, and those
    who close the 4 cross the stem with the bar."""
    height = _height([stem])
    level = bar[:, 1].mean()
    stem_x = stem[np.argmin(np.abs(stem[:, 1] - level)), 0]
    reach = height * rng.uniform(0.1, 0.25)
    short = stem_x + reach - bar[-1, 0]
    if bar[-1, 0] <= bar[0, 0] or short <= 0:
        return bar[1:]
    end = bar[-1] + np.array([short, rng.normal(0, 0.02 * height)])
    return np.concatenate([bar[1:], _hand([bar[-1], end], height, rng)[1:]])


def four_open(digit: PenDigit, rng: _Rng) -> PenDigit | None:
    """The arm starts well left of the stem and clear of it, so the top stays open."""
    parts = _four_parts(digit)
    if parts is None:
        return None
    stem, arm, corner = parts
    height = _height(digit.strokes)
    rise = (stem[:, 1].max() - arm[corner, 1]) * rng.uniform(0.6, 0.95)
    start = arm[corner] + np.array([rng.uniform(-0.08, 0.06) * height, rise])
    opening = _hand([start, arm[corner]], height, rng)
    return _restyled(digit, [np.concatenate([opening, arm[corner + 1 :]]), stem])


# --- 9 --------------------------------------------------------------------------------------


def _tail_start(stroke: np.ndarray) -> int:
    """Where the tail leaves the loop: on the stroke's last run that only goes down (the
    loop's right side, then the tail), the first point below the loop; 0 if the whole
    stroke only goes down (no loop drawn before the tail)."""
    start = len(stroke) - 1
    tolerance = 0.02 * _height([stroke])
    while start > 0 and stroke[start - 1, 1] >= stroke[start, 1] - tolerance:
        start -= 1
    if start == 0:
        return 0
    loop_bottom = stroke[: start + 1, 1].min()
    return start + int(np.argmax(stroke[start:, 1] <= loop_bottom))


def _nine(digit: PenDigit, tail: Callable[[np.ndarray, float, float], np.ndarray], rng: _Rng):
    if len(digit.strokes) != 1:
        return None
    stroke = digit.strokes[0]
    if stroke[0, 1] < stroke[-1, 1]:
        stroke = stroke[::-1]  # written tail first, from the bottom: edit it loop first
    start, height = _tail_start(stroke), _height([stroke])
    drop = float(stroke[start, 1] - stroke[-1, 1])
    if start == 0 or drop < 0.25 * height:
        return None
    # A loop whose bottom is nearly level can lead the search for the tail up into the loop
    # (a 9 begun at its top right, round and back along the bottom): what would be kept is
    # only the loop's top, and a new tail on it draws a long s, not a 9.
    if np.ptp(stroke[: start + 1, 1]) < 0.2 * height:
        return None
    points = tail(stroke[start], drop, rng.uniform(0, 1))
    new_tail = _hand(points, height, rng)
    return _restyled(digit, [np.concatenate([stroke[:start], new_tail])])


def _bent(start: np.ndarray, drop: float, slant: float, bend: float) -> np.ndarray:
    t = np.linspace(0, 1, 12)[:, None]
    return start + np.hstack([-drop * (slant * t + bend * t**2), -drop * t])


def nine_straight(digit: PenDigit, rng: _Rng) -> PenDigit | None:
    """The tail a straight line down from the loop, upright or slanting a little left."""
    return _nine(digit, lambda s, drop, u: _bent(s, drop, 0.15 * u, 0.0), rng)


def nine_curved(digit: PenDigit, rng: _Rng) -> PenDigit | None:
    """The tail bows to the left as it goes down, ending left of where it began."""
    return _nine(digit, lambda s, drop, u: _bent(s, drop, 0.0, 0.25 + 0.2 * u), rng)


def nine_curled(digit: PenDigit, rng: _Rng) -> PenDigit | None:
    """The curved tail ends in a curl that turns left and back up."""

    def curled(start: np.ndarray, drop: float, u: float) -> np.ndarray:
        bent = _bent(start, drop * 0.85, 0.0, 0.15 + 0.1 * u)
        radius = drop * (0.15 + 0.07 * u)
        # Clockwise from the tail's end (east of the curl's centre), under and back up.
        turn = np.radians(np.linspace(0, -(200 + 60 * u), 10))
        centre = bent[-1] - np.array([radius, 0.0])
        curl = centre + radius * np.stack([np.cos(turn), np.sin(turn)], axis=1)
        return np.concatenate([bent, curl[1:]])

    return _nine(digit, curled, rng)


# --- 2, 5, 3 --------------------------------------------------------------------------------


def two_looped(digit: PenDigit, rng: _Rng) -> PenDigit | None:
    """One stroke, with a small loop where the diagonal turns into the base (clockwise:
    on past the corner, left, up, over and down across the diagonal, then the base)."""
    if len(digit.strokes) != 1:
        return None
    stroke = digit.strokes[0]
    corner = _corner(stroke, start=len(stroke) // 3)
    if corner >= len(stroke) - 1:
        return None
    height = _height([stroke])
    radius = height * rng.uniform(0.08, 0.14)
    # From the circle's bottom round to just past its right side, heading down-left, so
    # the pen leaves the loop the way it came and turns into the base: one full turn more.
    turn = np.radians(np.linspace(-90, -380, 14))
    centre = stroke[corner] + np.array([rng.uniform(-0.3, 0.1) * radius, radius])
    loop = centre + radius * np.stack([np.cos(turn), np.sin(turn)], axis=1)
    loop = _hand(loop, height, rng, spacing=0.03)
    return _restyled(digit, [np.concatenate([stroke[: corner + 1], loop, stroke[corner + 1 :]])])


def _five_parts(digit: PenDigit) -> tuple[np.ndarray, np.ndarray] | None:
    """A two-stroke 5's top bar (the flatter stroke, above) and its body, top first."""
    if len(digit.strokes) != 2:
        return None
    bar, body = sorted(digit.strokes, key=lambda s: np.ptp(s[:, 1]) / max(np.ptp(s[:, 0]), 1e-6))
    if bar[:, 1].mean() <= body[:, 1].mean() or body[0, 1] < body[-1, 1]:
        return None
    if bar[0, 0] > bar[-1, 0]:
        bar = bar[::-1]  # left to right
    return bar, body


def five_separate(digit: PenDigit, rng: _Rng) -> PenDigit | None:
    """Two strokes, the top bar lifted clear of the stem: a pen-up between them that shows."""
    parts = _five_parts(digit)
    if parts is None:
        return None
    bar, body = parts
    top = body[np.argmax(body[:, 1])]  # the stem's top
    gap = np.array([rng.uniform(0.0, 0.06), rng.uniform(0.05, 0.12)]) * _height(digit.strokes)
    return _restyled(digit, [body, bar + (top + gap - bar[0]).astype(np.float32)])


def five_joined(digit: PenDigit, rng: _Rng) -> PenDigit | None:
    """One stroke: the bar from right to left, then straight on down the stem and round."""
    parts = _five_parts(digit)
    if parts is None:
        return None
    bar, body = parts
    link = _hand([bar[0], body[0]], _height(digit.strokes), rng)
    return _restyled(digit, [np.concatenate([bar[::-1], link[1:-1], body])])


def three_flat_top(digit: PenDigit, rng: _Rng) -> PenDigit | None:
    """The top arc replaced by a level bar and a diagonal down to the middle (as in Ʒ)."""
    if len(digit.strokes) != 1:
        return None
    stroke = digit.strokes[0]
    low, height = stroke[:, 1].min(), _height([stroke])
    middle = np.flatnonzero(
        (stroke[:, 1] > low + 0.3 * height) & (stroke[:, 1] < low + 0.7 * height)
    )
    middle = middle[(middle > len(stroke) * 0.2) & (middle < len(stroke) * 0.8)]
    if len(middle) == 0:
        return None
    cusp = int(middle[np.argmin(stroke[middle, 0])])
    top_part = stroke[: cusp + 1]
    top = top_part[:, 1].max() + rng.normal(0, 0.02 * height)
    left, right = top_part[:, 0].min(), top_part[:, 0].max()
    tilt = rng.normal(0, 0.015 * height)
    corners = [(left, top - tilt), (right, top + tilt), stroke[cusp]]
    flat = _hand(corners, height, rng)
    return _restyled(digit, [np.concatenate([flat, stroke[cusp + 1 :]])])


def as_written(digit: PenDigit, rng: _Rng) -> PenDigit:
    """The digit untouched: the common form in the pen data."""
    return digit
