"""The ways people write each digit, made from real pen strokes by stroke-level edits.

The pendigits writers (one tablet, one population) mostly write a 7 crossed, a 1 with a
flag, an open 4 and a 9 with a straight tail. Other people write a slashed 0, a 1 with a
flag and a base, a 7 with a hooked top, a closed 4, a 9 whose tail curls... Each Style
below says how its strokes differ from the common form, and its edit makes it from one real
pen digit: it removes, reshapes or adds strokes, drawn with the variation of a hand (the
position, angle and length of the added stroke vary, and it wobbles). What an edit can't
make honestly is catalogued with the reason and skipped. Everything is in the pendigits
convention (tablet units, y up), so handdrawn draws it as the canvas would.

Style sets come from one writer group at a time: the TEST set from the held-out writers
only, training extras from the training writers only (handdrawn.GROUPS).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from digitlab.data import handdrawn, notdigits
from digitlab.data.pendigits import PenDigit
from digitlab.data.style_edits import (
    as_written,
    five_joined,
    five_separate,
    four_closed,
    four_open,
    nine_curled,
    nine_curved,
    nine_straight,
    one_flag,
    one_flag_base,
    one_stick,
    seven_crossed,
    seven_hooked,
    seven_plain,
    three_flat_top,
    two_looped,
    zero_dotted,
    zero_slashed,
)

GENERATION = 5  # bump when an edit changes, so cached style sets are built again
# The training extras are made with their own seed: another draw of each edit's variation
# than the test set's (which comes from other writers anyway).
TRAINING_SEED = 1
Edit = Callable[[PenDigit, np.random.Generator], "PenDigit | None"]


@dataclass(frozen=True)
class Style:
    """One way of writing a digit: how its strokes differ, and the edit that makes it."""

    name: str  # "0 slashed": the digit first, as the tables list it
    digit: int
    strokes: str  # how its strokes differ from the common form, in a sentence
    edit: Edit | None  # None: no honest stroke edit makes it (see `skipped`)
    skipped: str = ""

    @property
    def slug(self) -> str:
        return self.name.replace(" ", "-")


_SAME_INK = (
    "Skipped: a stroke edit can split or join the same ink, but the canvas draws the same "
    "pixels either way and the model reads pixels; a truly different shape (an 8 of two "
    "stacked rings) would have to be invented, not edited from real strokes."
)

STYLES: tuple[Style, ...] = (
    Style("0 slashed", 0, "one more stroke: a slash through the ring", zero_slashed),
    Style("0 dotted", 0, "one more stroke: a dot in the ring's middle", zero_dotted),
    Style("1 stick", 1, "the stem alone, no flag", one_stick),
    Style("1 flag", 1, "one stroke: a lead-in flag up to the top, then the stem", one_flag),
    Style("1 flag and base", 1, "the flagged stem and a level base stroke", one_flag_base),
    Style("2 plain", 2, "as the pen data writes it: no loop at the corner", as_written),
    Style("2 looped", 2, "a small loop where the diagonal meets the base", two_looped),
    Style("3 flat top", 3, "a level bar and a diagonal instead of the top arc", three_flat_top),
    Style("4 open", 4, "two strokes; the arm starts clear of the stem's top", four_open),
    Style("4 closed", 4, "two strokes; the arm starts at the stem's top", four_closed),
    Style("5 separate bar", 5, "two strokes; the top bar lifted clear", five_separate),
    Style("5 joined bar", 5, "one stroke: bar right to left, then the body", five_joined),
    Style("6 one or two strokes", 6, "the same ink split or joined", None, _SAME_INK),
    Style("7 plain", 7, "one stroke, bar and stem; no cross-bar", seven_plain),
    Style("7 crossed", 7, "the plain 7 and a bar across its stem", seven_crossed),
    Style("7 hooked top", 7, "one stroke, begun with a down-hook at the bar's left", seven_hooked),
    Style("8 one or two strokes", 8, "the same ink split or joined", None, _SAME_INK),
    Style("9 straight tail", 9, "the tail a straight line down", nine_straight),
    Style("9 curved tail", 9, "the tail bows left as it goes down", nine_curved),
    Style("9 curled tail", 9, "the tail ends in a curl back up", nine_curled),
)
MADE = tuple(style for style in STYLES if style.edit is not None)


def styled(style: Style, digits: list[PenDigit], seed: int = 0) -> list[PenDigit]:
    """The style made from each of these digits that it fits (others give None, left out).

    Deterministic for a seed: each style draws from its own stream, so adding a style
    changes no other style's drawings."""
    if style.edit is None:
        raise ValueError(f"{style.name} is not made by a stroke edit: {style.skipped}")
    rng = np.random.default_rng([seed, STYLES.index(style)])
    made = (style.edit(d, rng) for d in digits if d.label == style.digit)
    return [d for d in made if d is not None]


def style_drawings(
    group: str, seed: int = 0, names: tuple[str, ...] | None = None
) -> dict[str, handdrawn.Drawings]:
    """Each made style (or those named) from the group's writers only, drawn as on the
    canvas (cached)."""
    digits: list[PenDigit] = []

    def build(style: Style) -> handdrawn.Drawings:
        if not digits:  # parse the pen data once, and only when a set is not cached
            digits.extend(handdrawn.writer_digits(group))
        return handdrawn.as_canvas_drawings(styled(style, digits, seed))

    return {
        style.name: handdrawn.cached_drawings(
            f"style-g{GENERATION}-{group}-{style.slug}-{seed}", lambda s=style: build(s)
        )
        for style in MADE
        if names is None or style.name in names
    }


def training_styles(seed: int = TRAINING_SEED) -> handdrawn.Drawings:
    """Every made style from the TRAINING writers only, each digit twice: as edited, and
    re-slanted and wobbled as another hand might write it (as handdrawn's pen variants), so
    the model meets each style in more than the training writers' seventeen hands (cached).
    """

    def build() -> handdrawn.Drawings:
        digits = handdrawn.writer_digits("train")
        rng = np.random.default_rng([seed, len(STYLES)])
        edited = [d for style in MADE for d in styled(style, digits, seed)]
        slanted = [
            PenDigit(d.label, d.writer, tuple(notdigits.distort(list(d.strokes), rng)), d.index)
            for d in edited
        ]
        return handdrawn.as_canvas_drawings(edited + slanted)

    return handdrawn.cached_drawings(f"style-g{GENERATION}-train-extras-{seed}", build)
