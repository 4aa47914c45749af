"""A seeded corpus of hostile requests for the API, by category, each with the statuses it
may get: the fuzz test sends them to a real server and checks every answer.

Every category comes round in turn, so 1,000 cases hold ~90 of each. Images are real
(Pillow writes them); bombs come from tests/bombs.py.
"""

from __future__ import annotations

import io
import random
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from PIL import Image

OK, BAD, TOO_LARGE, NOT_FOUND, NOT_ALLOWED = 200, 400, 413, 404, 405
BOUNDARY = "fuzzboundary7MA4YWxkTrZu0gW"


@dataclass(frozen=True)
class Case:
    """One request: what to send, and the statuses a correct server may answer with."""

    category: str
    expect: frozenset[int]
    body: bytes = b""
    method: str = "POST"
    path: str = "/predict"
    headers: dict[str, str] = field(default_factory=dict)


def _saved(image: Image.Image, fmt: str, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **options)
    return buffer.getvalue()


def _noise(rng: random.Random, mode: str, size: tuple[int, int]) -> Image.Image:
    """A random image of `mode` (converted from random RGB, so every mode is reachable)."""
    pixels = np.random.default_rng(rng.randrange(2**32)).integers(0, 256, (*size[::-1], 3))
    rgb = Image.fromarray(pixels.astype(np.uint8), "RGB")
    if mode == "I;16":
        return Image.fromarray(np.asarray(rgb)[..., 0].astype(np.uint16) * 257)  # I;16
    return rgb.convert(mode)


def _image(rng: random.Random) -> bytes:
    """A small valid image in a random allowed format."""
    fmt = rng.choice(["PNG", "JPEG", "GIF", "BMP", "WEBP", "TIFF"])
    return _saved(_noise(rng, "RGB", (rng.randint(8, 64), rng.randint(8, 64))), fmt)


def random_bytes(rng: random.Random, bombs: dict[str, bytes]) -> Case:
    size = rng.choice([0, 1, 7, 64, 512, 4096])
    return Case("random bytes", frozenset({BAD}), rng.randbytes(size))


def truncated(rng: random.Random, bombs: dict[str, bytes]) -> Case:
    data = _image(rng)
    return Case("truncated image", frozenset({OK, BAD}), data[: rng.randrange(1, len(data))])


def bit_flipped(rng: random.Random, bombs: dict[str, bytes]) -> Case:
    data = bytearray(_image(rng))
    for _ in range(rng.randint(1, 8)):
        data[rng.randrange(len(data))] ^= 1 << rng.randrange(8)
    return Case("bit-flipped image", frozenset({OK, BAD, TOO_LARGE}), bytes(data))


def bomb(rng: random.Random, bombs: dict[str, bytes]) -> Case:
    name = rng.choice(sorted(bombs))
    expect = frozenset({BAD if name == "png_text" else TOO_LARGE})
    if rng.random() < 0.5:
        return Case("bomb", expect, bombs[name])
    return Case("bomb", expect, *_form(bombs[name], "file", name))


# Modes each allowed format can write, the unusual ones included.
_MODES = {
    "PNG": ["1", "L", "LA", "P", "RGB", "RGBA", "I;16"],
    "TIFF": ["1", "L", "LA", "P", "RGB", "RGBA", "CMYK", "YCbCr", "I", "I;16", "F"],
    "JPEG": ["L", "RGB", "CMYK"],
    "BMP": ["1", "L", "P", "RGB", "RGBA"],
    "GIF": ["L", "P"],
    "WEBP": ["RGB", "RGBA"],
}


def odd_mode(rng: random.Random, bombs: dict[str, bytes]) -> Case:
    fmt = rng.choice(sorted(_MODES))
    size = (rng.choice([1, 2, 3, 17, 300, 3000]), rng.choice([1, 2, 5, 64, 250]))
    image = _noise(rng, rng.choice(_MODES[fmt]), size if rng.random() < 0.5 else size[::-1])
    options = {"transparency": 0} if image.mode == "P" and fmt == "PNG" else {}
    return Case("odd mode or size", frozenset({OK}), _saved(image, fmt, **options))


def animated(rng: random.Random, bombs: dict[str, bytes]) -> Case:
    fmt = rng.choice(["GIF", "WEBP", "PNG"])
    size = (rng.randint(4, 80), rng.randint(4, 80))  # WebP wants every frame this size
    frames = [_noise(rng, "RGB", size) for _ in range(rng.randint(2, 6))]
    data = _saved(frames[0], fmt, save_all=True, append_images=frames[1:], duration=40, loop=0)
    return Case("animated image", frozenset({OK}), data)


def _foreign(rng: random.Random) -> bytes:
    choice = rng.choice(["EPS", "PDF", "ICO", "PPM", "TGA", "PCX", "SGI", "text"])
    if choice == "text":
        return rng.choice([b"<svg xmlns='http://www.w3.org/2000/svg'/>", b"%!PS-Adobe-3.0\n",
                           b"%PDF-1.7\n%\xe2\xe3", b"8BPS\x00\x01" + bytes(40)])  # fmt: skip
    return _saved(_noise(rng, "RGB", (rng.randint(8, 48), rng.randint(8, 48))), choice)


def foreign_format(rng: random.Random, bombs: dict[str, bytes]) -> Case:
    return Case("foreign format", frozenset({BAD}), _foreign(rng))


