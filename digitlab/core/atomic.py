"""Atomic writes: a file or folder appears complete under its final name, or not at all."""

from __future__ import annotations

import io
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np

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
