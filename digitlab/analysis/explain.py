"""Look inside a model: saliency, feature maps, an embedding of the test digits, transforms
that probe invariance, the whole zoo's answers side by side, and helpers that pick which
test images to show from an evaluation.

Every function takes plain numpy images (28x28 floats in [0, 1], ink high) and a Keras
model called directly, never through `model.predict` (see digitlab/predict.py).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from PIL import Image, ImageFilter

from digitlab.data import mnist as data
from digitlab.data.batch import model_batch
from digitlab.inference.metrics import model_outputs
from digitlab.inference.predict import Predictor, interpret

IG_STEPS = 64  # integration steps: completeness holds to about 2% on the zoo models
EMBEDDING_DIGITS = 2000
# Layers that finish a convolution block: its feature maps are read after them.
_BLOCK_TAIL = ("BatchNormalization", "Activation", "ReLU")


# --- saliency ------------------------------------------------------------------------------


def integrated_gradients(
    model, inputs: np.ndarray, target: int | None = None, steps: int = IG_STEPS
) -> np.ndarray:
    """Attributions (H, W) of one model output to each pixel of one input (1, H, W, 1).

    Integrated gradients (Sundararajan et al. 2017) from a black image: the gradient
    averaged along the straight path from the baseline, times the pixel's change. The
    attributions add up to output(input) - output(black), which plain gradients do not.
    `target` defaults to the top output: the predicted class, or a regression's value.
    """
    import tensorflow as tf  # late import: the transforms below need no TensorFlow

    image = tf.convert_to_tensor(inputs, tf.float32)
    if target is None:
        target = int(np.argmax(model(image, training=False)[0]))
    alphas = tf.reshape(tf.linspace(0.0, 1.0, steps + 1), (-1, 1, 1, 1))
    path = alphas * image  # every point of the path in one batch
    with tf.GradientTape() as tape:
        tape.watch(path)
        outputs = model(path, training=False)[:, target]
    gradients = tape.gradient(outputs, path).numpy()
    # Trapezoidal rule: the mean of the two ends of each step.
    average = (gradients[:-1] + gradients[1:]).mean(axis=0) / 2
    return (np.asarray(inputs, np.float32)[0] * average)[..., 0]


# --- inside the network --------------------------------------------------------------------


def feature_maps(model, inputs: np.ndarray) -> list[tuple[str, np.ndarray]]:
    """Each convolution's output (h, w, channels) for one input (1, H, W, 1), by layer name.

    Read after the batch norm and activation that directly follow a convolution, when a
    model has them, so each map shows what the block passes on. Empty for an MLP.
    """
    maps: list[tuple[str, np.ndarray]] = []
    in_block = False
    outputs = inputs
    for layer in model.layers:
        outputs = layer(outputs, training=False)
        # By class name: this module must not import Keras (the Draw page imports it).
        kind = type(layer).__name__
        if kind == "Conv2D":
            maps.append((layer.name, outputs))
            in_block = True
        elif in_block and kind in _BLOCK_TAIL:
            maps[-1] = (maps[-1][0], outputs)
        else:
            in_block = False
    return [(name, np.asarray(value)[0]) for name, value in maps]


def penultimate_features(model, inputs: np.ndarray) -> np.ndarray:
    """What the last layer sees: the output (N, features) of all the layers before it."""
    import keras  # late: see feature_maps

    return model_outputs(keras.Sequential(model.layers[:-1]), inputs)


@dataclass(frozen=True)
class Pca:
    mean: np.ndarray  # (features,)
    basis: np.ndarray  # (features, components): the principal directions, in columns
    variance: np.ndarray  # (components,) variance along each direction, largest first
    explained: np.ndarray  # (components,) share of the total variance along each direction


def pca(features: np.ndarray, components: int = 3) -> Pca:
    """Principal components by the SVD of the centred features."""
    features = np.asarray(features, np.float64)
    mean = features.mean(axis=0)
    _, singular, directions = np.linalg.svd(features - mean, full_matrices=False)
    variance = singular**2 / max(len(features) - 1, 1)
    return Pca(
        mean,
        directions[:components].T,
        variance[:components],
        variance[:components] / variance.sum(),
    )


def project(features: np.ndarray, basis: Pca) -> np.ndarray:
    """Coordinates (N, components) of features in the principal directions."""
    return (np.asarray(features, np.float64) - basis.mean) @ basis.basis


@dataclass(frozen=True)
class Embedding:
    """Test digits placed by the principal components of the model's penultimate layer."""

    points: np.ndarray  # (N, 3)
    labels: np.ndarray  # (N,)
    basis: Pca


