"""The sample gallery: pen-written digits that ship with DigitLab, to try without a mouse.

Two of each digit from the held-out TEST writers (digitlab.data.handdrawn), so no shipped model
trained on them, chosen once with a fixed seed and drawn exactly as the canvas draws: a
sample reaches the model by the same road as a drawing (preprocess, then predict). After
them, one digit in each of a few other ways of writing it (a slashed 0, a crossed 7...: the
same held-out writers' strokes edited as digitlab.data.styles does).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from digitlab.data import styles
from digitlab.data.handdrawn import TEST_WRITERS, NoPenDigits
from digitlab.data.pendigits import (
    default_pendigits_path,
    parse_pendigits,
    rasterize,
    sample_balanced,
)

PER_DIGIT = 2
# The styles the gallery shows one of: those the pendigits writers rarely use themselves.
STYLED = ("0 slashed", "1 flag and base", "2 looped", "4 closed", "7 crossed", "9 curled tail")
SEED = 0  # fixed: everyone sees the same gallery, and the tests know what it holds
ATTRIBUTION = (
    'Samples from "Pen-Based Recognition of Handwritten Digits", E. Alpaydin and '
    "F. Alimoglu (UCI Machine Learning Repository, https://doi.org/10.24432/C5MG6K), "
    "CC BY 4.0; written by people no shipped model trained on."
)


@dataclass(frozen=True, eq=False)  # eq=False: arrays make field-wise equality ambiguous
class Sample:
    """One gallery digit: what the person wrote, who wrote it, and how the canvas draws it."""

    label: int
    writer: int
    image: np.ndarray  # RGBA uint8, canvas-sized, ink in alpha: as the canvas returns it
    style: str = ""  # a styles.STYLES name ("0 slashed"), or "" as the writer wrote it

    @property
    def name(self) -> str:
        if self.style:
            return f"a {self.style} by writer {self.writer}"
        return f"a {self.label} by writer {self.writer}"


@functools.cache  # parsing the whole file takes about a second: once per process
def gallery() -> tuple[Sample, ...]:
    """The samples, ordered by digit; raises NoPenDigits when the file is missing."""
    path = default_pendigits_path()
    if path is None or not path.is_file():
        raise NoPenDigits(f"The pen-written digits file is missing (looked for {path}).")
    held_out = [digit for digit in parse_pendigits(path) if digit.writer in TEST_WRITERS]
    chosen = [(digit, "") for digit in sample_balanced(held_out, PER_DIGIT, seed=SEED)]
    rng = np.random.default_rng(SEED)
    for style in (s for s in styles.STYLES if s.name in STYLED):
        made = styles.styled(style, held_out, SEED)
        chosen.append((made[int(rng.integers(len(made)))], style.name))
    samples = []
    for digit, style in chosen:
        image = rasterize(digit)
        image.setflags(write=False)  # shared by every session: nobody may draw on it
        samples.append(Sample(digit.label, digit.writer, image, style))
    return tuple(samples)
