"""Images -> the batch a model takes: the one place that knows the input's size, scale and
channel axis.

Every model of the zoo reads float32 (N, size, size, 1) in [0, 1], where size is 28, or 20
for the tiny net of the seed tutorial (area-averaged from 28x28). Whatever a caller holds,
one 28x28 drawing or MNIST's uint8 arrays, `model_batch` turns it into that.
"""

from __future__ import annotations

import numpy as np

SMALL_INPUT = 20  # the tiny net's input side; every other model reads 28x28


def _area_weights(n_in: int, n_out: int) -> np.ndarray:
    """Matrix (n_out, n_in): how much of each input pixel falls in each output pixel."""
    scale = n_in / n_out
    edges_out = np.arange(n_out + 1) * scale
    lo = np.maximum(edges_out[:-1, None], np.arange(n_in)[None, :])
    hi = np.minimum(edges_out[1:, None], np.arange(1, n_in + 1)[None, :])
    return (np.clip(hi - lo, 0.0, None) / scale).astype(np.float32)


# Public: the ONNX export builds the same resize into its files (analysis/onnx_export.py).
AREA_28_TO_20 = _area_weights(28, 20)


def downscale_to_20(images28: np.ndarray) -> np.ndarray:
    """Area-average (28, 28) or (N, 28, 28) images to 20x20, as float32 in [0, 1].

    Integer images are taken as 0..255, float images as already in [0, 1].
    """
    images = np.asarray(images28)
    if images.shape[-2:] != (28, 28) or images.ndim not in (2, 3):
        raise ValueError(f"expected (28, 28) or (N, 28, 28) images, got shape {images.shape}")
    if np.issubdtype(images.dtype, np.integer):
        pixels = images.astype(np.float32) / 255.0
    else:
        pixels = images.astype(np.float32)
    small = AREA_28_TO_20 @ pixels @ AREA_28_TO_20.T
    # The weights sum to one, so only rounding can step outside [0, 1].
    return np.clip(small, 0.0, 1.0)


def unit_floats(images: np.ndarray) -> np.ndarray:
    """uint8 pixels as float32 in [0, 1], in one pass."""
    out = images.astype(np.float32)
    out *= np.float32(1 / 255)
    return out


def model_batch(images28: np.ndarray, input_size: int) -> np.ndarray:
    """One (28, 28) image or many (N, 28, 28), uint8 0..255 or floats in [0, 1] -> the
    float32 batch (N, size, size, 1) in [0, 1] a model of this input size takes."""
    images = np.asarray(images28)
    if np.issubdtype(images.dtype, np.integer):
        floats = unit_floats(images)
    else:
        floats = images.astype(np.float32, copy=False)
    if floats.ndim == 2:
        floats = floats[None]
    sized = downscale_to_20(floats) if input_size == SMALL_INPUT else floats
    return sized[..., None]
