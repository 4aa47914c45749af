"""The same pen digits as other devices would deliver them.

A tablet that samples less or more often, a noisy digitiser, a thinner or thicker pen, a
digit written small or large in the box, a page held slightly askew. Each variant changes
only that: the strokes' points (sampling, jitter, rotation) or how they are drawn (the
pen's width, the margin), so a drop in accuracy names its cause.
"""

from __future__ import annotations

import functools
import operator
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from digitlab.data import handdrawn, notdigits
from digitlab.data.pendigits import PenDigit

GENERATION = 1  # bump when a variant changes, so cached sets are built again
TRAINING_SEED = 1  # the training extras' own draw of devices (and of their not-digits)
TRAINING_NOT_DIGITS = 16_000
TRAINING_COPIES = 2  # each training digit on this many devices, picked at random
_Points = Callable[[np.ndarray, float, np.random.Generator], np.ndarray]


def _sparse(stroke: np.ndarray, height: float, rng: np.random.Generator) -> np.ndarray:
    # Every other point (200 ms instead of the tablet's 100 ms), the last kept.
    return stroke if len(stroke) < 3 else np.concatenate([stroke[:-1:2], stroke[-1:]])


def _dense(stroke: np.ndarray, height: float, rng: np.random.Generator) -> np.ndarray:
    """Four points per segment on a Catmull-Rom curve through the samples: the smooth path
    a fast-sampling device records, where a slow one cuts corners with straight lines."""
    if len(stroke) < 3:
        return stroke
    padded = np.concatenate([stroke[:1], stroke, stroke[-1:]]).astype(np.float64)
    t = np.linspace(0, 1, 4, endpoint=False)[:, None]
    pieces = []
    for i in range(1, len(padded) - 2):
        p0, p1, p2, p3 = padded[i - 1 : i + 3]
        pieces.append(
            0.5
            * (
                2 * p1
                + (p2 - p0) * t
                + (2 * p0 - 5 * p1 + 4 * p2 - p3) * t**2
                + (3 * p1 - p0 - 3 * p2 + p3) * t**3
            )
        )
    return np.concatenate([*pieces, stroke[-1:]])


def _jittered(stroke: np.ndarray, height: float, rng: np.random.Generator) -> np.ndarray:
    return stroke + rng.normal(0, 0.015 * height, stroke.shape)


def _rotated(strokes: tuple[np.ndarray, ...], rng: np.random.Generator) -> list[np.ndarray]:
    angle = np.radians(rng.uniform(6, 12) * rng.choice([-1, 1]))
    turn = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    centre = np.concatenate(strokes).mean(axis=0)
    return [(stroke - centre) @ turn.T + centre for stroke in strokes]


@dataclass(frozen=True)
class Device:
    """One way a device delivers a digit: a change of its points, or of how it is drawn."""

    name: str
    points: _Points | None = None  # per stroke, with the digit's height
    rotate: bool = False
    draw: dict = field(default_factory=dict)  # stroke_width / margin for rasterize


DEVICES: tuple[Device, ...] = (
    Device("sparse points", points=_sparse),
    Device("dense points", points=_dense),
    Device("jittered points", points=_jittered),
    Device("thin strokes", draw={"stroke_width": 10}),  # the canvas's pen is 20 px of 280
    Device("thick strokes", draw={"stroke_width": 34}),
    Device("small in the box", draw={"margin": 0.36}),  # the digit 28% of the box's height
    Device("large in the box", draw={"margin": 0.02}),
    Device("slightly rotated", rotate=True),  # 6 to 12 degrees, either way
)


def on_device(device: Device, digit: PenDigit, rng: np.random.Generator) -> PenDigit:
    """The digit's strokes as this device records them (its drawing settings apart)."""
    strokes = list(digit.strokes)
    if device.rotate:
        strokes = _rotated(digit.strokes, rng)
    if device.points is not None:
        height = float(np.ptp(np.concatenate(strokes), axis=0).max())
        strokes = [device.points(stroke, height, rng) for stroke in strokes]
    typed = tuple(np.asarray(stroke, np.float32) for stroke in strokes)
    return PenDigit(digit.label, digit.writer, typed, digit.index)


def device_drawings(group: str = "test", seed: int = 0) -> dict[str, handdrawn.Drawings]:
    """Each device's version of the group's digits, drawn as on the canvas (cached)."""
    digits: list[PenDigit] = []

    def build(device: Device) -> handdrawn.Drawings:
        if not digits:  # parse the pen data only when a set is not cached
            digits.extend(handdrawn.writer_digits(group))
        rng = np.random.default_rng([seed, DEVICES.index(device)])
        varied = [on_device(device, digit, rng) for digit in digits]
        return handdrawn.as_canvas_drawings(varied, **device.draw)

    return {
        device.name: handdrawn.cached_drawings(
            f"device-g{GENERATION}-{group}-{device.name.replace(' ', '-')}-{seed}",
            lambda d=device: build(d),
        )
        for device in DEVICES
    }


def on_random_devices(drawings: list[PenDigit], rng: np.random.Generator) -> handdrawn.Drawings:
    """Each drawing as one device, picked at random, delivers it (grouped by device)."""
    picked = rng.integers(len(DEVICES), size=len(drawings))
    parts = []
    for index, device in enumerate(DEVICES):
        varied = [
            on_device(device, d, rng) for d, p in zip(drawings, picked, strict=True) if p == index
        ]
        if varied:
            parts.append(handdrawn.as_canvas_drawings(varied, **device.draw))
    return functools.reduce(operator.add, parts)


def training_devices(seed: int = TRAINING_SEED) -> handdrawn.Drawings:
    """The TRAINING writers' digits, each as TRAINING_COPIES random devices deliver it, and
    not-digits made from them, each on one: so a thick pen, a small digit or a coarse tablet
    is met in training, on writers the figures never come from (cached)."""

    def build() -> handdrawn.Drawings:
        digits = handdrawn.writer_digits("train")
        rng = np.random.default_rng([seed, len(DEVICES)])
        not_digits = notdigits.synthetic(TRAINING_NOT_DIGITS, digits, seed=100 + seed)
        return on_random_devices(digits * TRAINING_COPIES, rng) + on_random_devices(not_digits, rng)

    made = f"x{TRAINING_COPIES}-{TRAINING_NOT_DIGITS}v{notdigits.VERSION}"
    name = f"device-g{GENERATION}-train-extras-{seed}-{made}"
    return handdrawn.cached_drawings(name, build)
