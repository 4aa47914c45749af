"""Tests for digitlab.data.pendigits: parsing the UNIPEN file, fitting, rasterising, sampling."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest

from digitlab.data.pendigits import (
    PenDigit,
    default_pendigits_path,
    fit_to_canvas,
    parse_pendigits,
    rasterize,
    sample_balanced,
)

SMALL_FILE = """.INCLUDE        dene.doc

.LEXICON "0" "1" "2" "3" "4" "5" "6" "7" "8" "9"
.HIERARCHY      DIGIT

.SEGMENT DIGIT    0 ? "7"
.COMMENT 7  3  12
.PEN_DOWN
 100  400
 300  400
 200  100
.PEN_UP
.DT 100

.SEGMENT DIGIT    1-2 ? "4"
.COMMENT 4 5   7
.PEN_DOWN
 150  400
 120  250
 250  250
.PEN_UP
.DT 100
.PEN_DOWN
 220  350
 220  100
.PEN_UP
.DT 100
"""


@pytest.fixture(scope="module")
def real_digits() -> list[PenDigit]:
    path = default_pendigits_path()
    if path is None or not path.is_file():
        pytest.skip("the pendigits file is not available (set DIGITLAB_PENDIGITS)")
    return parse_pendigits(path)


@pytest.fixture
def small_digits(tmp_path: Path) -> list[PenDigit]:
    path = tmp_path / "small.gz"
    path.write_bytes(gzip.compress(SMALL_FILE.encode()))
    return parse_pendigits(path)


def test_parse_small_file(small_digits, tmp_path):
    seven, four = small_digits
    assert (seven.label, seven.writer, seven.index) == (7, 3, 12)
    assert (four.label, four.writer, four.index) == (4, 5, 7)
    assert len(four.strokes) == 2
    np.testing.assert_array_equal(seven.strokes[0], [[100, 400], [300, 400], [200, 100]])
    assert seven.strokes[0].dtype == np.float32

    plain = tmp_path / "small.txt"
    plain.write_text(SMALL_FILE)
    assert [d.label for d in parse_pendigits(plain)] == [7, 4]


@pytest.mark.parametrize(
    ("broken", "replacement"),
    [
        (" 300  400\n", " 300  four\n"),  # not a number
        (" 300  400\n", " 300\n"),  # one coordinate
        ('? "7"', '? "x"'),  # no digit label
        (".COMMENT 7  3  12", ".COMMENT 8  3  12"),  # label disagrees
        (".PEN_UP\n.DT 100\n\n.SEGMENT DIGIT    1-2", ".DT 100\n\n.SEGMENT DIGIT    1-2"),
        (".PEN_DOWN\n 100", " 100"),  # a point outside a stroke
    ],
)
def test_malformed_input_raises_value_error(tmp_path, broken, replacement):
    assert broken in SMALL_FILE
    path = tmp_path / "broken.txt"
    path.write_text(SMALL_FILE.replace(broken, replacement, 1))
    with pytest.raises(ValueError, match="broken.txt"):
        parse_pendigits(path)


def test_files_without_digits_or_not_text(tmp_path):
    empty = tmp_path / "empty.txt"
    empty.write_text(".INCLUDE dene.doc\n")
    with pytest.raises(ValueError):
        parse_pendigits(empty)
    binary = tmp_path / "binary.gz"
    binary.write_bytes(b"\x1f\x8b\x08\x00garbage")
    with pytest.raises(ValueError):
        parse_pendigits(binary)


def test_env_var_chooses_the_file(monkeypatch, tmp_path):
    monkeypatch.setenv("DIGITLAB_PENDIGITS", str(tmp_path / "mine.gz"))
    assert default_pendigits_path() == tmp_path / "mine.gz"


def test_fit_to_canvas_centres_scales_and_flips(small_digits):
    size, margin = 280, 0.15
    seven = small_digits[0]
    strokes = fit_to_canvas(seven, size, margin)
    points = np.concatenate(strokes)
    assert points.min() >= margin * size - 1e-3
    assert points.max() <= (1 - margin) * size + 1e-3
    # The 7 is taller than wide, so its height fills the box exactly.
    assert points[:, 1].min() == pytest.approx(margin * size)
    assert points[:, 1].max() == pytest.approx((1 - margin) * size)
    assert (points[:, 0].min() + points[:, 0].max()) / 2 == pytest.approx(size / 2)
    # Its bar is on top: highest on the tablet (y up), smallest y on the canvas (y down).
    assert strokes[0][0, 1] < strokes[0][2, 1]


def test_real_file(real_digits):
    assert len(real_digits) == 7494
    assert {d.label for d in real_digits} == set(range(10))
    assert len({d.writer for d in real_digits}) == 30
    size, margin = 280, 0.15
    for digit in real_digits[:200]:
        points = np.concatenate(fit_to_canvas(digit, size, margin))
        assert points.min() >= margin * size - 1e-3
        assert points.max() <= (1 - margin) * size + 1e-3


def test_rasterize_looks_like_the_canvas(real_digits):
    image = rasterize(real_digits[0])
    assert image.shape == (280, 280, 4) and image.dtype == np.uint8
    assert not image[..., :3].any()
    alpha = image[..., 3]
    assert (alpha == 255).any()
    assert alpha[0, 0] == alpha[0, -1] == alpha[-1, 0] == alpha[-1, -1] == 0
    # Antialiased edges: some partly covered pixels, but the ink is mostly solid.
    assert ((alpha > 0) & (alpha < 255)).any()
    assert (alpha == 255).sum() > ((alpha > 0) & (alpha < 255)).sum()


def test_rasterize_stroke_width(small_digits):
    four = small_digits[1]
    thin = (rasterize(four, stroke_width=6)[..., 3] > 127).sum()
    thick = (rasterize(four)[..., 3] > 127).sum()
    assert thick > 2 * thin


def test_sample_balanced(real_digits):
    sample = sample_balanced(real_digits, 5)
    assert len(sample) == 50
    labels = [d.label for d in sample]
    assert labels == sorted(labels)
    assert np.bincount(labels).tolist() == [5] * 10
    for label in range(10):
        writers = [d.writer for d in sample if d.label == label]
        assert len(set(writers)) == 5  # 30 writers, so no writer twice within a class
    assert sample_balanced(real_digits, 5) == sample  # same objects, same order
    assert sample_balanced(real_digits, 5, seed=1) != sample


def test_sample_balanced_needs_enough_digits(small_digits):
    with pytest.raises(ValueError):
        sample_balanced(small_digits, 1)  # only a 7 and a 4
    assert sample_balanced(small_digits, 0) == []
