"""Write tests/js/fixtures.json: canvas drawings and what Python's `preprocess` makes of them,
for assets/js/preprocess.js to be checked against (tests/js/preprocess.test.mjs).

Run it again after changing digitlab/data/preprocess.py:
    .venv/bin/python tests/js/make_fixtures.py
Each drawing's alpha channel is stored deflated (the ink; RGB is black, as the canvas draws
it), each expected 28x28 image as float32 bytes: exact, and small enough to commit.
"""

from __future__ import annotations

import base64
import json
import sys
import zlib
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # run from anywhere

from digitlab.data.handdrawn import writer_digits  # noqa: E402
from digitlab.data.pendigits import rasterize  # noqa: E402
from digitlab.data.preprocess import ink_map, preprocess  # noqa: E402

OUT = Path(__file__).with_name("fixtures.json")
PEN_DIGITS = 16  # held-out writers' digits, drawn as the canvas draws them


def canvas(alpha: np.ndarray) -> np.ndarray:
    rgba = np.zeros((*alpha.shape, 4), np.uint8)
    rgba[..., 3] = alpha
    return rgba


def made_by_hand() -> dict[str, np.ndarray]:
    """Shapes that reach each branch: enlarging, lopsided, clipped, ties, blank, opaque."""
    drawings = {}
    bar = np.zeros((120, 90), np.uint8)
    bar[20:100, 40:50] = 255  # a tall "1", shrunk: 10 * 20/80 = 2.5 px wide rounds to 2
    drawings["tall bar"] = bar
    small = np.zeros((60, 60), np.uint8)
    small[25:36, 27:33] = 200  # under 20 px: enlarged (bilinear), faint ink scaled up
    drawings["small faint"] = small
    wide = np.zeros((100, 100), np.uint8)
    wide[48:53, 5:95] = 255  # a dash: the short side rounds to 2
    drawings["dash"] = wide
    tie = np.zeros((80, 80), np.uint8)
    tie[10:50, 10:32] = 255  # 11 px wide once shrunk: its centre of mass is a half-pixel shift
    drawings["half-pixel block"] = tie
    lopsided = np.zeros((100, 100), np.uint8)
    lopsided[10:90, 10:14] = 255
    lopsided[10:14, 10:90] = 255
    lopsided[10:20, 80:90] = 255  # mass far from the box centre: pasted partly off-frame
    drawings["lopsided"] = lopsided
    edge = np.zeros((50, 70), np.uint8)
    edge[:, 60:] = np.linspace(0, 255, 10, dtype=np.uint8)  # ink at the border, a gradient
    edge[0:3, 0:3] = 30  # a speck the trimmed box leaves out
    drawings["edge gradient"] = edge
    drawings["empty"] = np.zeros((40, 40), np.uint8)
    dot = np.zeros((200, 200), np.uint8)
    dot[100:103, 100:103] = 255  # too little ink: blank
    drawings["dot"] = dot
    opaque = np.full((40, 40), 255, np.uint8)
    opaque[10:30, 18:22] = 0  # mostly opaque: a photo's path, not the canvas's
    drawings["mostly opaque"] = opaque
    return drawings


def fixture(name: str, alpha: np.ndarray) -> dict:
    rgba = canvas(alpha)
    alpha_path = np.count_nonzero(alpha > 127) < alpha.size / 2  # preprocess.ink_map's test
    if alpha_path and alpha.max() > 5:
        assert np.array_equal(ink_map(rgba), alpha.astype(np.float32) / 255)
    result = preprocess(rgba)
    height, width = alpha.shape
    return {
        "name": name,
        "width": width,
        "height": height,
        "alpha": base64.b64encode(zlib.compress(alpha.tobytes(), 9)).decode(),
        "canvas": bool(alpha_path),  # False: the JS declines, the server answers
        "image": base64.b64encode(result.image.astype("<f4").tobytes()).decode(),
        "blank": bool(result.blank),
    }


def main() -> None:
    fixtures = [fixture(name, alpha) for name, alpha in made_by_hand().items()]
    digits = writer_digits("test")
    chosen = np.random.default_rng(0).choice(len(digits), PEN_DIGITS, replace=False)
    for index in sorted(chosen):
        digit = digits[index]
        size = (280, 140, 200)[index % 3]  # the page's canvas, and smaller ones
        alpha = rasterize(digit, size)[..., 3]
        fixtures.append(fixture(f"pen {digit.label} writer {digit.writer} ({size})", alpha))
    OUT.write_text(json.dumps(fixtures, indent=0) + "\n", encoding="utf-8")
    print(f"wrote {len(fixtures)} fixtures to {OUT} ({OUT.stat().st_size:,} bytes)")


if __name__ == "__main__":
    main()
