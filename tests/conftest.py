"""Shared test set-up: real MNIST when it is available, and a private model store."""

from __future__ import annotations

import os
import tempfile
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
