"""Training-time augmentation that imitates how people draw on a canvas.

People draw digits tilted, slanted, too big or small, off-centre and with pens thicker or
thinner than MNIST's. Each batch gets a random mix of all of those, applied on the fly so
every epoch sees new variants.
"""

from __future__ import annotations

import keras
import tensorflow as tf


def build_augmenter(seed: int) -> keras.Sequential:
    """Geometric jitter: rotation +-12 degrees, shear, zoom +-15%, shift +-2 pixels."""
    return keras.Sequential(
        [
            keras.layers.RandomRotation(12 / 360, fill_mode="constant", seed=seed),
            keras.layers.RandomShear(x_factor=0.15, y_factor=0.0, fill_mode="constant", seed=seed),
            keras.layers.RandomZoom(0.15, fill_mode="constant", seed=seed),
            keras.layers.RandomTranslation(2 / 28, 2 / 28, fill_mode="constant", seed=seed),
        ],
        name="augmenter",
    )


def vary_thickness(images: tf.Tensor, seed: int) -> tf.Tensor:
    """Thicken or thin each stroke by up to one pixel, chosen per image.

    A 3x3 max filter is a dilation (thicker pen); the max filter of the negative is an
    erosion (thinner pen). Each image blends towards one of them by a random amount.
    """
    thick = tf.nn.max_pool2d(images, 3, 1, "SAME")
    thin = -tf.nn.max_pool2d(-images, 3, 1, "SAME")
    amount = tf.random.uniform([tf.shape(images)[0], 1, 1, 1], -1.0, 1.0, seed=seed)
    thicker = tf.nn.relu(amount) * (thick - images)
    thinner = tf.nn.relu(-amount) * 0.6 * (thin - images)
    return tf.clip_by_value(images + thicker + thinner, 0.0, 1.0)


def make_augment_fn(seed: int):
    """A tf.data map function over (images, labels) batches."""
    augmenter = build_augmenter(seed)

    def augment(images: tf.Tensor, labels: tf.Tensor):
        images = augmenter(images, training=True)
        return vary_thickness(images, seed), labels

    return augment