def _form(
    data: bytes, name: str, filename: str, content_type: str = "multipart/form-data"
) -> tuple[bytes, str, str, dict[str, str]]:
    """Case fields (body, method, path, headers) for `data` as one form part."""
    body = (
        (
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"; filename="{filename}"'
            f"\r\nContent-Type: image/png\r\n\r\n"
        ).encode()
        + data
        + f"\r\n--{BOUNDARY}--\r\n".encode()
    )
    return body, "POST", "/predict", {"Content-Type": f"{content_type}; boundary={BOUNDARY}"}


def multipart(rng: random.Random, bombs: dict[str, bytes]) -> Case:
    image = _image(rng)
    body, _, _, headers = _form(image, "file", "digit.png")
    kind = rng.choice(
        ["capitalised", "upper", "filename", "no boundary", "wrong boundary", "unclosed",
         "two files", "field name", "empty file", "many fields", "long header", "plain"]
    )  # fmt: skip
    if kind == "capitalised":
        return Case("multipart", frozenset({OK}), *_form(image, "file", "a.png",
                                                          "Multipart/Form-Data"))  # fmt: skip
    if kind == "upper":
        return Case("multipart", frozenset({OK}), *_form(image, "file", "a", "MULTIPART/FORM-DATA"))
    if kind == "filename":
        name = rng.choice(["../../etc/passwd", "C:\\boot.ini", "\u202egnp.exe", "a" * 2000, ""])
        return Case("multipart", frozenset({OK, BAD}), *_form(image, "file", name))
    if kind == "no boundary":
        headers = {"Content-Type": "multipart/form-data"}
    elif kind == "wrong boundary":
        headers = {"Content-Type": "multipart/form-data; boundary=nothere"}
    elif kind == "unclosed":
        body = body[: -len(f"--{BOUNDARY}--\r\n") - rng.randint(0, 20)]
    elif kind == "two files":
        body = body[: -len("--\r\n")] + body[len(f"--{BOUNDARY}") :]
    elif kind == "field name":
        body = _form(image, rng.choice(["File", "files", "picture", ""]), "a.png")[0]
    elif kind == "empty file":
        body = _form(b"", "file", "a.png")[0]
    elif kind == "many fields":
        field_part = f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="x"\r\n\r\n1\r\n'
        body = field_part.encode() * 20 + body
    elif kind == "long header":
        body = body.replace(b"Content-Type: image/png", b"X-Long: " + b"a" * 70_000, 1)
    else:
        return Case("multipart", frozenset({OK}), body, headers=headers)
    return Case("multipart", frozenset({BAD, TOO_LARGE}), body, headers=headers)


# Hostile query values: run ids (404), numbers (400), model names (404); a few valid ones.
_QUERIES = [
    ("run=9223372036854775808", NOT_FOUND), ("run=9223372036854775807", NOT_FOUND),
    ("run=%C2%B2", NOT_FOUND), ("run=%E2%91%A0", NOT_FOUND), ("run=%EF%BC%91", NOT_FOUND),
    ("run=-1", NOT_FOUND), ("run=1e3", NOT_FOUND), ("run=", NOT_FOUND), ("run=0x10", NOT_FOUND),
    ("run=" + "9" * 5000, NOT_FOUND), ("run=..%2F..%2Fetc", NOT_FOUND), ("run=%00", NOT_FOUND),
    ("run=mlp", OK), ("run=%20mlp%20", OK), ("temperature=1_0", BAD), ("temperature=inf", BAD),
    ("temperature=%D9%A1", BAD), ("temperature=0x1", BAD), ("temperature=1e999", BAD),
    ("temperature=", BAD), ("temperature=2.5", OK), ("temperature=1e0", OK),
    ("temperature=.5", OK), ("model=%00", NOT_FOUND), ("model=MLP", NOT_FOUND),
    ("model=mlp&model=zzz", NOT_FOUND), ("model=cnn_small", OK), ("%FF%FE=%FF", OK),
    ("a=" + "b" * 8000, OK),
]  # fmt: skip


def query(rng: random.Random, bombs: dict[str, bytes]) -> Case:
    text, status = rng.choice(_QUERIES)
    return Case("query string", frozenset({status}), _image(rng), path=f"/predict?{text}")


def wrong_method(rng: random.Random, bombs: dict[str, bytes]) -> Case:
    method = rng.choice(["GET", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD"])
    path = rng.choice(["/predict", "/predict", "/health", "/models", "/nowhere", "//predict"])
    if path in ("/health", "/models") and method in ("GET", "HEAD"):
        method = "POST"  # GET and HEAD are what these answer
    status = NOT_FOUND if path in ("/nowhere", "//predict") else NOT_ALLOWED
    return Case("wrong method or path", frozenset({status}), _image(rng), method, path)


def content_type(rng: random.Random, bombs: dict[str, bytes]) -> Case:
    kind = rng.choice(["Image/PNG", "", "text/plain", "application/x-www-form-urlencoded",
                       "multipart/mixed", "\u00e9"])  # fmt: skip
    headers = {"Content-Type": kind.encode("utf-8").decode("latin-1")} if kind else {}
    return Case("content type", frozenset({OK}), _image(rng), headers=headers)


CATEGORIES: list[Callable[[random.Random, dict[str, bytes]], Case]] = [
    random_bytes, truncated, bit_flipped, bomb, odd_mode, animated, foreign_format,
    multipart, query, wrong_method, content_type,
]  # fmt: skip


def hostile_cases(seed: int, count: int, bombs: dict[str, bytes]) -> list[Case]:
    """`count` cases, the same for the same seed, every category in turn."""
    rng = random.Random(seed)
    return [CATEGORIES[index % len(CATEGORIES)](rng, bombs) for index in range(count)]
