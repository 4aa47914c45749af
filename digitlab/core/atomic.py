"""Atomic writes: a file or folder appears complete under its final name, or not at all;
and a lock for building such a file once when several processes want it at the same time."""

from __future__ import annotations

import io
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np

try:
    import fcntl
except ImportError:  # Windows: no advisory locks, so two builders may both build (harmless)
    fcntl = None

TEMP_PREFIX = ".tmp-"


@contextmanager
def atomic_path(out: Path) -> Iterator[Path]:
    """Yield a temporary path (same name, same filesystem) to write a file or folder into;
    on success it is renamed onto `out` in one step, on failure it is removed.

    A folder that someone else put at `out` meanwhile wins: their copy is as good as ours.
    """
    out = Path(out)
    temp_dir = Path(tempfile.mkdtemp(prefix=f"{TEMP_PREFIX}{os.getpid()}-", dir=out.parent))
    try:
        yield temp_dir / out.name
        try:
            os.replace(temp_dir / out.name, out)
        except OSError:
            if not (out.is_dir() and (temp_dir / out.name).is_dir()):
                raise
    finally:
        shutil.rmtree(temp_dir, ignore_errors=True)


def write_bytes(path: Path, data: bytes) -> None:
    """Write `data` to `path` atomically, flushed to disk before the rename."""
    with atomic_path(path) as temp, temp.open("wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())


def write_text(path: Path, text: str) -> None:
    write_bytes(path, text.encode("utf-8"))


def write_array(path: Path, array: np.ndarray) -> None:
    """Save one array as a .npy file, atomically (a cache is whole or absent)."""
    buffer = io.BytesIO()
    np.save(buffer, array)
    write_bytes(path, buffer.getvalue())


def read_array(path: Path) -> np.ndarray | None:
    """The array a `write_array` saved, or None when it is missing or unreadable."""
    try:
        return np.load(path, allow_pickle=False)
    except (OSError, ValueError):
        return None


@contextmanager
def one_at_a_time(lock_path: Path) -> Iterator[None]:
    """Hold an exclusive lock on `lock_path` (created if missing) while inside, across
    processes: one builds a shared cache file while the others wait, then read what it wrote."""
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_path, "a") as handle:
        if fcntl is not None:
            fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            if fcntl is not None:
                fcntl.flock(handle, fcntl.LOCK_UN)
