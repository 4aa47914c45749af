"""Turn a picture of one handwritten digit into a 28x28 MNIST-style network input.

The recipe follows how MNIST itself was made: crop to the ink, fit it into a 20x20 box
with an area-averaging resize (aspect ratio kept), then place it in a 28x28 frame so that
the ink's intensity-weighted centre of mass sits at the frame centre.

Coordinate convention: pixel (row, col) has its centre at (row, col), 0-based, so the
centre of a 28x28 frame is (13.5, 13.5).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from PIL import Image

from digitlab.data.decode import ImageError

MNIST_SIZE = 28
DIGIT_BOX = 20

ALPHA_TOLERANCE = 0.02  # alpha spread below this counts as constant
BORDER_FRACTION = 0.04  # width of the ring whose median is the background
LIGHTING_TOLERANCE = 0.03  # lighting that varies less than this across the image is even
MIN_CONTRAST = 0.08  # ink must stand this far above the background (else: blank)
NOISE_SIGMAS = 5.0  # ... and this many paper-noise standard deviations
INK_LEVEL_PERCENTILE = 90.0  # of the ink pixels: the value that becomes 1.0
NOISE_FLOOR = 0.15  # normalised ink below this is paper texture or shadow
BBOX_TRIM = 0.002  # ink mass left outside the bounding box at each end: stray specks
# A centre-of-mass shift this close to a half pixel is a tie. Summation order alone moves an
# exact half by ~1e-15, so without a band numpy and assets/js/preprocess.js (the browser's
# copy of this file) could round one digit to neighbouring pixels.
HALF_PIXEL_BAND = 1e-6

MIN_INK_PIXELS = 6.0  # blank: total ink below 6 fully-inked pixels ...
MIN_INK_AREA_FRACTION = 2e-4  # ... or below 0.02% of the image area ...
MIN_EXTENT_FRACTION = 0.03  # ... or the ink's extent below 3% of the image's longer side

_LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)  # ITU-R BT.601


@dataclass(frozen=True, eq=False)
class Preprocessed:
    """A network-ready 28x28 float32 image in [0, 1] plus whether the input was blank."""

    image: np.ndarray
    blank: bool


# --- ink ----------------------------------------------------------------------------------


def ink_map(image: np.ndarray) -> np.ndarray:
    """Float32 (H,W) in [0, 1] where 1 is ink, whatever the polarity or channels.

    RGBA with varying alpha and a transparent majority (the drawing canvas) uses alpha
    as the ink; other RGBA is composited on white; RGB goes through BT.601 luminance.
    Grayscale has uneven lighting (a gradient, a vignette) taken out first, is oriented by
    which side of the paper (its border's median) more pixels stand out on, then stretched
    so the background is 0 and the ink level (the 90th percentile of pixels that stand out
    from the paper) is 1; values below NOISE_FLOOR, or within 5 noise sigmas of the paper,
    become 0.
    """
    arr = _check_array(image)
    scale = _value_scale(arr)
    if arr.ndim == 2 or arr.shape[2] not in (2, 4):  # no alpha channel
        return _grey_ink(_luminance(arr, scale))
    alpha = arr[..., -1].astype(np.float32) / scale
    low, high = float(alpha.min()), float(alpha.max())
    if high - low <= ALPHA_TOLERANCE:
        if high <= ALPHA_TOLERANCE:
            return np.zeros(alpha.shape, np.float32)  # fully transparent: nothing drawn
        return _grey_ink(_luminance(arr, scale))
    if np.count_nonzero(alpha > 0.5) < alpha.size / 2:
        return alpha  # the stroke lives only in alpha; its colour says nothing
    return _grey_ink(_luminance(arr, scale) * alpha + (1.0 - alpha))


def _check_array(image: np.ndarray) -> np.ndarray:
    arr = np.asarray(image)
    if not (arr.ndim == 2 or (arr.ndim == 3 and arr.shape[2] in (1, 2, 3, 4))):
        raise ImageError(f"expected an image of shape (H, W) or (H, W, 1-4), got {arr.shape}")
    if arr.size == 0:
        raise ImageError(f"the image has no pixels (shape {arr.shape})")
    return arr


def _value_scale(arr: np.ndarray) -> float:
    """The value meaning full intensity: integers are 8-bit, floats are [0, 1] or [0, 255]."""
    if arr.dtype == np.bool_:
        return 1.0
    if arr.dtype == np.uint16:
        return 65535.0
    if np.issubdtype(arr.dtype, np.integer):
        return 255.0
    if not np.issubdtype(arr.dtype, np.floating):
        raise ImageError(f"unsupported pixel type {arr.dtype}")
    if not np.isfinite(arr).all():
        raise ImageError("the image contains NaN or infinite values")
    return 255.0 if arr.max() > 1.0 else 1.0


def _luminance(arr: np.ndarray, scale: float) -> np.ndarray:
    """BT.601 luma in [0, 1]; an alpha channel, if any, is ignored."""
    if arr.ndim == 2 or arr.shape[2] < 3:
        gray = arr if arr.ndim == 2 else arr[..., 0]
        return gray.astype(np.float32) / scale
    if arr.dtype == np.uint8:  # PIL's C conversion uses the same weights, ~10x faster
        return np.asarray(Image.fromarray(arr).convert("L"), dtype=np.float32) / scale
    return (arr[..., :3].astype(np.float32) @ _LUMA) / scale


def _flatten_lighting(gray: np.ndarray) -> np.ndarray:
    """The image with the paper's uneven lighting taken out.

    A photo of paper is brighter on one side or in the middle; read as is, the darker part
    passes for ink. The lighting is modelled as a smooth quadratic surface over the image
    (flat-field correction), fitted by least squares to the border ring, which shows bare
    paper, then refitted without the ring pixels the first fit leaves far off (ink that
    touches the border). Evenly lit images come back unchanged.
    """
    height, width = gray.shape
    rows = max(1, round(height * BORDER_FRACTION))
    cols = max(1, round(width * BORDER_FRACTION))
    if 2 * rows >= height or 2 * cols >= width:
        return gray
    on_ring = np.ones((height, width), bool)
    on_ring[rows:-rows, cols:-cols] = False
    step = max(1, int(np.sqrt(on_ring.sum() / 4000)))  # a few thousand points are plenty
    ys, xs = np.nonzero(on_ring[::step, ::step])
    ys, xs = ys * step, xs * step
    values = gray[ys, xs].astype(np.float64)

    def terms(y: np.ndarray, x: np.ndarray) -> np.ndarray:
        y, x = y / max(height - 1, 1) - 0.5, x / max(width - 1, 1) - 0.5
        return np.stack([np.ones_like(x), x, y, x * x, x * y, y * y], axis=-1)

    design = terms(ys.astype(np.float64), xs.astype(np.float64))
    keep = np.ones(len(values), bool)
    for _ in range(2):
        coefficients = np.linalg.lstsq(design[keep], values[keep], rcond=None)[0]
        residual = values - design @ coefficients
        spread = 1.4826 * np.median(np.abs(residual[keep])) + 1e-3
        keep = np.abs(residual) < 3 * spread
    # The same terms, broadcast over a column of rows and a row of columns.
    y = np.arange(height)[:, None] / max(height - 1, 1) - 0.5
    x = np.arange(width)[None, :] / max(width - 1, 1) - 0.5
    c = coefficients
    surface = c[0] + c[1] * x + c[2] * y + c[3] * x * x + c[4] * x * y + c[5] * y * y
    if float(surface.max() - surface.min()) < LIGHTING_TOLERANCE:
        return gray
    level = float(np.median(values[keep]))
    return np.clip(gray - surface.astype(np.float32) + np.float32(level), 0.0, 1.0)


def _grey_ink(gray: np.ndarray) -> np.ndarray:
    gray = _flatten_lighting(gray)
    ring = _border(gray)
    background = float(np.median(np.concatenate([part.ravel() for part in ring])))
    noise = _paper_noise(ring)
    stand_out = max(MIN_CONTRAST, NOISE_SIGMAS * noise)
    # The ink is on whichever side of the paper more pixels stand out: grey paper in dim
    # light is darker than 0.5 and still carries dark ink.
    darker = np.count_nonzero(gray < background - stand_out)
    if darker > np.count_nonzero(gray > background + stand_out):
        gray, background = 1.0 - gray, 1.0 - background
    candidates = gray[gray > background + stand_out]
    if candidates.size == 0:
        return np.zeros(gray.shape, np.float32)
    # A percentile of the ink rather than the max, so a few hot pixels cannot set the scale.
    # (np.sort, not np.percentile: its partition is ~30x slower on many equal values.)
    level = np.sort(candidates)[int((candidates.size - 1) * INK_LEVEL_PERCENTILE / 100)]
    contrast = float(level) - background
    ink = (gray - background) / np.float32(contrast)
    np.clip(ink, 0.0, 1.0, out=ink)
    ink[ink < max(NOISE_FLOOR, NOISE_SIGMAS * noise / contrast)] = 0.0
    return ink


def _border(gray: np.ndarray) -> tuple[np.ndarray, ...]:
    """The outermost ring of pixels (in four pieces), where a photo shows bare paper."""
    height, width = gray.shape
    rows = max(1, round(height * BORDER_FRACTION))
    cols = max(1, round(width * BORDER_FRACTION))
    if 2 * rows >= height or 2 * cols >= width:
        return (gray,)  # too thin to have an inside
    inner = gray[rows:-rows]
    return gray[:rows], gray[-rows:], inner[:, :cols], inner[:, -cols:]


def _paper_noise(ring: tuple[np.ndarray, ...]) -> float:
    """Robust std of the paper's pixel noise; neighbour differences ignore smooth shading."""
    steps = [np.diff(part, axis=axis).ravel() for part in ring for axis in (0, 1)]
    flat = np.abs(np.concatenate(steps))
    return 1.4826 * float(np.median(flat)) / np.sqrt(2.0) if flat.size else 0.0


# --- framing ------------------------------------------------------------------------------


def to_mnist(image: np.ndarray) -> np.ndarray:
    """Float32 (28, 28) in [0, 1]: the ink fitted to 20x20 and centred by its mass."""
    ink = ink_map(image)
    return _frame(ink, _bbox(ink))


def preprocess(image: np.ndarray) -> Preprocessed:
    """The MNIST-style input, plus whether the original image is blank (see is_blank)."""
    ink = ink_map(image)
    box = _bbox(ink)
    return Preprocessed(image=_frame(ink, box), blank=_blank(ink, box))


def is_blank(image: np.ndarray) -> bool:
    """True if the image holds no digit, judged before scaling (a stray dot is blank).

    Blank means: total ink below max(MIN_INK_PIXELS, MIN_INK_AREA_FRACTION * area)
    fully-inked pixels (6 px; 0.02% of the area), or the ink's bounding box spans less than
    MIN_EXTENT_FRACTION (3%) of the image's longer side.
    """
    ink = ink_map(image)
    return _blank(ink, _bbox(ink))


def ink_fraction(mnist_image: np.ndarray) -> float:
    """Mean ink of a (28, 28) input: 0 for empty, about 0.1-0.2 for a typical digit."""
    return float(np.mean(mnist_image, dtype=np.float64))


_Box = tuple[int, int, int, int]  # top, bottom, left, right (bottom/right exclusive)


def _bbox(ink: np.ndarray) -> _Box | None:
    """The box holding all ink but BBOX_TRIM of its mass per side: specks cannot widen it."""
    row_mass = ink.sum(axis=1, dtype=np.float64)
    if row_mass.sum() <= 0.0:
        return None
    return (*_span(row_mass), *_span(ink.sum(axis=0, dtype=np.float64)))


def _span(mass: np.ndarray) -> tuple[int, int]:
    cumulative = np.cumsum(mass)
    total = cumulative[-1]
    start = int(np.searchsorted(cumulative, BBOX_TRIM * total, side="right"))
    stop = int(np.searchsorted(cumulative, (1.0 - BBOX_TRIM) * total, side="left")) + 1
    return start, max(stop, start + 1)


def _blank(ink: np.ndarray, box: _Box | None) -> bool:
    if box is None:
        return True
    if float(ink.sum()) < max(MIN_INK_PIXELS, MIN_INK_AREA_FRACTION * ink.size):
        return True
    extent = max(box[1] - box[0], box[3] - box[2])
    return extent < MIN_EXTENT_FRACTION * max(ink.shape)


def _frame(ink: np.ndarray, box: _Box | None) -> np.ndarray:
    frame = np.zeros((MNIST_SIZE, MNIST_SIZE), np.float32)
    if box is None:
        return frame
    top, bottom, left, right = box
    digit = _fit_box(ink[top:bottom, left:right])
    peak = float(digit.max())
    if peak <= 0.0:
        return frame
    digit = digit / peak  # full-strength ink even from faint photos
    _paste_centred(frame, digit)
    return np.clip(frame, 0.0, 1.0, out=frame)


def _fit_box(crop: np.ndarray) -> np.ndarray:
    """Resize so the longer side is DIGIT_BOX px, keeping the aspect ratio."""
    height, width = crop.shape
    scale = DIGIT_BOX / max(height, width)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))  # PIL: (w, h)
    if size == (width, height):
        return crop
    # BOX averages areas when shrinking, like MNIST; BOX would give blocks when enlarging.
    resample = Image.Resampling.BOX if scale < 1 else Image.Resampling.BILINEAR
    image = Image.fromarray(np.ascontiguousarray(crop, dtype=np.float32))
    return np.asarray(image.resize(size, resample))


