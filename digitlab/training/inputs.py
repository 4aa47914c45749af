"""What a model trains on: MNIST's training images plus the extras a config asks for, the
labels in the form its loss wants, and the augmented batches."""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from digitlab.data import devices, handdrawn, styles
from digitlab.data import mnist as data
from digitlab.data.augment import augment_batches
from digitlab.data.batch import model_batch
from digitlab.data.notdigits import NOT_A_DIGIT
from digitlab.training.compile import one_hot_labels
from digitlab.zoo.config import MNIST_TRAIN_SIZE, TrainConfig
from digitlab.zoo.registry import CLASSIFICATION


def loss_labels(y: np.ndarray, config: TrainConfig) -> np.ndarray:
    """Labels as the loss wants them: digits, one-hot rows or numbers. A not-a-digit
    drawing's row is flat, 0.1 each: "no digit more than another" (outlier exposure)."""
    if config.model_spec.task != CLASSIFICATION:
        return y.astype(np.float32)
    if one_hot_labels(config):
        rows = np.vstack([np.eye(10, dtype=np.float32), np.full(10, 0.1, np.float32)])
        return rows[np.where(y == NOT_A_DIGIT, 10, y)]
    return y.astype(np.int32)


def extras_for(config: TrainConfig) -> handdrawn.Drawings:
    """The drawings the config adds to MNIST, in proportion to the share of MNIST it trains
    on: all of them from the training writers (or synthetic), none from the writers that
    choose the threshold or are held out for the figures."""
    return handdrawn.training_extras(
        config.pen_digits,
        config.not_digits,
        share=config.train_samples / MNIST_TRAIN_SIZE,
        seed=config.seed,
        more=(
            *((styles.training_styles(),) if config.pen_styles else ()),
            *((devices.training_devices(),) if config.pen_devices else ()),
        ),
    )


def training_data(split: data.Split, config: TrainConfig) -> tuple[np.ndarray, np.ndarray]:
    """MNIST's training images plus what the config adds (extras_for)."""
    extras = extras_for(config)
    if not len(extras):
        return split.x_train, split.y_train
    size = config.model_spec.input_size
    more = model_batch(extras.images, size)
    return (
        np.concatenate([split.x_train, more]),
        np.concatenate([split.y_train.astype(np.int64), extras.labels]),
    )


def augmented(x: np.ndarray, y: np.ndarray, config: TrainConfig) -> tf.data.Dataset:
    """Shuffled batches, each distorted as a whole inside the graph as people draw."""
    dataset = tf.data.Dataset.from_tensor_slices((x, loss_labels(y, config)))
    dataset = dataset.shuffle(len(x), seed=config.seed, reshuffle_each_iteration=True)
    # The Data page's preview draws through the same function (data/augment.py).
    dataset = augment_batches(dataset.batch(config.batch_size), config)
    return dataset.prefetch(tf.data.AUTOTUNE)
