"""Tests for digitlab.data.preprocess, checked against hand-computed numpy oracles."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image, ImageDraw

from digitlab.data.preprocess import (
    ImageError,
    Preprocessed,
    ink_fraction,
    ink_map,
    is_blank,
    nearest_pixel,
    preprocess,
    to_mnist,
)

CENTRE = 13.5  # frame centre in 0-based pixel-centre coordinates


def centre_of_mass(img: np.ndarray) -> tuple[float, float]:
    rows, cols = np.indices(img.shape)
    total = img.sum()
    return float((rows * img).sum() / total), float((cols * img).sum() / total)


def bbox_size(img: np.ndarray, threshold: float = 0.05) -> tuple[int, int]:
    rows = np.flatnonzero((img > threshold).any(axis=1))
    cols = np.flatnonzero((img > threshold).any(axis=0))
    return int(rows[-1] - rows[0] + 1), int(cols[-1] - cols[0] + 1)


def bbox_origin(img: np.ndarray, threshold: float = 0.05) -> tuple[int, int]:
    rows = np.flatnonzero((img > threshold).any(axis=1))
    cols = np.flatnonzero((img > threshold).any(axis=0))
    return int(rows[0]), int(cols[0])


def seven(size: int = 280) -> np.ndarray:
    """An anti-aliased white-on-black '7' as uint8, drawn at 4x and box-downsampled."""
    big = Image.new("L", (size * 4, size * 4), 0)
    scale = size * 4 / 280
    points = [(70 * scale, 60 * scale), (210 * scale, 60 * scale), (120 * scale, 230 * scale)]
    ImageDraw.Draw(big).line(points, fill=255, width=int(24 * scale), joint="curve")
    return np.asarray(big.resize((size, size), Image.Resampling.BOX))


def encode(img: Image.Image, fmt: str, **kwargs: object) -> bytes:
    buf = io.BytesIO()
    img.save(buf, fmt, **kwargs)
    return buf.getvalue()


# --- geometry ---------------------------------------------------------------------------


def test_offcentre_rectangle_is_centred_and_fitted() -> None:
    canvas = np.zeros((200, 200), np.uint8)
    canvas[10:70, 120:190] = 255  # 60 tall x 70 wide, in a corner
    out = to_mnist(canvas)
    assert out.shape == (28, 28) and out.dtype == np.float32
    row, col = centre_of_mass(out)
    assert abs(row - CENTRE) <= 0.5 and abs(col - CENTRE) <= 0.5
    height, width = bbox_size(out)
    assert width == 20
    assert abs(height - 20 * 60 / 70) <= 1


def test_tall_rectangle_keeps_aspect_ratio() -> None:
    canvas = np.full((300, 200), 255, np.uint8)
    canvas[50:250, 30:130] = 0  # dark 200x100 block on white: 2:1
    out = to_mnist(canvas)
    height, width = bbox_size(out)
    assert abs(height - 20) <= 1 and abs(width - 10) <= 1
    assert out.max() == pytest.approx(1.0)


def test_l_shape_centre_of_mass_matches_hand_computation() -> None:
    # L: vertical bar 100x20 plus a foot 20x60 to its right, bbox 100 tall x 80 wide.
    canvas = np.zeros((200, 200), np.uint8)
    canvas[40:140, 30:50] = 255
    canvas[120:140, 50:110] = 255
    # By hand, relative to the bbox corner (40, 30): bar area 2000 centred at (49.5, 9.5),
    # foot area 1200 centred at (129.5 - 40, 79.5 - 30) = (89.5, 49.5).
    mass_row = (2000 * 49.5 + 1200 * 89.5) / 3200
    mass_col = (2000 * 9.5 + 1200 * 49.5) / 3200
    scale = 20 / 100
    out = to_mnist(canvas)
    row, col = centre_of_mass(out)
    assert abs(row - CENTRE) <= 0.5 and abs(col - CENTRE) <= 0.5
    assert bbox_size(out) == (20, 16)
    # The bbox corner must sit where the scaled centre of mass puts it (+-1 px of slack
    # for the half-pixel convention of the resize and the integer shift).
    top, left = bbox_origin(out)
    assert abs(top - (CENTRE - (mass_row + 0.5) * scale + 0.5)) <= 1
    assert abs(left - (CENTRE - (mass_col + 0.5) * scale + 0.5)) <= 1


def test_tiny_crop_is_enlarged_not_blocky() -> None:
    canvas = np.zeros((50, 50), np.uint8)
    canvas[20:24, 22:24] = 255  # 4x2
    out = to_mnist(canvas)
    height, width = bbox_size(out)
    assert abs(height - 20) <= 1 and abs(width - 10) <= 2
    assert out.min() >= 0.0 and out.max() <= 1.0


# --- polarity and channels ---------------------------------------------------------------


def test_all_encodings_of_the_same_digit_agree() -> None:
    ink = seven()
    dark_on_white = 255 - ink
    variants = {
        "white on black": ink,
        "dark on white": dark_on_white,
        "float [0,1]": ink.astype(np.float32) / 255,
        "(H,W,1)": dark_on_white[..., None],
        "rgb": np.stack([dark_on_white] * 3, axis=-1),
        "rgba opaque": np.dstack([dark_on_white] * 3 + [np.full_like(ink, 255)]),
        "alpha only (canvas)": np.dstack([np.zeros_like(ink)] * 3 + [ink]),
        "white on transparent": np.dstack([np.full_like(ink, 255)] * 3 + [ink]),
    }
    reference = to_mnist(ink)
    assert reference.sum() > 30
    for label, image in variants.items():
        out = to_mnist(image)
        diff = np.abs(out - reference)
        assert diff.mean() < 0.02, label
        assert diff.max() < 0.2, label


def test_pencil_on_grey_paper_matches_clean_drawing() -> None:
    ink = seven().astype(np.float32) / 255
    rng = np.random.default_rng(0)
    photo = 150 - 60 * ink + rng.normal(0, 4, ink.shape)  # faint grey stroke, noisy paper
    out = to_mnist(np.clip(photo, 0, 255).astype(np.uint8))
    assert np.abs(out - to_mnist(ink)).mean() < 0.05


def test_stray_specks_do_not_widen_the_crop() -> None:
    ink = seven()
    specked = ink.copy()
    specked[[3, 270, 140], [5, 12, 275]] = 255  # three lone pixels far from the digit
    assert np.abs(to_mnist(specked) - to_mnist(ink)).max() < 0.05


def test_opaque_card_on_transparency_is_composited_on_white() -> None:
    ink = seven()
    rgba = np.zeros((280, 280, 4), np.uint8)
    rgba[..., :3] = (255 - ink)[..., None]
    rgba[10:270, 10:270, 3] = 255  # an opaque card; the frame around it is transparent
    assert np.abs(to_mnist(rgba) - to_mnist(ink)).mean() < 0.02


def test_canvas_ink_is_its_alpha() -> None:
    canvas = np.zeros((280, 280, 4), np.uint8)
    canvas[..., 3] = seven()
    assert np.array_equal(ink_map(canvas), seven() / np.float32(255))


def test_ink_map_range_and_rgb_weights() -> None:
    rgb = np.zeros((40, 40, 3), np.uint8)
    rgb[...] = 255
    rgb[10:30, 10:30] = (0, 0, 255)  # pure blue is dark in BT.601 luminance
    ink = ink_map(rgb)
    assert ink.dtype == np.float32 and ink.shape == (40, 40)
    assert ink[20, 20] == pytest.approx(1.0) and ink[0, 0] == 0.0


def test_bad_array_shapes_are_refused() -> None:
    for bad in (np.zeros((5, 5, 5)), np.zeros(5), np.zeros((0, 4))):
        with pytest.raises(ImageError):
            ink_map(bad)


# --- blank detection ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "image",
    [
        np.zeros((280, 280, 4), np.uint8),
        np.dstack([np.full((280, 280, 3), 255, np.uint8), np.zeros((280, 280), np.uint8)]),
        np.full((100, 100), 255, np.uint8),
        np.zeros((100, 100), np.uint8),
        np.full((28, 28), 0.4, np.float32),
    ],
    ids=["zero canvas", "transparent", "all white", "all black", "uniform grey"],
)
def test_blank_images_give_zeros(image: np.ndarray) -> None:
    result = preprocess(image)
    assert isinstance(result, Preprocessed)
    assert result.blank and is_blank(image)
    assert not result.image.any() and ink_fraction(result.image) == 0.0


def test_stray_dot_is_blank_but_stroke_is_not() -> None:
    canvas = np.zeros((280, 280, 4), np.uint8)
    canvas[140:142, 100:102, 3] = 255  # a 2x2 dot
    assert preprocess(canvas).blank
    canvas[..., 3] = seven()
    result = preprocess(canvas)
    assert not result.blank
    assert 0.05 < ink_fraction(result.image) < 0.4


def test_mnist_sized_digit_is_not_blank() -> None:
    assert not is_blank(to_mnist(seven()))


@pytest.mark.parametrize("shape", [(1, 1), (1, 500), (500, 1), (37, 91), (2, 2, 4)])
def test_odd_sizes_do_not_crash(shape: tuple[int, ...]) -> None:
    rng = np.random.default_rng(1)
    for image in (rng.integers(0, 256, shape, dtype=np.uint8), np.ones(shape, np.float32)):
        result = preprocess(image)
        assert result.image.shape == (28, 28)
        assert result.image.min() >= 0.0 and result.image.max() <= 1.0


def test_half_pixel_shifts_round_to_the_even_pixel_within_a_band():
    assert [nearest_pixel(x) for x in (0.5, 1.5, 2.5, -0.5, -1.5)] == [0, 2, 2, 0, -2]
    assert nearest_pixel(2.5 + 1e-12) == 2  # summation noise does not decide a tie
    assert (nearest_pixel(2.5 + 1e-3), nearest_pixel(1.49), nearest_pixel(-0.51)) == (3, 1, -1)


def test_the_javascript_fixtures_are_what_preprocess_makes_today():
    """tests/js/fixtures.json checks assets/js/preprocess.js; stale, it would check nothing."""
    import json
    from pathlib import Path

    from js.make_fixtures import OUT, fixture, made_by_hand

    stored = {entry["name"]: entry for entry in json.loads(Path(OUT).read_text())}
    for name, alpha in made_by_hand().items():
        assert fixture(name, alpha) == stored[name], f"run tests/js/make_fixtures.py ({name})"
