"""Photos and scans of a digit on paper: uneven light, grey paper, noise, blur, rotation.

The photos are generated from held-out writers' pen strokes, so the digit is known; the
lighting is what a phone camera gives a sheet of paper under a desk lamp.
"""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageFilter

from digitlab import store
from digitlab.data import handdrawn
from digitlab.data.pendigits import PenDigit, rasterize, sample_balanced
from digitlab.data.preprocess import preprocess
from digitlab.inference.predict import load_predictor
from digitlab.zoo.registry import DEFAULT_MODEL

PHOTOS_PER_DIGIT = 6
ACCURACY_FLOOR = 0.93  # measured 0.98 to 1.0 here; the photos are harder than the canvas


def photograph(digit: PenDigit, rng: np.random.Generator, gradient: float = 30.0) -> np.ndarray:
    """An RGB photo (uint8) of the digit in dark ink on paper, lit unevenly."""
    height, width = 360, 480
    ink = rasterize(digit, size=240)[..., 3].astype(np.float32) / 255  # the strokes, 0..1
    sheet = np.zeros((height, width), np.float32)
    top, left = rng.integers(40, height - 280), rng.integers(60, width - 300)
    sheet[top : top + 240, left : left + 240] = ink
    sheet = np.asarray(
        Image.fromarray(sheet).rotate(rng.uniform(-8, 8), resample=Image.Resampling.BILINEAR)
    )
    y = np.linspace(-1, 1, height)[:, None]
    x = np.linspace(-1, 1, width)[None, :]
    angle = rng.uniform(0, 2 * np.pi)
    paper = rng.uniform(150, 225)  # white to grey paper
    light = gradient * (np.cos(angle) * x + np.sin(angle) * y)  # +-30 grey levels
    light -= rng.uniform(0, 25) * (x**2 + y**2)  # a vignette
    grey = paper + light
    ink_level = rng.uniform(25, 70)
    grey = grey * (1 - sheet) + ink_level * sheet
    grey += rng.normal(0, rng.uniform(2, 6), grey.shape)  # sensor noise
    image = Image.fromarray(np.clip(grey, 0, 255).astype(np.uint8))
    image = image.filter(ImageFilter.GaussianBlur(rng.uniform(0.5, 1.5)))
    tint = np.array([1.0, 0.97, 0.9]) * rng.uniform(0.95, 1.0)  # warm lamp light
    return np.clip(np.asarray(image, np.float32)[..., None] * tint, 0, 255).astype(np.uint8)


@pytest.fixture(scope="module")
def photos():
    rng = np.random.default_rng(11)
    digits = sample_balanced(handdrawn.writer_digits("test"), PHOTOS_PER_DIGIT, seed=3)
    return [(digit.label, photograph(digit, rng)) for digit in digits]


def test_a_photo_on_unevenly_lit_paper_is_read_like_the_clean_drawing(photos):
    predictor = load_predictor(store.shipped_run(DEFAULT_MODEL))
    right = sum(predictor.predict_image(photo).label == label for label, photo in photos)
    assert right / len(photos) >= ACCURACY_FLOOR, f"{right} of {len(photos)} photos read right"


def test_the_lighting_is_taken_out_before_the_ink_is_found():
    """A gradient of +-30 grey levels across the page once made the dark edge count as ink:
    the digit shrank to a few pixels in one corner. Now the ink box is the digit's."""
    rng = np.random.default_rng(0)
    digit = sample_balanced(handdrawn.writer_digits("test"), 1, seed=0)[8]
    photo = photograph(digit, rng, gradient=30.0)
    clean = preprocess(np.repeat(255 - rasterize(digit)[..., 3:], 3, axis=2)).image
    lit = preprocess(photo).image
    assert not preprocess(photo).blank
    # The same digit both ways: most of the ink in the same places.
    overlap = np.minimum(clean, lit).sum() / np.maximum(clean, lit).sum()
    assert overlap > 0.5, overlap


def test_evenly_lit_paper_is_left_as_it_was():
    paper = np.full((100, 100), 200, np.uint8)
    paper[30:70, 48:52] = 20  # a "1"
    image = preprocess(paper).image
    assert image.max() == pytest.approx(1.0) and (image > 0.5).sum() > 20
