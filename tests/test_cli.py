"""The command line: `python -m digitlab ...` in a process of its own where the process is
what is tested (its exit status, what it imports), else its `main` run in this process."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from digitlab.data.pendigits import (
    default_pendigits_path,
    parse_pendigits,
    rasterize,
    sample_balanced,
)

from helpers import REPO_ROOT, cli, run_cli

ROOT = Path(__file__).resolve().parents[1]


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
        store=private_store,
    )
    assert done.returncode == 2, done.stderr  # some files failed
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    assert [line["path"] for line in lines] == [str(images[k]) for k in order]
    for line in lines:
        assert set(line) == {"path", "label", "probabilities", "abstained", "reason", "error"}
    four, paper, blank, text, empty = lines
    assert four["label"] == 4 and paper["label"] == 4 and four["error"] is None
    assert len(four["probabilities"]) == 10 and abs(sum(four["probabilities"]) - 1) < 1e-4
    assert blank == {
        "path": str(images["blank"]),
        "label": None,
        "probabilities": None,
        "abstained": True,
        "reason": "blank",
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
        store=private_store,
    )
    flat = run_cli(
        "predict",
        "--json",
        "--temperature",
        "5",
        str(images["four_alpha"]),
        store=private_store,
    )
    assert sharp.returncode == 0 and flat.returncode == 0, sharp.stderr + flat.stderr
    assert max(json.loads(sharp.stdout)["probabilities"]) > max(
        json.loads(flat.stdout)["probabilities"]
    )


def test_a_trained_run_is_listed_used_promoted_and_deleted(mnist, images, private_store):
    trained = cli("train", "--model", "tiny20", "--epochs", "1", "--samples", "500", "--json",
                  store=private_store)  # fmt: skip
    assert trained.returncode == 0, trained.stderr
    summary = json.loads(trained.stdout)
    assert summary["status"] == "trained" and 0 < summary["metrics"]["accuracy"] <= 1
    run_id = summary["run"]

    def models() -> dict[str, dict]:
        listed = cli("models", "--json", store=private_store)
        return {row["name"]: row for row in json.loads(listed.stdout)}

    rows = models()
    assert set(rows) == {"mlp", "mlp_small", "cnn", "cnn_small", "cnn_bn", "regression",
                         "tiny20", "digitnet"}  # fmt: skip
    assert rows["tiny20"]["available"] == "shipped"  # training changes no default
    assert rows["mlp"]["available"] == "shipped" and rows["mlp"]["test_accuracy"] > 0.97

    listed = json.loads(cli("runs", "list", "--model", "tiny20", "--json",
                            store=private_store).stdout)  # fmt: skip
    assert [row["id"] for row in listed] == [run_id, "tiny20"]
    assert listed[0]["changed"] == {"epochs": 1, "train_samples": 500}  # from tiny20's recipe
    assert [row["default"] for row in listed] == [False, True]
    shown = json.loads(cli("runs", "show", run_id, "--json", store=private_store).stdout)
    assert shown["config"]["epochs"] == 1 and len(shown["history"]["loss"]) == 1

    by_run = cli("predict", "--run", run_id, "--json", str(images["four_alpha"]),
                 store=private_store)  # fmt: skip
    by_default = cli("predict", "--model", "tiny20", "--json", str(images["four_alpha"]),
                     store=private_store)  # fmt: skip
    assert by_run.returncode == 0 and by_default.returncode == 0
    assert json.loads(by_run.stdout) != json.loads(by_default.stdout)  # two different models

    promoted = cli("runs", "promote", run_id, store=private_store)
    assert promoted.returncode == 0 and "new sessions" in promoted.stdout
    assert models()["tiny20"]["available"] == "promoted"
    assert models()["tiny20"]["run"] == run_id
    after = cli("predict", "--model", "tiny20", "--json", str(images["four_alpha"]),
                store=private_store)  # fmt: skip
    assert json.loads(after.stdout) == json.loads(by_run.stdout)

    assert cli("runs", "delete", run_id, store=private_store).returncode == 0
    assert models()["tiny20"]["available"] == "shipped"
    gone = cli("runs", "show", run_id, store=private_store)
    assert gone.returncode == 1 and f"No run {run_id}" in gone.stderr


def test_runs_of_the_shipped_models_cannot_be_deleted(private_store):
    done = cli("runs", "delete", "digitnet", store=private_store)
    assert done.returncode == 1 and "shipped run" in done.stderr and "Traceback" not in done.stderr


def test_help_does_not_load_tensorflow():
    code = (
        "import sys, contextlib, io\n"
        "from digitlab.cli import main\n"
        "with contextlib.suppress(SystemExit), contextlib.redirect_stdout(io.StringIO()):\n"
        "    main(['--help'])\n"
        "loaded = [m for m in sys.modules if m.split('.')[0] in ('tensorflow', 'keras')]\n"
        "print(len(loaded))"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True,
                          text=True, timeout=60)  # fmt: skip
    assert done.returncode == 0 and done.stdout.strip() == "0", done.stderr


def test_the_commands_write_nothing_into_the_checkout(mnist, images, private_store, tmp_path):
    """Shipped files are read-only: caches of shipped runs go to the store, not assets/."""
    if not (REPO_ROOT / ".git").exists():
        pytest.skip("not a git checkout")

    def status() -> str:
        return subprocess.run(["git", "status", "--porcelain", "--ignored", "assets"],
                              cwd=REPO_ROOT, capture_output=True, text=True).stdout  # fmt: skip

    before = status()
    for args in (
        ["models"],
        ["runs", "list"],
        ["evaluate", "--model", "tiny20", "--json"],
        ["evaluate", "--model", "regression"],
        ["predict", "--model", "tiny20", str(images["four_alpha"])],
        ["export", "--model", "tiny20", "--format", "keras", "--out", str(tmp_path / "t.keras")],
        ["train", "--model", "tiny20", "--epochs", "1", "--samples", "300"],
    ):
        done = cli(*args, store=private_store)
        assert done.returncode == 0, (args, done.stderr[-800:])
    assert status() == before
    assert list((private_store / "cache" / "evaluation").iterdir())  # the caches went here


def test_bad_settings_get_one_clear_line(private_store):
    done = cli("train", "--model", "mlp", "--epochs", "0", store=private_store)
    assert done.returncode == 2
    assert "epochs must be between 1 and 100" in done.stderr and "Traceback" not in done.stderr
