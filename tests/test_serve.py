"""The HTTP API, against a real `python -m digitlab serve` on a free local port."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
import requests
from PIL import Image

from digitlab import cli
from digitlab.models import DEFAULT_MODEL, ZOO
from digitlab.preprocess import MAX_UPLOAD_BYTES

REPO = Path(__file__).resolve().parents[1]
START_TIMEOUT_S = 120


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until_healthy(url: str, server: subprocess.Popen) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"the server exited with {server.returncode}")
        try:
            if requests.get(f"{url}/health", timeout=2).status_code == 200:
                return
        except requests.ConnectionError:
            pass
        time.sleep(0.3)
    raise TimeoutError(f"the server did not answer /health within {START_TIMEOUT_S} s")


@pytest.fixture(scope="module")
def url(tmp_path_factory: pytest.TempPathFactory, mnist):
    """The base URL of a real server, with a private store; stopped after the module."""
    port = free_port()
    env = {**os.environ, "DIGITLAB_STORE_DIR": str(tmp_path_factory.mktemp("serve-store"))}
    server = subprocess.Popen(
        [sys.executable, "-m", "digitlab", "serve", "--port", str(port)],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        wait_until_healthy(base, server)
        yield base
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()


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
    assert "cnn_small" in requests.get(f"{url}/health", timeout=10).json()["loaded"]


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
