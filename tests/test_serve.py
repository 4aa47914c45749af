"""The HTTP API, against a real `python -m digitlab serve` on a free local port."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
import requests
from PIL import Image

from digitlab import cli
from digitlab.data import notdigits
from digitlab.data.decode import MAX_UPLOAD_BYTES
from digitlab.data.pendigits import rasterize
from digitlab.zoo.registry import DEFAULT_MODEL, ZOO

from helpers import api_server

START_TIMEOUT_S = 120


@pytest.fixture(scope="module")
def url(tmp_path_factory: pytest.TempPathFactory, mnist):
    """The base URL of a real server, with a private store; stopped after the module."""
    with api_server(tmp_path_factory.mktemp("serve-store"), START_TIMEOUT_S) as base:
        yield base


@pytest.fixture(scope="module")
def seven(tmp_path_factory: pytest.TempPathFactory, mnist) -> Path:
    """A PNG of the first MNIST test digit (a 7), white on black."""
    path = tmp_path_factory.mktemp("images") / "seven.png"
    Image.fromarray(mnist.x_test[0]).save(path)
    return path


def cli_line(capsys, *args: str) -> dict:
    """What `python -m digitlab predict --json` prints: the oracle the API must match."""
    capsys.readouterr()
    cli.main(["predict", "--json", *args])
    return json.loads(capsys.readouterr().out)


def test_health_and_models(url):
    assert requests.get(f"{url}/health", timeout=10).json()["status"] == "ok"
    models = requests.get(f"{url}/models", timeout=10).json()
    assert [model["name"] for model in models] == list(ZOO)
    assert [model["name"] for model in models if model["default"]] == [DEFAULT_MODEL]
    assert all(model["available"] for model in models)  # every zoo model is shipped


def test_a_form_upload_answers_like_predict_json(url, seven, capsys):
    with seven.open("rb") as image:
        answer = requests.post(f"{url}/predict", files={"file": image}, timeout=60)
    assert answer.status_code == 200
    expected = cli_line(capsys, str(seven))
    assert answer.json() == {**expected, "path": "seven.png"}
    assert answer.json()["label"] == 7


def test_a_raw_body_with_model_and_temperature(url, seven, capsys):
    answer = requests.post(
        f"{url}/predict",
        params={"model": "mlp", "temperature": "3"},
        data=seven.read_bytes(),
        headers={"content-type": "image/png"},
        timeout=60,
    )
    assert answer.status_code == 200
    expected = cli_line(capsys, "--model", "mlp", "--temperature", "3", str(seven))
    assert answer.json() == {**expected, "path": None}


def test_a_blank_image_abstains_and_concurrent_requests_agree(url, tmp_path: Path):
    blank = tmp_path / "blank.png"
    Image.fromarray(np.full((64, 64), 255, np.uint8)).save(blank)
    answer = requests.post(f"{url}/predict", data=blank.read_bytes(), timeout=60).json()
    assert answer["abstained"] is True and answer["label"] is None

    def ask(_: int) -> dict:
        return requests.post(f"{url}/predict?model=cnn_small", data=blank.read_bytes(), timeout=60)

    with ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(ask, range(4)))
    assert {response.status_code for response in answers} == {200}
    loaded = requests.get(f"{url}/health", timeout=10).json()["loaded"]
    assert any(version.startswith("shipped-cnn_small-") for version in loaded)


def test_a_letter_gets_not_a_digit_from_the_default_model(url, tmp_path: Path):
    letter = tmp_path / "w.png"
    Image.fromarray(rasterize(notdigits.letter("W", np.random.default_rng(1)))).save(letter)
    answer = requests.post(f"{url}/predict", data=letter.read_bytes(), timeout=60).json()
    assert answer["abstained"] is True and answer["reason"] == "not a digit"
    assert answer["label"] is None and len(answer["probabilities"]) == 10


def test_a_run_id_chooses_the_run_and_an_unknown_one_is_404(url, seven):
    answer = requests.post(f"{url}/predict", params={"run": "mlp"}, data=seven.read_bytes())
    assert answer.status_code == 200 and answer.json()["label"] == 7
    missing = requests.post(f"{url}/predict", params={"run": "12345"}, data=seven.read_bytes())
    assert missing.status_code == 404 and "No run 12345" in missing.json()["error"]


@pytest.mark.parametrize(
    ("query", "body", "status", "message"),
    [
        ("", b"not an image", 400, "not a readable image"),
        ("", b"", 400, "No image"),
        ("?model=resnet", b"x", 404, "Unknown model 'resnet'"),
        ("?model=../../etc/passwd", b"x", 404, "Unknown model"),
        ("?temperature=0.05", b"x", 400, "temperature must be between"),
        ("?temperature=11", b"x", 400, "temperature must be between"),
        ("?temperature=hot", b"x", 400, "temperature must be between"),
        ("?temperature=nan", b"x", 400, "temperature must be between"),
        ("", b"x" * (MAX_UPLOAD_BYTES + 1), 413, "the limit is 5 MB"),
    ],
)
def test_bad_requests_get_4xx_with_a_message(url, query, body, status, message):
    answer = requests.post(f"{url}/predict{query}", data=body, timeout=60)
    assert answer.status_code == status
    assert message in answer.json()["error"]


def test_bad_forms_and_routes(url, seven):
    no_file = requests.post(f"{url}/predict", files={"picture": seven.read_bytes()}, timeout=60)
    assert no_file.status_code == 400 and "'file'" in no_file.json()["error"]
    too_big = requests.post(
        f"{url}/predict", files={"file": b"x" * (MAX_UPLOAD_BYTES + 1)}, timeout=60
    )
    assert too_big.status_code == 413
    assert requests.get(f"{url}/predict", timeout=10).status_code == 405
    missing = requests.get(f"{url}/nowhere", timeout=10)
    assert missing.status_code == 404 and missing.json()["error"]
