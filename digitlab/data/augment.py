"""Training-time augmentation that imitates how people draw on a canvas.

People draw digits tilted, slanted, too big or small, off-centre, wobbly and with pens
thicker or thinner than MNIST's. Each batch gets a random mix of all of those, applied on
the fly so every epoch sees new variants. How strong each one is comes from the training
config (TrainConfig's aug_* fields, config.AUGMENT_STRENGTHS).

One function does it, `distort`: the training pipeline maps it over its batches, and the
Data page's preview calls it on a few digits. It is one TensorFlow graph, traced once per
process with the strengths as inputs, so a preview at new strengths costs milliseconds,
not a new trace.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import tensorflow as tf

from digitlab.zoo.config import AUGMENT_STRENGTHS, TrainConfig

# The strengths are in pixels of a 28 x 28 digit; a 20 x 20 model's are scaled to its size,
# so the same setting distorts its digits as much.
MNIST_SIDE = 28.0


def strengths(config: TrainConfig) -> np.ndarray:
    """The config's strengths as `distort` takes them, in AUGMENT_STRENGTHS's order."""
    return np.array([getattr(config, name) for name in AUGMENT_STRENGTHS], np.float32)


@tf.function(
    input_signature=[
        tf.TensorSpec([None, None, None, 1], tf.float32),  # images, ink in [0, 1]
        tf.TensorSpec([len(AUGMENT_STRENGTHS)], tf.float32),  # strengths(config)
        tf.TensorSpec([2], tf.int64),  # a stateless seed: equal seeds, equal distortions
    ]
)
def distort(images: tf.Tensor, strength: tf.Tensor, seed: tf.Tensor) -> tf.Tensor:
    """Each image turned, slanted, zoomed, shifted, bent elastically and drawn with a
    thicker or thinner pen, each by a random amount up to its strength. The geometric steps
    and the elastic field move where each pixel is read from, so the image is resampled
    once (fewer passes, less blur)."""
    rotation, shift, zoom, shear, alpha, sigma, thicker, thinner = tf.unstack(strength)
    shape = tf.shape(images)
    batch, height, width = shape[0], shape[1], shape[2]
    scale = tf.cast(width, tf.float32) / MNIST_SIDE
    draw_seeds = tf.random.experimental.stateless_split(seed, 7)

    def draw(index: int) -> tf.Tensor:
        """One number per image, uniform in [-1, 1]."""
        return tf.random.stateless_uniform([batch, 1, 1], draw_seeds[index], -1.0, 1.0)

    angle = draw(0) * rotation * (math.pi / 180)
    slant = draw(1) * shear
    size = 1.0 + draw(2) * zoom
    across, down = draw(3) * shift * scale, draw(4) * shift * scale

    # Where each output pixel reads from: around the centre, the inverse of a zoom, a
    # rotation and a horizontal shear (all symmetric, so their inverses are as random).
    centre_y = (tf.cast(height, tf.float32) - 1) / 2
    centre_x = (tf.cast(width, tf.float32) - 1) / 2
    y = tf.cast(tf.range(height), tf.float32)[None, :, None] - centre_y
    x = tf.cast(tf.range(width), tf.float32)[None, None, :] - centre_x
    x = x + slant * y
    cos, sin = tf.cos(angle), tf.sin(angle)
    cols = (cos * x - sin * y) / size + centre_x - across
    rows = (sin * x + cos * y) / size + centre_y - down

    if alpha > 0:  # a tf.cond: without elastic distortion, no field to draw and smooth
        field = _elastic_field(batch, height, width, sigma * scale, draw_seeds[5])
        rows = rows + alpha * scale * field[..., 0]
        cols = cols + alpha * scale * field[..., 1]
    images = _sample_bilinear(images, rows, cols)
    return _vary_thickness(images, thicker, thinner, draw_seeds[6])


def _elastic_field(batch, height, width, sigma, seed) -> tf.Tensor:
    """Simard et al.'s elastic distortion (2003): a displacement per pixel, uniform in
    [-1, 1], smoothed by a Gaussian of `sigma` pixels: (batch, height, width, 2). A small
    sigma makes the strokes wobble, a large one bends the whole digit."""
    field = tf.random.stateless_uniform(tf.stack([batch, height, width, 2]), seed, -1.0, 1.0)
    # The Gaussian as a matrix per axis (zero beyond the edges): two small matrix products
    # smooth a 28 x 28 field many times faster than a wide convolution on this CPU.
    return tf.einsum("ij,bjkc,lk->bilc", _gaussian(height, sigma), field, _gaussian(width, sigma))


def _gaussian(side, sigma) -> tf.Tensor:
    """(side, side): row i holds the Gaussian weights of every pixel j around i."""
    positions = tf.cast(tf.range(side), tf.float32)
    offsets = positions[:, None] - positions[None, :]
    weights = tf.exp(-tf.square(offsets) / (2 * tf.square(sigma)))
    return weights / (math.sqrt(2 * math.pi) * sigma)  # the whole Gaussian's sum: 1


def _sample_bilinear(images: tf.Tensor, rows: tf.Tensor, cols: tf.Tensor) -> tf.Tensor:
    """images (batch, height, width, 1) read at fractional (rows, cols), each (batch,
    height, width); positions outside the image read 0 (no ink)."""
    shape = tf.shape(images)
    height, width = shape[1], shape[2]
    flat = tf.reshape(images, [shape[0], -1])
    top, left = tf.floor(rows), tf.floor(cols)
    below, right = rows - top, cols - left
    top, left = tf.cast(top, tf.int32), tf.cast(left, tf.int32)

    def pixel(row: tf.Tensor, col: tf.Tensor) -> tf.Tensor:
        inside = (row >= 0) & (row < height) & (col >= 0) & (col < width)
        index = tf.clip_by_value(row, 0, height - 1) * width + tf.clip_by_value(col, 0, width - 1)
        values = tf.gather(flat, tf.reshape(index, [shape[0], -1]), batch_dims=1)
        return tf.reshape(values, tf.shape(row)) * tf.cast(inside, images.dtype)

    mixed = (
        pixel(top, left) * (1 - below) * (1 - right)
        + pixel(top, left + 1) * (1 - below) * right
        + pixel(top + 1, left) * below * (1 - right)
        + pixel(top + 1, left + 1) * below * right
    )
    return mixed[..., None]


def _vary_thickness(images: tf.Tensor, thicker, thinner, seed) -> tf.Tensor:
    """Thicken or thin each stroke, chosen per image.

    A 3x3 max filter is a dilation (thicker pen); the max filter of the negative is an
    erosion (thinner pen). Each image blends towards one of them by a random amount, up to
    `thicker` of the way to the dilation or `thinner` of the way to the erosion.
    """
    thick = tf.nn.max_pool2d(images, 3, 1, "SAME")
    thin = -tf.nn.max_pool2d(-images, 3, 1, "SAME")
    amount = tf.random.stateless_uniform([tf.shape(images)[0], 1, 1, 1], seed, -1.0, 1.0)
    grown = tf.nn.relu(amount) * thicker * (thick - images)
    shrunk = tf.nn.relu(-amount) * thinner * (thin - images)
    return tf.clip_by_value(images + grown + shrunk, 0.0, 1.0)


def batch_seeds(seed: int) -> tf.data.Dataset:
    """An endless stream of stateless seeds, one per batch: new ones each epoch, the same
    ones for the same training seed."""
    return tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True).batch(
        2, drop_remainder=True
    )


def augment_batches(batches: tf.data.Dataset, config: TrainConfig) -> tf.data.Dataset:
    """(images, labels) batches, each distorted by `distort` at the config's strengths."""
    strength = tf.constant(strengths(config))
    seeded = tf.data.Dataset.zip(batches, batch_seeds(config.seed))
    return seeded.map(
        lambda batch, seed: (distort(batch[0], strength, seed), batch[1]),
        num_parallel_calls=tf.data.AUTOTUNE,
    )


def preview(
    digits: np.ndarray, config: TrainConfig, draws: int, seed: Sequence[int] = (0, 0)
) -> np.ndarray:
    """`draws` random distortions of each digit (n, side, side floats in [0, 1]) at the
    config's strengths, as (n, draws, side, side): the Data page's grid, one batch. The same
    seed gives the same draws, so moving one strength changes only what it controls."""
    digits = np.asarray(digits, np.float32)
    batch = np.repeat(digits, draws, axis=0)[..., None]
    out = distort(batch, strengths(config), tf.constant(seed, tf.int64)).numpy()
    return out[..., 0].reshape(len(digits), draws, *digits.shape[1:])
