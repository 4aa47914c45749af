"""The one way an image file becomes pixels, for the API, the command line and the app.

Whatever arrives is hostile until proven otherwise: a few KB can declare a billion pixels
(a decompression bomb), name a format whose reader runs other programs (EPS and PDF start
Ghostscript), or inflate megabytes of text from its metadata. So a file is opened only by
the readers of an allow-list of formats, its declared size is checked from the header
before a pixel is decoded (JPEG is first told to decode at 1/2 to 1/8 scale, and judged at
that size), and only DECODE_SLOTS images are decoded at once in a process, so a burst
queues instead of multiplying memory.
"""

from __future__ import annotations

import io
import os
import threading
import warnings
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, PngImagePlugin

from digitlab.core.errors import UserError

MAX_UPLOAD_BYTES = 5 * 1024 * 1024
# A photo of one digit needs far fewer; 16 MP still takes a 4000x4000 scan or screenshot
# whole, and at most ~90 MB to decode (16 MP of RGBA, from a 16 MP palette).
MAX_PIXELS = 16_000_000
MAX_DECODED_SIDE = 1024  # larger images are shrunk while decoding
ALLOWED_FORMATS = ("PNG", "JPEG", "GIF", "BMP", "WEBP", "TIFF")


def _cores() -> int:
    """The cores this process may run on (fewer than the machine's in a container)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


# Decoding is CPU-bound, so more slots than cores buy nothing; three at most keep the worst
# case (three 16 MP palette images with transparency, ~90 MB each, measured) under 300 MB.
DECODE_SLOTS = max(1, min(3, _cores()))

# PNG text chunks are inflated while the header is read, up to 64 MB a file by default:
# a 40 KB file could cost that much. Nothing here reads text, so a little is enough.
PngImagePlugin.MAX_TEXT_MEMORY = 1 << 20

_ALPHA_MODES = {"RGBA", "RGBa", "LA", "La", "PA"}
_decoding = threading.BoundedSemaphore(DECODE_SLOTS)


class ImageError(UserError, ValueError):
    """The image cannot be read or used."""


class ImageTooLarge(ImageError):
    """The image is refused for its size (bytes or pixels): HTTP 413 rather than 400."""


def load_image(source: bytes | str | Path, name: str = "image") -> np.ndarray:
    """Decode image bytes or a file into uint8 (H,W), (H,W,3) RGB or (H,W,4) RGBA.

    Refused (ImageTooLarge) above MAX_UPLOAD_BYTES, or above MAX_PIXELS as declared by
    the header (at the reduced scale a JPEG will be decoded at); refused (ImageError) when
    not one of ALLOWED_FORMATS or unreadable. Anything larger than MAX_DECODED_SIDE is
    shrunk while decoding.
    """
    data = _read_source(source, name)
    with _decoding:
        img = _open(data, name)
        try:
            img = _to_8bit(img)
            img.thumbnail((MAX_DECODED_SIDE, MAX_DECODED_SIDE), Image.Resampling.BOX)
            img = ImageOps.exif_transpose(img)
            return np.array(img)
        except Exception as exc:  # PIL plugins raise many exception types on corrupt data
            raise ImageError(f"{name}: could not decode the image ({exc})") from exc


def _read_source(source: bytes | str | Path, name: str) -> bytes:
    if isinstance(source, str | Path):
        path = Path(source)
        try:
            size = path.stat().st_size
            if size > MAX_UPLOAD_BYTES:  # refuse before reading it into memory
                raise _too_big(name, size)
            data = path.read_bytes()
        except OSError as exc:
            raise ImageError(f"{name}: cannot read the file ({exc.strerror or exc})") from exc
    elif isinstance(source, bytes | bytearray | memoryview):
        data = bytes(source)
    else:
        raise TypeError(f"expected bytes or a path, got {type(source).__name__}")
    if not data:
        raise ImageError(f"{name}: the file is empty")
    if len(data) > MAX_UPLOAD_BYTES:
        raise _too_big(name, len(data))
    return data


def _too_big(name: str, size: int) -> ImageTooLarge:
    limit_mb = MAX_UPLOAD_BYTES / 2**20
    return ImageTooLarge(
        f"{name}: the file is {size / 2**20:.1f} MB; the limit is {limit_mb:.0f} MB"
    )


def _open(data: bytes, name: str) -> Image.Image:
    """Read only the header, with an allowed reader, and refuse images too large to decode."""
    try:
        with warnings.catch_warnings():
            # Our own MAX_PIXELS check below is stricter, and reports the size.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(data), formats=ALLOWED_FORMATS)
    except Image.DecompressionBombError as exc:
        raise ImageTooLarge(f"{name}: the image is far too large ({exc})") from exc
    except Exception as exc:
        raise ImageError(
            f"{name}: not a readable image (accepted: {', '.join(ALLOWED_FORMATS)})"
        ) from exc
    width, height = img.size
    if width < 1 or height < 1:
        raise ImageError(f"{name}: the image has no pixels")
    img.draft(img.mode, (MAX_DECODED_SIDE, MAX_DECODED_SIDE))  # JPEG: decode at 1/2..1/8
    if img.width * img.height > MAX_PIXELS:
        raise ImageTooLarge(
            f"{name}: the image is {width}x{height} = {width * height:,} pixels; "
            f"the limit is {MAX_PIXELS:,}"
        )
    return img


def _to_8bit(img: Image.Image) -> Image.Image:
    """Convert to L, RGB or RGBA, keeping transparency where the file has any."""
    if img.mode.startswith("I") or img.mode == "F":
        return _high_depth_to_l(img)
    if img.mode in _ALPHA_MODES or "transparency" in img.info:
        return img.convert("RGBA")
    if img.mode in ("L", "RGB"):
        return img
    return img.convert("L" if img.mode == "1" else "RGB")


def _high_depth_to_l(img: Image.Image) -> Image.Image:
    """16-bit: scale by its range; float in [0, 1]: scale by 255; anything else: stretch.

    Shrunk first (Pillow resizes these modes as they are), so the float copies below
    are of at most MAX_DECODED_SIDE squared pixels, not of the whole image.
    """
    info = dict(img.info)  # keep EXIF so the orientation can still be applied
    img.thumbnail((MAX_DECODED_SIDE, MAX_DECODED_SIDE), Image.Resampling.BOX)
    values = np.nan_to_num(np.asarray(img, dtype=np.float32))
    if img.mode.startswith("I;16"):
        values = values / 257.0
    elif img.mode == "F" and values.min() >= 0.0 and values.max() <= 1.0:
        values = values * 255.0
    else:
        low, high = float(values.min()), float(values.max())
        values = (values - low) * (255.0 / (high - low)) if high > low else values * 0.0
    out = Image.fromarray(np.clip(np.round(values), 0, 255).astype(np.uint8))
    out.info = info
    return out
