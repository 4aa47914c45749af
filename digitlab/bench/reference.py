"""The reference: the Keras "Simple MNIST convnet" example trained as it is published, and
the figures that compare any training with it (images per second, GFLOP/s)."""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from digitlab.bench.options import BenchOptions

REFERENCE_TARGET = 0.992  # the accuracy the Keras example reports after 15 epochs
REFERENCE_MAX_EPOCHS = 15


def build_reference():
    """The Keras example: Conv 32, MaxPool, Conv 64, MaxPool, Flatten, Dropout 0.5, Dense 10."""
    import keras
    from keras import layers

    return keras.Sequential(
        [
            keras.Input((28, 28, 1)),
            layers.Conv2D(32, 3, activation="relu"),
            layers.MaxPooling2D(),
            layers.Conv2D(64, 3, activation="relu"),
            layers.MaxPooling2D(),
            layers.Flatten(),
            layers.Dropout(0.5),
            layers.Dense(10, activation="softmax"),
        ]
    )


def bench_reference(options: BenchOptions) -> dict[str, Any]:
    """Train the reference (Adam, batch 128, 10% validation) until 99.2% test accuracy."""
    import keras

    from digitlab.data.mnist import load_mnist

    mnist = load_mnist()
    x_train = mnist.x_train[: options.train_samples, ..., None].astype(np.float32) / 255.0
    y_train = mnist.y_train[: options.train_samples]
    x_test = mnist.x_test[..., None].astype(np.float32) / 255.0
    keras.utils.set_random_seed(0)
    model = build_reference()
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    max_epochs = 1 if options.quick else REFERENCE_MAX_EPOCHS
    training_seconds, accuracy, reached_at = 0.0, 0.0, None
    for epoch in range(1, max_epochs + 1):
        started = time.perf_counter()
        model.fit(x_train, y_train, batch_size=128, epochs=1, validation_split=0.1, verbose=0)
        training_seconds += time.perf_counter() - started
        # The per-epoch check is not training: it is kept out of the clock.
        accuracy = float(model.evaluate(x_test, mnist.y_test, batch_size=1000, verbose=0)[1])
        if accuracy >= REFERENCE_TARGET:
            reached_at = epoch
            break
    images_seen = int(len(x_train) * 0.9) * epoch  # fit holds out 10% for validation
    return {
        **training_speed(model, images_seen, training_seconds),
        "seconds_to_target": round(training_seconds, 1) if reached_at else None,
        "training_seconds": round(training_seconds, 1),
        "epochs": epoch,
        "reached_target": reached_at is not None,
        "accuracy": accuracy,
    }


def forward_flops(model) -> int:
    """Floating-point operations of one forward pass of one image (convolutions and dense
    layers: two per multiply-add; pooling and activations are negligible)."""
    import keras

    flops = 0
    for layer in model.layers:
        if isinstance(layer, keras.layers.Conv2D):
            _, height, width, filters = layer.output.shape
            kernel = layer.kernel.shape  # (kh, kw, in_channels, filters)
            flops += 2 * height * width * filters * kernel[0] * kernel[1] * kernel[2]
        elif isinstance(layer, keras.layers.Dense):
            flops += 2 * layer.kernel.shape[0] * layer.kernel.shape[1]
    return int(flops)


def training_speed(model, images_seen: int, seconds: float) -> dict[str, float]:
    """Images per second and the GFLOP/s they mean (a training step is ~3 forward passes)."""
    per_second = images_seen / seconds if seconds > 0 else 0.0
    return {
        "images_per_second": round(per_second),
        "gflops": round(3 * forward_flops(model) * per_second / 1e9, 1),
    }


def machine_gflops(size: int = 2048, repeats: int = 5) -> float:
    """This machine's float32 matrix-multiply GFLOP/s (numpy's BLAS, all cores; median)."""
    a = np.random.default_rng(0).random((size, size), dtype=np.float32)
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        a @ a
        times.append(time.perf_counter() - started)
    return round(2 * size**3 / float(np.median(times)) / 1e9, 1)
