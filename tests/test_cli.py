"""The command line, run as a user runs it: `python -m digitlab ...` in a subprocess."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from digitlab.pendigits import default_pendigits_path, parse_pendigits, rasterize, sample_balanced

ROOT = Path(__file__).resolve().parents[1]


def run_cli(*args: str, env_store: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "DIGITLAB_STORE_DIR": str(env_store)}
    return subprocess.run(
        [sys.executable, "-m", "digitlab", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.fixture(scope="module")
def images(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("images")
    paths = {}
    pen_file = default_pendigits_path()
    if pen_file is None:
        pytest.skip("the pendigits file is not available")
    digit = next(d for d in sample_balanced(parse_pendigits(pen_file), 1) if d.label == 4)
    canvas = rasterize(digit)
    paths["four_alpha"] = folder / "four.png"
    Image.fromarray(canvas, "RGBA").save(paths["four_alpha"])
    paper = 255 - canvas[..., 3]  # the same digit as dark ink on white paper, as a JPEG
    paths["four_paper"] = folder / "four_paper.jpg"
    Image.fromarray(paper, "L").save(paths["four_paper"], quality=90)
    paths["blank"] = folder / "blank.png"
    Image.fromarray(np.zeros((280, 280, 4), np.uint8), "RGBA").save(paths["blank"])
    paths["text"] = folder / "notes.png"
    paths["text"].write_text("this is not an image")
    paths["empty"] = folder / "empty.png"
    paths["empty"].write_bytes(b"")
    return paths


def test_predict_json_contract(images, private_store):
    order = ["four_alpha", "four_paper", "blank", "text", "empty"]
    done = run_cli(
        "predict",
        "--model",
        "mlp",
        "--json",
        *[str(images[k]) for k in order],
        env_store=private_store,
    )
    assert done.returncode == 2, done.stderr  # some files failed
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    assert [line["path"] for line in lines] == [str(images[k]) for k in order]
    for line in lines:
        assert set(line) == {"path", "label", "probabilities", "abstained", "error"}
    four, paper, blank, text, empty = lines
    assert four["label"] == 4 and paper["label"] == 4 and four["error"] is None
    assert len(four["probabilities"]) == 10 and abs(sum(four["probabilities"]) - 1) < 1e-4
    assert blank == {
        "path": str(images["blank"]),
        "label": None,
        "probabilities": None,
        "abstained": True,
        "error": None,
    }
    for failed in (text, empty):
        assert failed["error"] and failed["label"] is None and not failed["abstained"]


def test_predict_all_good_exits_zero_and_temperature_flattens(images, private_store):
    sharp = run_cli(
        "predict",
        "--json",
        "--temperature",
        "0.5",
        str(images["four_alpha"]),
        env_store=private_store,
    )
    flat = run_cli(
        "predict",
        "--json",
        "--temperature",
        "5",
        str(images["four_alpha"]),
        env_store=private_store,
    )
    assert sharp.returncode == 0 and flat.returncode == 0, sharp.stderr + flat.stderr
    assert max(json.loads(sharp.stdout)["probabilities"]) > max(
        json.loads(flat.stdout)["probabilities"]
    )


def test_models_lists_the_zoo_and_train_reports_json(mnist, private_store):
    trained = run_cli(
        "train",
        "--model",
        "tiny20",
        "--epochs",
        "1",
        "--samples",
        "500",
        "--json",
        env_store=private_store,
    )
    assert trained.returncode == 0, trained.stderr
    summary = json.loads(trained.stdout)
    assert summary["status"] == "trained" and 0 < summary["metrics"]["accuracy"] <= 1
    listed = run_cli("models", "--json", env_store=private_store)
    rows = {row["name"]: row for row in json.loads(listed.stdout)}
    assert set(rows) >= {
        "mlp",
        "mlp_small",
        "cnn",
        "cnn_small",
        "cnn_bn",
        "regression",
        "tiny20",
        "digitnet",
    }
    assert rows["tiny20"]["available"] == "trained"
    assert rows["mlp"]["available"] == "shipped" and rows["mlp"]["test_accuracy"] > 0.97


def test_bad_settings_get_one_clear_line(private_store):
    done = run_cli("train", "--model", "mlp", "--epochs", "0", env_store=private_store)
    assert done.returncode == 2
    assert "epochs must be between 1 and 100" in done.stderr and "Traceback" not in done.stderr
