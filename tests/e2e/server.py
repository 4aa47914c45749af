"""A Streamlit app served in a subprocess for the browser tests, and what it costs in memory.

Kept out of conftest.py so the tests can import it by name; test modules import from here
and browser.py, never from one another.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from helpers import free_port, wait_until_healthy

REPO_ROOT = Path(__file__).resolve().parents[2]
SERVER_START_TIMEOUT_S = 60.0


@contextmanager
def streamlit_server(script: Path, work_dir: Path) -> Iterator[str]:
    """Run `streamlit run script` from the repo root on a free port; yield its URL.

    The server gets its own model store under work_dir, so training in a test never
    touches the user's ~/.digitlab; its output goes to a file there (a pipe nobody reads
    would fill up and stall the server).
    """
    store = work_dir / "store"
    store.mkdir(parents=True, exist_ok=True)
    log_path = work_dir / "server.log"
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {**os.environ, "DIGITLAB_STORE_DIR": str(store), "PYTHONUNBUFFERED": "1"}
    command = [
        sys.executable, "-m", "streamlit", "run", str(script),
        "--server.headless", "true",
        "--server.address", "127.0.0.1",
        "--server.port", str(port),
        "--server.fileWatcherType", "none",
        "--browser.gatherUsageStats", "false",
    ]  # fmt: skip
    with open(log_path, "wb") as log:
        process = subprocess.Popen(command, cwd=REPO_ROOT, env=env, stdout=log, stderr=log)
    try:
        wait_until_healthy(
            f"{url}/_stcore/health",
            process,
            SERVER_START_TIMEOUT_S,
            log=lambda: log_path.read_text(errors="replace"),
        )
        yield url
    finally:
        process.terminate()
        try:
            # The app stops a running training job on exit, which can take a few seconds.
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def server_pid(port: int) -> int:
    """The process id of the Streamlit server on this port, found through /proc."""
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            arguments = cmdline.read_bytes().split(b"\0")
        except OSError:
            continue
        if b"streamlit" in b" ".join(arguments) and str(port).encode() in arguments:
            return int(cmdline.parent.name)
    raise AssertionError(f"no streamlit server found on port {port}")


def resident_memory_mb(port: int) -> float:
    """VmRSS of the Streamlit server listening on this port, read from /proc."""
    status = Path(f"/proc/{server_pid(port)}/status").read_text()
    return int(re.search(r"VmRSS:\s+(\d+)", status).group(1)) / 1024
