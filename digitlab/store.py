"""On-disk model store: trained models keyed by their config hash, plus the shipped ones.

A stored model is a folder holding `model.keras`, `config.json`, `history.json` and
`metrics.json`. Folders are written under a temporary name and renamed into place in one
step, so a crash never leaves a half-written model where a lookup would find it.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from digitlab.config import TrainConfig

log = logging.getLogger(__name__)

SHIPPED_DIR = Path(__file__).resolve().parent.parent / "assets" / "models"
MODEL_FILE = "model.keras"
# Written last inside the temporary folder: its presence marks a complete entry.
METRICS_FILE = "metrics.json"
_TEMP_PREFIX = ".tmp-"


class StoreError(RuntimeError):
    """A stored model is missing, incomplete or cannot be loaded."""


def store_dir() -> Path:
    """Where trained models go: `$DIGITLAB_STORE_DIR`, else `~/.digitlab/store`."""
    configured = os.environ.get("DIGITLAB_STORE_DIR")
    return Path(configured) if configured else Path.home() / ".digitlab" / "store"


@dataclass(frozen=True)
class StoredModel:
    """One trained model on disk and what was recorded with it."""

    path: Path
    config: TrainConfig
    metrics: dict[str, Any]
    shipped: bool
    history: dict[str, list[float]] = field(default_factory=dict, compare=False)

    @property
    def name(self) -> str:
        return self.config.model

    @property
    def model_file(self) -> Path:
        return self.path / MODEL_FILE

    def load(self):
        """Load the Keras model in safe mode (no arbitrary code from the file)."""
        import keras  # late import: listing the store must not pay for TensorFlow

        try:
            return keras.saving.load_model(self.model_file, compile=False, safe_mode=True)
        except Exception as error:  # any failure means the file is unusable
            raise StoreError(f"Cannot load {self.model_file}: {error}") from error


def _read_json(path: Path) -> Any:
    with path.open(encoding="utf-8") as handle:
        return json.load(handle)


def _write_json(path: Path, value: Any) -> None:
    with path.open("w", encoding="utf-8") as handle:
        json.dump(value, handle, indent=1)
        handle.flush()
        os.fsync(handle.fileno())


def read_entry(path: Path, shipped: bool = False) -> StoredModel | None:
    """Read one store folder; None (with a warning) when it is incomplete or unreadable."""
    if path.name.startswith(_TEMP_PREFIX) or not (path / METRICS_FILE).is_file():
        return None
    try:
        config = TrainConfig.from_dict(_read_json(path / "config.json"))
        metrics = _read_json(path / METRICS_FILE)
        history_file = path / "history.json"
        history = _read_json(history_file) if history_file.is_file() else {}
    except (OSError, ValueError, TypeError) as error:
        log.warning("Skipping unreadable stored model %s: %s", path, error)
        return None
    if not (path / MODEL_FILE).is_file():
        log.warning("Skipping stored model %s: %s is missing", path, MODEL_FILE)
        return None
    return StoredModel(path, config, metrics, shipped, history)


def save(
    model,
    config: TrainConfig,
    history: dict[str, list[float]],
    metrics: dict[str, Any],
    root: Path | None = None,
    folder: str | None = None,
) -> StoredModel:
    """Write a trained model atomically and return the entry.

    The folder is named by the config key in the user store; shipped models use the zoo name.
    """
    root = root or store_dir()
    root.mkdir(parents=True, exist_ok=True)
    final = root / (folder or config.key())
    temp = Path(tempfile.mkdtemp(prefix=_TEMP_PREFIX, dir=root))
    try:
        model.save(temp / MODEL_FILE)
        _write_json(temp / "config.json", config.to_dict())
        _write_json(temp / "history.json", history)
        _write_json(temp / METRICS_FILE, {**metrics, "saved_at": time.time()})
        if final.exists():  # same config trained twice (a race): the newer result wins
            shutil.rmtree(final, ignore_errors=True)
        os.replace(temp, final)
    except BaseException:
        shutil.rmtree(temp, ignore_errors=True)
        raise
    entry = read_entry(final, shipped=root == SHIPPED_DIR)
    if entry is None:
        raise StoreError(f"Model stored at {final} could not be read back.")
    return entry


def find(config: TrainConfig, root: Path | None = None) -> StoredModel | None:
    """The stored result of exactly this config, if it was trained before."""
    return read_entry((root or store_dir()) / config.key())


def trained(root: Path | None = None) -> list[StoredModel]:
    """Every complete model in the user store, newest first."""
    root = root or store_dir()
    if not root.is_dir():
        return []
    entries = [entry for path in root.iterdir() if (entry := read_entry(path)) is not None]
    return sorted(entries, key=lambda entry: entry.metrics.get("saved_at", 0), reverse=True)


def shipped(name: str) -> StoredModel | None:
    """The model shipped in assets/models for a zoo name."""
    return read_entry(SHIPPED_DIR / name, shipped=True)


def candidates(name: str, root: Path | None = None) -> list[StoredModel]:
    """Models usable for a zoo name, preferred first: newest trained, then shipped."""
    found = [entry for entry in trained(root) if entry.name == name]
    ship = shipped(name)
    return found + ([ship] if ship is not None else [])


def clean_temporaries(root: Path | None = None, older_than_s: float = 3600) -> None:
    """Remove temporary folders left behind by a crash (never ones still being written)."""
    root = root or store_dir()
    if not root.is_dir():
        return
    for path in root.glob(_TEMP_PREFIX + "*"):
        if time.time() - path.stat().st_mtime > older_than_s:
            shutil.rmtree(path, ignore_errors=True)


def load_preferred(name: str, root: Path | None = None) -> tuple[StoredModel, Any, list[str]]:
    """Load the preferred usable model for a zoo name, skipping broken files with a warning.

    Returns the entry, the Keras model and the warnings about what was skipped.
    """
    warnings: list[str] = []
    for entry in candidates(name, root):
        try:
            return entry, entry.load(), warnings
        except StoreError as error:
            log.warning("%s", error)
            warnings.append(f"Skipped a broken stored model for {name}: {error}")
    raise StoreError(f"No usable model for {name!r}: train it first. " + " ".join(warnings))