def digit_sample(count: int = EMBEDDING_DIGITS, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """`count` MNIST test digits (as floats in [0, 1]) and their labels, chosen reproducibly."""
    mnist = data.load_mnist()
    chosen = np.random.default_rng(seed).choice(len(mnist.x_test), count, replace=False)
    return mnist.x_test[chosen].astype(np.float32) / 255.0, mnist.y_test[chosen].astype(int)


def embed(model, input_size: int, images28: np.ndarray, labels: np.ndarray) -> Embedding:
    features = penultimate_features(model, model_batch(images28, input_size))
    basis = pca(features)
    return Embedding(project(features, basis), np.asarray(labels), basis)


def place(embedding: Embedding, model, input_size: int, image28: np.ndarray) -> np.ndarray:
    """Where one image lands (3,) in an embedding of the same model."""
    features = penultimate_features(model, model_batch(image28, input_size))
    return project(features, embedding.basis)[0]


# --- invariance probe ----------------------------------------------------------------------


def transform(
    image28: np.ndarray,
    rotation: float = 0.0,
    shift_x: int = 0,
    shift_y: int = 0,
    thickness: float = 0.0,
) -> np.ndarray:
    """The image rotated (degrees, counter-clockwise), shifted (pixels: right, down) and
    made thicker (thickness > 0) or thinner (< 0), -1..1; the input frame is kept."""
    picture = Image.fromarray(np.asarray(image28, np.float32), mode="F")
    # PIL rotates about the frame's centre and then translates, in one resampling.
    moved = picture.rotate(rotation, resample=Image.BILINEAR, translate=(shift_x, shift_y))
    return stroke_width(np.asarray(moved), thickness)


def stroke_width(image: np.ndarray, amount: float) -> np.ndarray:
    """Thicken (amount > 0, a 3x3 max filter) or thin (< 0, a min filter) the strokes;
    fractions blend the filtered image with the original."""
    image = np.asarray(image, np.float32)
    if amount == 0:
        return image.copy()
    size_filter = ImageFilter.MaxFilter(3) if amount > 0 else ImageFilter.MinFilter(3)
    filtered = np.asarray(Image.fromarray(image, mode="F").filter(size_filter))
    return np.clip(image + abs(amount) * (filtered - image), 0.0, 1.0)


# --- the zoo side by side ------------------------------------------------------------------


def compare(image28: np.ndarray, predictors: Mapping[str, Predictor]) -> list[dict[str, Any]]:
    """Each model's answer on one image: its digit and confidence (at T = 1) or value."""
    rows = []
    for name, predictor in predictors.items():
        answer = interpret(predictor.raw_outputs(image28), predictor.spec.task)
        rows.append(
            {
                "model": name,
                "answer": answer.label,
                "confidence": answer.confidence,
                "value": answer.value,
            }
        )
    return rows


def agreement(rows: list[dict[str, Any]]) -> tuple[int, int]:
    """The most common answer and how many models give it."""
    answer, votes = Counter(row["answer"] for row in rows).most_common(1)[0]
    return answer, votes


# --- choosing test images to show ----------------------------------------------------------


def most_confused(confusion: np.ndarray) -> tuple[int, int]:
    """The (true, predicted) pair of the largest off-diagonal count."""
    counts = np.array(confusion, dtype=np.int64)
    np.fill_diagonal(counts, -1)
    true_digit, predicted_digit = np.unravel_index(counts.argmax(), counts.shape)
    return int(true_digit), int(predicted_digit)


def sample_indices(correct: np.ndarray, count: int, seed: int, mistakes_only: bool) -> np.ndarray:
    """`count` test indices chosen at random (by seed), optionally only the mistakes."""
    pool = np.flatnonzero(~np.asarray(correct)) if mistakes_only else np.arange(len(correct))
    rng = np.random.default_rng(seed)
    return rng.choice(pool, min(count, len(pool)), replace=False)


def top_guesses(probabilities: np.ndarray, count: int = 3) -> list[tuple[int, float]]:
    """The `count` most probable digits and their probabilities, most probable first."""
    order = np.argsort(-np.asarray(probabilities), kind="stable")[:count]
    return [(int(digit), float(probabilities[digit])) for digit in order]
