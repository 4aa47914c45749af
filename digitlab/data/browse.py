"""What the network is fed, to look at: the sources of training images, filtered and paged,
their class balance and mean digits, and the normalisation steps of one image.

The sources are what the default recipe trains on: MNIST's 60,000 training images, and the
pen-written digits and not-a-digit drawings `handdrawn.training_extras` adds (the same call
training makes, so what is shown is what is trained on). No Streamlit here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from digitlab.data import handdrawn
from digitlab.data.mnist import load_mnist
from digitlab.data.notdigits import NOT_A_DIGIT

MNIST_TRAIN, PEN_DIGITS, NOT_DIGITS = "mnist", "pen", "not_digits"
SOURCE_TITLES = {
    MNIST_TRAIN: "MNIST training set",
    PEN_DIGITS: "Pen-written training digits",
    NOT_DIGITS: "Not-a-digit drawings",
}
SOURCE_NOTES = {
    MNIST_TRAIN: "scanned digits by 250 writers, centred in 28x28",
    PEN_DIGITS: "the training writers' pendigits strokes drawn as on the canvas, as written "
    "and once re-slanted",
    NOT_DIGITS: "letters, scribbles, shapes and digit pairs: what a model learns to abstain on",
}
# The mean and standard deviation of MNIST's training pixels in [0, 1]: the usual
# `Normalize((0.1307,), (0.3081,))` of the tutorials (tests check them against the data).
MNIST_MEAN, MNIST_STD = 0.1307, 0.3081


@dataclass(frozen=True)
class Source:
    """A set of training images: uint8 (N, 28, 28), ink bright, and labels (-1: not a digit)."""

    name: str
    images: np.ndarray
    labels: np.ndarray

    @property
    def title(self) -> str:
        return SOURCE_TITLES[self.name]

    def __len__(self) -> int:
        return len(self.labels)


def load_source(name: str) -> Source:
    """One source as training reads it (raises DataError without MNIST, NoPenDigits without
    the pendigits file)."""
    if name == MNIST_TRAIN:
        mnist = load_mnist()
        return Source(name, mnist.x_train, mnist.y_train.astype(np.int64))
    if name not in SOURCE_TITLES:
        raise ValueError(f"unknown source {name!r}; the sources are {', '.join(SOURCE_TITLES)}")
    extras = handdrawn.training_extras(pen=name == PEN_DIGITS, not_a_digit=name == NOT_DIGITS)
    return Source(name, extras.images, extras.labels)


def matching(labels: np.ndarray, digit: int | None) -> np.ndarray:
    """The indices of the images with this label (None: all of them), in order."""
    if digit is None:
        return np.arange(len(labels))
    return np.flatnonzero(np.asarray(labels) == digit)


def first_of_each(labels: np.ndarray, digits: tuple[int, ...]) -> np.ndarray:
    """The index of each digit's first image, in `digits`' order."""
    return np.array([np.flatnonzero(labels == digit)[0] for digit in digits])


def page_count(count: int, per_page: int) -> int:
    """How many pages `count` items fill (at least one, even when empty)."""
    return max(1, math.ceil(count / per_page))


def page_of(indices: np.ndarray, page: int, per_page: int) -> np.ndarray:
    """Page `page` (from 1) of the indices; past the last page, the last one."""
    page = min(max(page, 1), page_count(len(indices), per_page))
    return indices[(page - 1) * per_page : page * per_page]


def class_balance(labels: np.ndarray) -> dict[str, int]:
    """How many images of each digit ("0".."9"), and of "not a digit" when there are any."""
    labels = np.asarray(labels)
    counts = {str(digit): int(np.count_nonzero(labels == digit)) for digit in range(10)}
    others = int(np.count_nonzero(labels == NOT_A_DIGIT))
    if others:
        counts["not a digit"] = others
    return counts


def mean_images(images: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """The mean image of each digit, (10, 28, 28) floats in [0, 1]; zeros for a digit with
    no image."""
    labels = np.asarray(labels)
    means = np.zeros((10, *images.shape[1:]), np.float64)
    for digit in range(10):
        chosen = images[labels == digit]
        if len(chosen):
            means[digit] = chosen.mean(axis=0, dtype=np.float64) / 255.0
    return means


@dataclass(frozen=True)
class Step:
    """One image at one step of normalisation, with its range."""

    name: str
    formula: str
    values: np.ndarray

    @property
    def low(self) -> float:
        return float(self.values.min())

    @property
    def high(self) -> float:
        return float(self.values.max())


def normalisation_steps(image: np.ndarray) -> list[Step]:
    """One uint8 image as stored, as the [0, 1] floats every model here reads, and
    standardised with MNIST's mean and standard deviation (as many tutorials feed it)."""
    raw = np.asarray(image, np.uint8)
    unit = raw.astype(np.float64) / 255.0
    return [
        Step("Raw bytes", "uint8, 0 = no ink, 255 = full ink", raw),
        Step("[0, 1] floats", "x / 255", unit),
        Step(
            "Standardised",
            f"(x / 255 - {MNIST_MEAN}) / {MNIST_STD}",
            (unit - MNIST_MEAN) / MNIST_STD,
        ),
    ]


def pixel_stats(images: np.ndarray) -> tuple[float, float]:
    """The mean and standard deviation of all pixels of uint8 images, as [0, 1] values
    (from the histogram of the 256 byte values: exact, and no float copy of the images)."""
    counts = np.bincount(np.asarray(images, np.uint8).ravel(), minlength=256)
    values = np.arange(256) / 255.0
    mean = float(counts @ values) / counts.sum()
    variance = float(counts @ np.square(values)) / counts.sum() - mean**2
    return mean, math.sqrt(variance)
