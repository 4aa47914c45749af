"""Tests for digitlab.data.decode: formats, sizes and bombs refused before decoding."""

from __future__ import annotations

import io

import numpy as np
import pytest
from bombs import all_bombs, png_text_bomb
from PIL import Image
from test_bad_input import huge_png_header
from test_preprocess import encode, seven

from digitlab.data.decode import (
    ALLOWED_FORMATS,
    MAX_PIXELS,
    MAX_UPLOAD_BYTES,
    ImageError,
    ImageTooLarge,
    load_image,
)


def test_png_round_trips_by_mode() -> None:
    gray = seven(60)
    assert np.array_equal(load_image(encode(Image.fromarray(gray), "PNG")), gray)
    rgb = load_image(encode(Image.fromarray(gray).convert("RGB"), "PNG"))
    assert rgb.shape == (60, 60, 3) and rgb.dtype == np.uint8
    rgba = load_image(encode(Image.fromarray(gray).convert("RGBA"), "PNG"))
    assert rgba.shape == (60, 60, 4)
    assert load_image(encode(Image.fromarray(gray).convert("LA"), "PNG")).shape == (60, 60, 4)
    palette = Image.fromarray(gray).convert("P")
    assert load_image(encode(palette, "PNG", transparency=0)).shape == (60, 60, 4)
    assert load_image(encode(Image.fromarray(gray > 128), "PNG")).shape == (60, 60)


def test_sixteen_bit_png_is_scaled_to_8_bit() -> None:
    values = (np.arange(64 * 32).reshape(32, 64) * 32).astype(np.uint16)
    out = load_image(encode(Image.fromarray(values), "PNG"))
    assert out.dtype == np.uint8 and out.shape == (32, 64)
    assert np.abs(out.astype(float) - values / 257).max() <= 0.5


def test_jpeg_round_trips_and_exif_orientation_is_applied(tmp_path) -> None:
    rgb = Image.fromarray(np.stack([seven(40)[:, :20]] * 3, axis=-1))  # 20 wide, 40 tall
    plain = load_image(encode(rgb, "JPEG"))
    assert plain.shape == (40, 20, 3)
    exif = Image.Exif()
    exif[0x0112] = 6  # stored image must be rotated 90 degrees clockwise for display
    path = tmp_path / "photo.jpg"
    path.write_bytes(encode(rgb, "JPEG", exif=exif.tobytes()))
    assert load_image(path).shape == (20, 40, 3)
    assert load_image(str(path)).shape == (20, 40, 3)


def test_large_images_are_downscaled_while_decoding() -> None:
    big = Image.new("L", (3000, 2000), 255)
    for fmt in ("PNG", "JPEG"):
        out = load_image(encode(big, fmt))
        assert max(out.shape) <= 1024 and out.shape[0] < out.shape[1]


def test_unusable_input_is_refused_with_its_name(tmp_path) -> None:
    fake = tmp_path / "digit.png"
    fake.write_text("this is not an image")
    cases = [
        (b"", "empty"),
        (fake, "not a readable image"),
        (str(fake), "not a readable image"),
        (tmp_path / "missing.png", "cannot read"),
        (b"\x89PNG" + bytes(MAX_UPLOAD_BYTES), "limit is 5 MB"),
    ]
    for source, message in cases:
        with pytest.raises(ImageError, match=message) as info:
            load_image(source, name="upload.png")
        assert "upload.png" in str(info.value)


def test_oversized_file_on_disk_is_refused(tmp_path) -> None:
    path = tmp_path / "huge.png"
    path.write_bytes(bytes(MAX_UPLOAD_BYTES + 1))
    with pytest.raises(ImageError, match="MB"):
        load_image(path)


def test_decompression_bomb_is_refused_before_decoding() -> None:
    with pytest.raises(ImageError, match="10000x10000") as info:
        load_image(huge_png_header(10_000, 10_000), name="bomb.png")
    assert "16,000,000" in str(info.value) and info.type is ImageTooLarge
    with pytest.raises(ImageError, match="too large"):
        load_image(huge_png_header(30_000, 30_000))  # past PIL's own hard limit too


@pytest.mark.parametrize("fmt", ["EPS", "PDF", "ICO", "PPM", "TGA", "PCX"])
def test_formats_off_the_allow_list_are_refused_unread(fmt: str) -> None:
    """EPS and PDF would start Ghostscript; none of these reaches its reader."""
    data = encode(Image.fromarray(seven(40)).convert("RGB"), fmt)
    if fmt != "PDF":  # Pillow writes PDF but has no reader for it
        assert Image.open(io.BytesIO(data)).format == fmt  # a real file of it
    with pytest.raises(ImageError, match="not a readable image") as info:
        load_image(data, name=f"seven.{fmt.lower()}")
    assert ", ".join(ALLOWED_FORMATS) in str(info.value)


@pytest.mark.parametrize("fmt", ALLOWED_FORMATS)
def test_every_allowed_format_decodes(fmt: str) -> None:
    out = load_image(encode(Image.fromarray(seven(40)).convert("RGB"), fmt))
    assert out.shape[:2] == (40, 40) and out.dtype == np.uint8


def test_real_bombs_are_refused_as_too_large() -> None:
    for name, data in all_bombs().items():
        with pytest.raises(ImageError) as info:
            load_image(data, name=name)
        if name == "png_text":  # its pixels are fine; its text would inflate to 40 MB
            assert info.type is ImageError and "not a readable image" in str(info.value)
        else:
            assert info.type is ImageTooLarge, (name, str(info.value))


def test_a_large_jpeg_is_judged_at_the_scale_it_decodes_at() -> None:
    side = 6000  # 36 MP declared, over MAX_PIXELS; decoded at 1/4 (1500x1500), then shrunk
    assert side * side > MAX_PIXELS
    out = load_image(encode(Image.new("L", (side, side), 255), "JPEG", quality=10))
    assert out.shape == (1024, 1024)


def test_one_text_chunk_is_still_read() -> None:
    assert load_image(png_text_bomb(chunks=0)).shape == (1, 1)
