"""Upload instead of draw, and bad uploads: each gets a clear message in the app."""

import io
import os

import numpy as np
import pytest
from bombs import png_bomb
from memory import peak_rss
from PIL import Image
from streamlit.testing.v1 import AppTest
from test_bad_input import huge_png_header

from digitlab.data.pendigits import (
    default_pendigits_path,
    parse_pendigits,
    rasterize,
    sample_balanced,
)
from digitlab.zoo.registry import DEFAULT_MODEL

from helpers import new_app


def png_bytes(array: np.ndarray, mode: str | None = None) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array, mode).save(buffer, format="PNG")
    return buffer.getvalue()


def upload(name: str, content: bytes) -> AppTest:
    app = new_app(DEFAULT_MODEL)
    app.session_state["input_source"] = "Upload"
    app.run()
    app.file_uploader[0].set_value((name, content, "image/png"))
    app.run()
    assert not app.exception
    return app


def prediction(app: AppTest) -> str:
    return next(m.value for m in app.metric if m.label == "Prediction")


def test_a_photo_of_a_digit_is_predicted_and_shown():
    path = default_pendigits_path()
    if path is None:
        pytest.skip("the pendigits file is not available")
    digit = next(d for d in sample_balanced(parse_pendigits(path), 1) if d.label == 3)
    paper = 255 - rasterize(digit)[..., 3]  # dark ink on white paper, like a scan
    app = upload("three.png", png_bytes(paper))
    assert prediction(app) == "3"
    assert any("Your image" in image.proto.imgs[0].caption for image in app.get("image"))


@pytest.mark.parametrize(
    ("name", "content", "fragment"),
    [
        ("notes.png", b"just some text", "not"),
        ("huge.png", huge_png_header(10_000, 10_000), "10000x10000"),
    ],
)
def test_unreadable_uploads_get_one_message_and_leave_the_list(name, content, fragment):
    app = upload(name, content)
    assert prediction(app) == "—"
    assert [error.value for error in app.error if fragment in error.value]
    assert not app.info  # no "No digit found" under the error
    assert app.file_uploader[0].value is None  # a fresh, empty uploader


def test_a_file_over_the_limit_is_refused_with_its_size():
    too_big = b"\x89PNG\r\n\x1a\n" + bytes(6 * 2**20)
    app = upload("big.png", too_big)
    assert [error.value for error in app.error] == [
        "big.png: the file is 6.0 MB; the limit is 5 MB"
    ]
    assert not app.info
    assert app.file_uploader[0].value is None


def test_a_bomb_is_refused_with_one_message_and_memory_stays_small():
    bomb = png_bomb(5000, 5000, colour_type=6)  # 0.4 MB sent, 100 MB if decoded as RGBA
    upload("warm.png", png_bytes(np.zeros((8, 8), np.uint8)))  # the app's own first costs
    with peak_rss(os.getpid()) as memory:
        app = upload("bomb.png", bomb)
    assert [error.value for error in app.error] == [
        "bomb.png: the image is 5000x5000 = 25,000,000 pixels; the limit is 16,000,000"
    ]
    assert not app.info and app.file_uploader[0].value is None
    # Decoded, it took +234 MB here (RGBA, then its conversions); refused, +2 MB.
    assert memory["peak"] - memory["before"] < 40, memory


@pytest.mark.parametrize(
    ("name", "array", "mode"),
    [
        ("dot.png", np.zeros((1, 1), np.uint8), None),
        ("transparent.png", np.zeros((50, 50, 4), np.uint8), "RGBA"),
        ("white.png", np.full((50, 50), 255, np.uint8), None),
        ("black.png", np.zeros((50, 50), np.uint8), None),
    ],
)
def test_images_without_a_digit_abstain(name, array, mode):
    app = upload(name, png_bytes(array, mode))
    assert prediction(app) == "—"
    assert any("No digit found" in info.value for info in app.info)
