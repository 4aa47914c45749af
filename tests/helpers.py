"""What many tests share: the app under AppTest, the command line (in a process of its own
or in this one), a free port and a server's health wait, a digit drawn the way the canvas
returns it, and the tiny training config that conftest's `trained_once` trains once."""

from __future__ import annotations

import contextlib
import io
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw
from streamlit.testing.v1 import AppTest

from digitlab.ui.canvas import CANVAS_SIZE
from digitlab.ui.state import INJECTED_IMAGE, MODEL_KEY
from digitlab.zoo.config import TrainConfig
from digitlab.zoo.registry import DEFAULT_MODEL

REPO_ROOT = Path(__file__).resolve().parents[1]
APP = str(REPO_ROOT / "streamlit_app.py")
# The run most tests need: the 20x20 network, one epoch on 500 images (a few seconds).
TINY = TrainConfig(model="tiny20", epochs=1, train_samples=500)
PAGES = {
    name: f"digitlab/ui/pages/{name}.py"
    for name in ("draw", "build", "data", "runs", "evaluate", "export", "my_digits")
}


def new_app(model: str = DEFAULT_MODEL, drawing: np.ndarray | None = None) -> AppTest:
    """DigitLab under AppTest on the Draw page, with a model and a drawing (not run yet)."""
    app = AppTest.from_file(APP, default_timeout=120)
    app.session_state[MODEL_KEY] = model
    if drawing is not None:
        app.session_state[INJECTED_IMAGE] = drawing
    return app


def open_page(app: AppTest, name: str) -> AppTest:
    """Switch to one of the app's pages (a name in PAGES: "draw", "build", "runs"...) and run."""
    return app.switch_page(PAGES[name]).run()


def metric(app: AppTest, label: str):
    return next(m.value for m in app.metric if m.label == label)


def run_cli(*args: str, store: Path, timeout: float = 300) -> subprocess.CompletedProcess:
    """`python -m digitlab ARGS` in a fresh process on a given model store."""
    return subprocess.run(
        [sys.executable, "-m", "digitlab", *args],
        cwd=REPO_ROOT,
        env={**os.environ, "DIGITLAB_STORE_DIR": str(store)},
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def cli(*args: str, store: Path) -> subprocess.CompletedProcess:
    """`python -m digitlab ARGS` run in this process (`digitlab.cli.main`) on a given
    model store: for what a command does, where the process itself is not what is tested.

    Answers as run_cli does: the exit status, stdout and stderr. An exception the command
    does not catch is raised here (a user would have seen a traceback)."""
    from digitlab.cli import main

    out, err = io.StringIO(), io.StringIO()
    previous = os.environ.get("DIGITLAB_STORE_DIR")
    os.environ["DIGITLAB_STORE_DIR"] = str(store)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = main(list(args))
            except SystemExit as stopped:  # argparse: --help, or a bad option
                code = stopped.code or 0 if isinstance(stopped.code, int | None) else 1
    finally:
        if previous is None:
            del os.environ["DIGITLAB_STORE_DIR"]
        else:
            os.environ["DIGITLAB_STORE_DIR"] = previous
    return subprocess.CompletedProcess(["digitlab", *args], code, out.getvalue(), err.getvalue())


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def http_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return False


def wait_until_healthy(
    url: str, process: subprocess.Popen, timeout: float, log: Callable[[], str] = lambda: ""
) -> None:
    """Wait until GET `url` answers 200; fail with the server's log if it exits or stalls."""
    deadline = time.monotonic() + timeout
    while not http_ok(url):
        if process.poll() is not None:
            raise RuntimeError(f"the server exited with {process.returncode}:\n{log()}")
        if time.monotonic() > deadline:
            raise TimeoutError(f"the server did not answer {url} within {timeout:.0f} s:\n{log()}")
        time.sleep(0.25)


@contextlib.contextmanager
def api_server_process(
    store: Path, start_timeout: float = 120, log: Path | None = None
) -> Iterator[tuple[str, subprocess.Popen]]:
    """A real `python -m digitlab serve` on a free port over a store: its base URL and its
    process (for its memory); its stdout and stderr go to `log` when one is given."""
    port = free_port()
    output = log.open("wb") if log is not None else subprocess.DEVNULL
    server = subprocess.Popen(
        [sys.executable, "-m", "digitlab", "serve", "--port", str(port)],
        cwd=REPO_ROOT,
        env={**os.environ, "DIGITLAB_STORE_DIR": str(store)},
        stdout=output,
        stderr=output,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        wait_until_healthy(f"{base}/health", server, start_timeout)
        yield base, server
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
        if log is not None:
            output.close()


@contextlib.contextmanager
def api_server(store: Path, start_timeout: float = 120) -> Iterator[str]:
    """A real `python -m digitlab serve` on a free port over a store; yields its base URL."""
    with api_server_process(store, start_timeout) as (base, _):
        yield base


def drawn_seven() -> np.ndarray:
    """A canvas-sized RGBA drawing of a 7: black strokes, the ink in the alpha channel."""
    canvas = Image.new("RGBA", (CANVAS_SIZE, CANVAS_SIZE), (0, 0, 0, 0))
    pen = ImageDraw.Draw(canvas)
    pen.line([(80, 60), (200, 60), (120, 230)], fill=(0, 0, 0, 255), width=20, joint="curve")
    return np.asarray(canvas)
