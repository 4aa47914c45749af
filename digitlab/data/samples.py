"""The sample gallery: pen-written digits that ship with DigitLab, to try without a mouse.

Two of each digit from the held-out TEST writers (digitlab.data.handdrawn), so no shipped model
trained on them, chosen once with a fixed seed and drawn exactly as the canvas draws: a
sample reaches the model by the same road as a drawing (preprocess, then predict).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from digitlab.data.handdrawn import TEST_WRITERS, NoPenDigits
from digitlab.data.pendigits import (
    default_pendigits_path,
    parse_pendigits,
    rasterize,
    sample_balanced,
)

PER_DIGIT = 2
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

    @property
    def name(self) -> str:
        return f"a {self.label} by writer {self.writer}"


@functools.cache  # parsing the whole file takes about a second: once per process
def gallery() -> tuple[Sample, ...]:
    """The samples, ordered by digit; raises NoPenDigits when the file is missing."""
    path = default_pendigits_path()
    if path is None or not path.is_file():
        raise NoPenDigits(f"The pen-written digits file is missing (looked for {path}).")
    held_out = [digit for digit in parse_pendigits(path) if digit.writer in TEST_WRITERS]
    chosen = sample_balanced(held_out, PER_DIGIT, seed=SEED)
    samples = []
    for digit in chosen:
        image = rasterize(digit)
        image.setflags(write=False)  # shared by every session: nobody may draw on it
        samples.append(Sample(digit.label, digit.writer, image))
    return tuple(samples)
