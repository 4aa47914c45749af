"""The Augmentation panel's preview: the same 8 MNIST training digits, each beside a few
random draws at the panel's strengths, made by the function training maps over its batches
(data/augment.preview). TensorFlow is imported only once a preview is asked for: the Draw
page never pays for it."""

from __future__ import annotations

import numpy as np
import streamlit as st

from digitlab.data import browse
from digitlab.data.mnist import DataError, load_mnist
from digitlab.ui import charts
from digitlab.zoo.config import AUGMENT_STRENGTHS, TrainConfig

# Pairs a distortion can turn into each other (6 and 9, 1 and 7, 3 and 8) are all here.
PREVIEW_DIGITS = (1, 2, 3, 4, 6, 7, 8, 9)
DRAWS = 4  # random draws beside each digit: the sidebar fits five small columns
SEED = (0, 0)  # the same draws every time: moving a slider changes only its own distortion
SCALE = 2  # screen pixels per digit pixel
GAP = 2  # white pixels between the small images


@st.cache_data(show_spinner="Loading 8 MNIST digits...")
def preview_digits() -> np.ndarray:
    """The first MNIST training image of each PREVIEW_DIGITS, as [0, 1] floats (n, 28, 28):
    MNIST is read once per server, not per slider move."""
    mnist = load_mnist()
    chosen = browse.first_of_each(mnist.y_train, PREVIEW_DIGITS)
    return (mnist.x_train[chosen] / 255.0).astype(np.float32)


def mosaic(digits: np.ndarray, draws: np.ndarray) -> np.ndarray:
    """One greyscale picture: a row per digit, the digit first, then its draws."""
    rows = np.concatenate([digits[:, None], draws], axis=1)  # (n, 1 + draws, side, side)
    tiles = charts.thumbnail(rows, SCALE)  # dark ink on white, each pixel a SCALE square
    count, columns = rows.shape[:2]
    side = rows.shape[-1] * SCALE
    picture = np.full((count * (side + GAP) - GAP, columns * (side + GAP) - GAP), 255, np.uint8)
    for row in range(count):
        for column in range(columns):
            top, left = row * (side + GAP), column * (side + GAP)
            picture[top : top + side, left : left + side] = tiles[row, column]
    return picture


@st.cache_resource(show_spinner="Loading TensorFlow for the preview (once per server)...")
def _augment():
    """data/augment, imported on the first preview: it brings TensorFlow (seconds)."""
    from digitlab.data import augment

    return augment


@st.cache_data(max_entries=64, show_spinner=False)
def preview_image(strengths: tuple[float, ...]) -> str:
    """The preview at these strengths (AUGMENT_STRENGTHS's order) as a PNG data URI; a
    strength set seen before is not drawn again."""
    augment = _augment()
    config = TrainConfig(model="cnn", **dict(zip(AUGMENT_STRENGTHS, strengths, strict=True)))
    digits = preview_digits()
    return charts.png_data_uri(mosaic(digits, augment.preview(digits, config, DRAWS, SEED)))


def show(config: TrainConfig) -> None:
    """The preview at `config`'s strengths, with what it shows."""
    strengths = tuple(float(getattr(config, name)) for name in AUGMENT_STRENGTHS)
    try:
        uri = preview_image(strengths)
    except DataError as error:
        st.error(f"The preview needs MNIST's training images. {error}")
        return
    st.image(uri, caption=f"Each digit as MNIST has it, then {DRAWS} random draws.")