def nearest_pixel(shift: float) -> int:
    """Round a shift to whole pixels; within HALF_PIXEL_BAND of a half, to the even one
    (Python's own tie rule, kept for exact halves; assets/js/preprocess.js does the same)."""
    below = math.floor(shift)
    fraction = shift - below
    if abs(fraction - 0.5) <= HALF_PIXEL_BAND:
        return below + below % 2
    return below + int(fraction > 0.5)


def _paste_centred(frame: np.ndarray, digit: np.ndarray) -> None:
    """Paste so the centre of mass lands on the frame centre, to the nearest pixel."""
    height, width = digit.shape
    mass = digit.astype(np.float64)  # float32 sums would move the centre by ~1e-6 px
    total = float(mass.sum())
    mass_row = float(mass.sum(axis=1) @ np.arange(height)) / total
    mass_col = float(mass.sum(axis=0) @ np.arange(width)) / total
    centre = (frame.shape[0] - 1) / 2
    top, left = nearest_pixel(centre - mass_row), nearest_pixel(centre - mass_col)
    # Clip the parts of a lopsided digit that would fall outside the frame.
    y0, x0 = max(top, 0), max(left, 0)
    y1, x1 = min(top + height, frame.shape[0]), min(left + width, frame.shape[1])
    if y0 < y1 and x0 < x1:
        frame[y0:y1, x0:x1] = digit[y0 - top : y1 - top, x0 - left : x1 - left]
