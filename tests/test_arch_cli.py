"""`python -m digitlab arch show | check` and `train --arch spec.json`: a network of one's
own trained as a run like any other, and a spec that can't work refused in one line."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from digitlab.zoo.networks import ZOO_SPECS

from helpers import REPO_ROOT, cli

# Two convolutions, one a residual block around a conv and batch norm: small and quick.
SPEC = {
    "input": [28, 28, 1],
    "layers": [
        {"type": "Conv2D", "filters": 4, "kernel_size": 3, "activation": "relu"},
        {"type": "MaxPooling2D"},
        {
            "type": "Residual",
            "layers": [
                {"type": "Conv2D", "filters": 4, "kernel_size": 3, "padding": "same"},
                {"type": "BatchNormalization"},
            ],
            "activation": "relu",
        },
        {"type": "Flatten"},
        {"type": "Dense", "units": 10},
    ],
}
CONV_AFTER_FLATTEN = {
    "layers": [
        {"type": "Flatten"},
        {"type": "Conv2D", "filters": 4, "kernel_size": 3},
        {"type": "Dense", "units": 10},
    ]
}


def _write(folder, name, spec) -> str:
    path = folder / name
    path.write_text(spec if isinstance(spec, str) else json.dumps(spec))
    return str(path)


def test_arch_show_prints_a_zoo_models_spec(private_store):
    shown = cli("arch", "show", "cnn_small", store=private_store)
    assert shown.returncode == 0 and json.loads(shown.stdout) == ZOO_SPECS["cnn_small"]
    preset = cli("arch", "show", "residual_cnn", store=private_store)
    assert json.loads(preset.stdout)["layers"][-1] == {"type": "Dense", "units": 10}
    unknown = cli("arch", "show", "resnet50", store=private_store)
    assert unknown.returncode == 2 and "no network named 'resnet50'" in unknown.stderr


def test_arch_check_prints_the_summary(private_store, tmp_path):
    checked = cli("arch", "check", _write(tmp_path, "s.json", SPEC), "--json", store=private_store)
    summary = json.loads(checked.stdout)
    assert [row["position"] for row in summary["layers"]] == ["1", "2", "3.1", "3.2", "3", "4", "5"]
    assert (
        summary["params"] == sum(row["params"] for row in summary["layers"]) == 40 + 148 + 16 + 6770
    )
    assert summary["task"] == "classification"


@pytest.mark.parametrize(
    ("spec", "said"),
    [
        (CONV_AFTER_FLATTEN, "layer 2 (Conv2D): it needs an image"),
        ({"layers": [{"type": "Lambda", "function": "x"}]}, "layer 1 (Lambda): unknown layer"),
        ('{"layers": [', "the spec is not valid JSON"),
    ],
)
def test_a_spec_that_cannot_work_exits_2_with_one_line(private_store, tmp_path, spec, said):
    done = cli("train", "--arch", _write(tmp_path, "bad.json", spec), store=private_store)
    assert done.returncode == 2 and said in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1 and "Traceback" not in done.stderr


def test_a_refused_spec_never_imports_tensorflow(private_store, tmp_path):
    path = _write(tmp_path, "bad.json", CONV_AFTER_FLATTEN)
    script = (
        "import sys; from digitlab.cli import main; code = main(['train', '--arch', "
        f"{path!r}]); sys.exit(code if 'tensorflow' not in sys.modules else 99)"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=REPO_ROOT, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2, done.stderr


def test_train_arch_makes_a_run_that_predicts(mnist, private_store, tmp_path):
    spec_file = _write(tmp_path, "spec.json", SPEC)
    flags = ("--epochs", "1", "--samples", "300", "--json")
    trained = cli("train", "--arch", spec_file, *flags, store=private_store)
    assert trained.returncode == 0, trained.stderr
    summary = json.loads(trained.stdout)
    assert summary["model"] == "custom" and summary["status"] == "trained"
    shown = json.loads(cli("runs", "show", summary["run"], "--json", store=private_store).stdout)
    assert json.loads(shown["config"]["arch"]) == SPEC
    image = np.full((28, 28), 255, np.uint8)
    image[4:24, 12:16] = 0  # a dark vertical stroke on white paper: a 1
    Image.fromarray(image).save(tmp_path / "one.png")
    answered = cli("predict", "--run", summary["run"], str(tmp_path / "one.png"), "--json",
                   store=private_store)  # fmt: skip
    answer = json.loads(answered.stdout.splitlines()[0])
    assert answered.returncode == 0 and len(answer["probabilities"]) == 10
    again = cli("train", "--arch", spec_file, *flags, store=private_store)
    assert json.loads(again.stdout)["status"] == "cached"  # the spec is part of the config key
