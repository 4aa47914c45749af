"""Real decompression bombs, made here: small files that declare (and truly hold) huge images.

Each is a valid file of its format that decodes to tens of megapixels; the PNGs are written
by hand (streaming zlib over zeros, ~0.1 s) and the others by Pillow itself. Sizes follow
what an attacker reported against the API (issue 25): 6000x6000 lossless WebP, a 16-bit
6000x6000 PNG, a 1x39,000,000 PNG.
"""

from __future__ import annotations

import io
import os
import struct
import tempfile
import zlib
from pathlib import Path

from PIL import Image

BOMB_SIDE = 6000  # 36 megapixels: over the limit, and ~0.5 GB to decode as RGBA


def _chunk(kind: bytes, payload: bytes) -> bytes:
    body = kind + payload
    return struct.pack(">I", len(payload)) + body + struct.pack(">I", zlib.crc32(body))


def png_bomb(width: int, height: int, bit_depth: int = 8, colour_type: int = 0) -> bytes:
    """A complete PNG of zeros (every row filter 0), compressed as it streams."""
    channels = {0: 1, 2: 3, 4: 2, 6: 4}[colour_type]
    row = 1 + width * channels * bit_depth // 8
    pack = zlib.compressobj(1)  # zeros squeeze ~1000:1 at any level; 1 is fastest
    block = bytes(1 << 20)
    left, parts = row * height, []
    while left:
        step = min(left, len(block))
        parts.append(pack.compress(block[:step]))
        left -= step
    parts.append(pack.flush())
    header = struct.pack(">IIBBBBB", width, height, bit_depth, colour_type, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", b"".join(parts))
        + _chunk(b"IEND", b"")
    )


def png_text_bomb(chunks: int = 40) -> bytes:
    """A 1x1 PNG carrying `chunks` zTXt chunks that each inflate to 1 MB of text."""
    text = b"Comment\x00\x00" + zlib.compress(b"a" * (1 << 20), 9)  # keyword, method 0
    small = png_bomb(1, 1)
    end = small.index(b"IDAT") - 4  # text chunks go before the pixels: read while opening
    return small[:end] + _chunk(b"zTXt", text) * chunks + small[end:]


def jpeg_header_bomb(side: int = 65_000) -> bytes:
    """A small real JPEG whose frame header is rewritten to claim side x side pixels."""
    data = bytearray(_saved(Image.new("L", (16, 16), 255), "JPEG"))
    frame = data.index(b"\xff\xc0")  # SOF0: length, precision, then height and width
    data[frame + 5 : frame + 9] = struct.pack(">HH", side, side)
    return bytes(data)


def _saved(image: Image.Image, fmt: str, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **options)
    return buffer.getvalue()


def pillow_bomb(fmt: str, side: int = BOMB_SIDE) -> bytes:
    """A blank side x side image saved by Pillow in `fmt` (WEBP lossless, GIF, TIFF, ...)."""
    options = {
        "WEBP": {"lossless": True, "method": 0},
        "TIFF": {"compression": "tiff_adobe_deflate"},
    }.get(fmt, {})
    return _saved(Image.new("L", (side, side), 255), fmt, **options)


def all_bombs() -> dict[str, bytes]:
    """One of each kind, by name, a few hundred KB in all: made once (~3 s), then read
    back from the tests' cache folder (they never change)."""
    makers = {
        "webp_lossless": lambda: pillow_bomb("WEBP"),
        "png_gray": lambda: png_bomb(BOMB_SIDE, BOMB_SIDE),
        "png_16bit": lambda: png_bomb(BOMB_SIDE, BOMB_SIDE, bit_depth=16),
        "png_rgba": lambda: png_bomb(5000, 5000, colour_type=6),
        "png_tall": lambda: png_bomb(1, 39_000_000),
        "png_text": png_text_bomb,
        "gif": lambda: pillow_bomb("GIF"),
        "tiff_deflate": lambda: pillow_bomb("TIFF"),
        "jpeg_header": jpeg_header_bomb,
    }
    cache = Path(os.environ.get("DIGITLAB_CACHE_DIR", tempfile.gettempdir())) / "bombs-v1"
    cache.mkdir(parents=True, exist_ok=True)
    bombs = {}
    for name, make in makers.items():
        path = cache / name
        if not path.exists():
            part = path.with_name(f"{name}.{os.getpid()}.part")  # two workers may race
            part.write_bytes(make())
            part.replace(path)
        bombs[name] = path.read_bytes()
    return bombs
