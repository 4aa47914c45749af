"""Shared test set-up: real MNIST when it is available, and a private model store."""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from pathlib import Path

import pytest

SHARED_MNIST = Path(__file__).resolve().parents[2] / "shared" / "data" / "mnist"

# Tests read the real MNIST files kept beside the checkout (CI sets this too); on a user's
# machine without them, load_mnist downloads through Keras as the app does.
if "DIGITLAB_DATA_DIR" not in os.environ and SHARED_MNIST.is_dir():
    os.environ["DIGITLAB_DATA_DIR"] = str(SHARED_MNIST)
# The canvas-drawn pen digits and not-digits (digitlab.data.handdrawn) take a few minutes to draw;
# tests keep them between runs in a folder of their own, not in the user's ~/.digitlab.
os.environ.setdefault("DIGITLAB_CACHE_DIR", str(Path(tempfile.gettempdir()) / "digitlab-tests"))
# Under `make test` two workers share the machine: in each (and in the training processes it
# starts), TensorFlow's thread pools take one core, not all of them, so the two don't spin
# against each other (measured: the parallel part of the suite 7% faster).
if os.environ.get("PYTEST_XDIST_WORKER"):
    for variable in ("TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS", "OMP_NUM_THREADS"):
        os.environ.setdefault(variable, "1")


@pytest.fixture(autouse=True)
def private_store(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch):
    """Every test trains into a fresh store, never into the user's ~/.digitlab."""
    root = tmp_path_factory.mktemp("store")
    monkeypatch.setenv("DIGITLAB_STORE_DIR", str(root))
    return root


@pytest.fixture(scope="session")
def mnist():
    """The real MNIST arrays; the test is skipped with the reason when none can be had."""
    from digitlab.data.mnist import DataError, load_mnist

    try:
        return load_mnist()
    except DataError as error:
        pytest.skip(f"MNIST is not available: {error}")


class TrainedOnce:
    """Tiny models trained once per test session, into a store of their own (with its own
    cache), and copied into a test's store on request.

    Training is real (real MNIST, real TensorFlow); a copy is a new run in the test's store
    with the trained model's bytes, config, curves, metrics and TensorBoard logs, so each
    test still starts from a fresh store and may change or delete its copy freely.
    """

    def __init__(self, root: Path) -> None:
        self.root = root
        self._sources: dict[str, object] = {}
        self._last_second: dict[str, int] = {}  # run id -> the second its last copy was made

    def source(self, config):
        """The session's own run of `config`, trained on first use."""
        from digitlab import store
        from digitlab.training.progress import TRAINED
        from digitlab.training.train import train

        if config.key() not in self._sources:
            result = train(config, root=self.root)
            assert result.status == TRAINED, result.message
            self._sources[config.key()] = store.get_run(result.run.id, self.root)
        return self._sources[config.key()]

    def copy(self, config, owner: str | None = None, root: Path | None = None):
        """A new run of `config` in `root` (the test's store by default), owned by `owner`."""
        from digitlab import store

        source = self.source(config)
        history, batches = store.curves(source, self.root)
        logs = store.new_logs_dir(root)
        shutil.copytree(source.path / store.LOGS_FOLDER, logs, dirs_exist_ok=True)
        # Caches key a run by its id and the second it was saved (Run.version_key), not by
        # its store: two copies with the same id in one second would share them.
        stored = store.list_runs(root=root, include_shipped=False)
        next_id = str(max((int(run.id) for run in stored), default=0) + 1)
        while int(time.time()) == self._last_second.get(next_id):
            time.sleep(0.05)
        run = store.save_run(
            source.model_file.read_bytes(),
            source.config,
            history,
            source.metrics,
            seconds=source.seconds,
            batches=batches,
            owner=owner,
            root=root,
            logs=logs,
        )
        self._last_second[run.id] = int(run.created_at)
        return run


@pytest.fixture(scope="session")
def trained_once(tmp_path_factory: pytest.TempPathFactory, mnist) -> TrainedOnce:
    """Tiny runs trained once per session; `trained_once.copy(config)` puts one in this
    test's store."""
    return TrainedOnce(tmp_path_factory.mktemp("trained-once"))


# `make test` hands test files to its two workers in collection order (pytest-xdist with
# --dist loadfile --no-loadscope-reorder). A long file handed out last would keep one worker
# busy long after the other has finished, so the longest file goes first, then every file
# with a test marked slow, then the rest, each group in its usual order.
LONGEST_FILE = "tests/e2e/test_live_answer.py"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    def file_of(item: pytest.Item) -> str:
        return item.nodeid.split("::")[0]

    slow_files = {file_of(item) for item in items if item.get_closest_marker("slow")}
    items.sort(key=lambda item: (file_of(item) != LONGEST_FILE, file_of(item) not in slow_files))
