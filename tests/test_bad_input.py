"""Bad input through the command line: every file gets a clear answer, nothing is lost."""

import json
import struct
import zlib
from pathlib import Path

import numpy as np
from PIL import Image

from helpers import cli, run_cli

ROOT = Path(__file__).resolve().parents[1]


def huge_png_header(width: int, height: int) -> bytes:
    """A valid PNG signature and header claiming a huge size, with almost no pixel data."""

    def chunk(kind: bytes, payload: bytes) -> bytes:
        body = kind + payload
        return struct.pack(">I", len(payload)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 64))
        + chunk(b"IEND", b"")
    )


def test_every_kind_of_bad_image_gets_its_own_clear_line(tmp_path, private_store):
    files = {
        "empty.png": b"",
        "text.png": b"hello, I am a text file",
        "huge.png": huge_png_header(10_000, 10_000),
    }
    for name, content in files.items():
        (tmp_path / name).write_bytes(content)
    Image.fromarray(np.zeros((1, 1), np.uint8)).save(tmp_path / "one_pixel.png")
    Image.fromarray(np.zeros((64, 64, 4), np.uint8), "RGBA").save(tmp_path / "transparent.png")
    Image.fromarray(np.full((64, 64), 255, np.uint8)).save(tmp_path / "white.png")
    Image.fromarray(np.zeros((64, 64), np.uint8)).save(tmp_path / "black.png")
    names = [
        "empty.png",
        "text.png",
        "huge.png",
        "one_pixel.png",
        "transparent.png",
        "white.png",
        "black.png",
    ]
    done = run_cli("predict", "--model", "mlp_small", "--json",
                   *[str(tmp_path / name) for name in names], store=private_store)  # fmt: skip
    assert done.returncode == 2, done.stderr
    lines = {Path(line["path"]).name: line for line in map(json.loads, done.stdout.splitlines())}
    assert list(lines) == names  # one line per file, in order, none lost
    assert "empty" in lines["empty.png"]["error"]
    assert "not" in lines["text.png"]["error"] and "image" in lines["text.png"]["error"]
    assert "10000x10000" in lines["huge.png"]["error"]
    for blank in ("one_pixel.png", "transparent.png", "white.png", "black.png"):
        assert lines[blank]["error"] is None and lines[blank]["abstained"] is True
        assert lines[blank]["label"] is None


def test_a_diverging_run_says_so_and_stores_nothing(mnist, private_store):
    done = cli("train", "--model", "regression", "--optimizer", "sgd", "--lr", "1.0",
               "--epochs", "2", "--samples", "2000", "--json", store=private_store)  # fmt: skip
    assert done.returncode == 1
    summary = json.loads(done.stdout)
    assert summary["status"] == "diverged" and "NaN" in summary["message"]
    assert summary["path"] is None and summary["run"] is None
    assert not list(private_store.glob("runs/*/model.keras"))


def test_a_corrupt_run_is_a_clear_error_and_the_default_still_answers(tmp_path, private_store):
    from digitlab import store
    from digitlab.zoo.builders import build_model
    from digitlab.zoo.config import TrainConfig

    run = store.save_run(build_model("mlp_small"), TrainConfig(model="mlp_small", seed=9), {},
                         {"accuracy": 0.5}, seconds=1.0, root=private_store)  # fmt: skip
    run.model_file.write_bytes(b"not a keras file")
    image = tmp_path / "blank.png"
    Image.fromarray(np.zeros((28, 28), np.uint8)).save(image)
    broken = cli("predict", "--run", run.id, "--json", str(image), store=private_store)
    assert broken.returncode == 1 and f"error: Cannot load run {run.id}" in broken.stderr
    assert "Traceback" not in broken.stderr
    done = cli("predict", "--model", "mlp_small", "--json", str(image), store=private_store)
    assert done.returncode == 0, done.stderr[-1500:]
    assert json.loads(done.stdout)["abstained"] is True
