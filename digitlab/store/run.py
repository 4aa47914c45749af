"""A run: every trained model has an id, a folder and a row in SQLite.

A run's folder (`runs/<folder>/model.keras` plus `run.json`, a copy of its record) is
written under a temporary name and renamed into place; then its row is inserted into
`runs.sqlite` (WAL mode, one connection per thread and process). A run exists only when
both exist: on a process's first use of a store, folders without a row are removed (once
the process that wrote them is gone) and rows without a folder are marked missing and
never offered again. The models shipped in `assets/models/` are runs too, read-only, with
the zoo name as their id; nothing is ever written there at run time.

Which run answers for an architecture by default is the shipped one, unless the operator
promoted another from the command line (`python -m digitlab runs promote ID`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from digitlab.core.errors import UserError
from digitlab.zoo.config import TrainConfig
from digitlab.zoo.registry import ModelSpec

SHIPPED_DIR = Path(__file__).resolve().parents[2] / "assets" / "models"
DB_FILE = "runs.sqlite"
RUNS_FOLDER = "runs"
CACHE_FOLDER = "cache"
MODEL_FILE = "model.keras"
RECORD_FILE = "run.json"
LOGS_FOLDER = "tensorboard"  # a run's TensorBoard logs, inside its folder
# Logs of runs still training, outside runs/ so `tensorboard --logdir runs` shows stored
# runs only; save_run moves them into the run's folder, reconcile removes the dead ones'.
LOGS_TEMP_FOLDER = "tensorboard-tmp"
ORPHAN_MAX_AGE_S = 3600  # a row-less folder of a live writer older than this is a leftover


class StoreError(UserError, RuntimeError):
    """A run is unknown, missing, read-only here, or its model cannot be loaded."""


def store_dir() -> Path:
    """Where runs go: `$DIGITLAB_STORE_DIR`, else `~/.digitlab/store`."""
    configured = os.environ.get("DIGITLAB_STORE_DIR")
    return Path(configured) if configured else Path.home() / ".digitlab" / "store"


@dataclass(frozen=True)
class Run:
    """One trained model and what was recorded with it; shipped runs have the zoo name as id."""

    id: str
    config: TrainConfig
    metrics: dict[str, Any]
    path: Path  # the folder holding model.keras
    shipped: bool
    created_at: float  # seconds since the epoch
    seconds: float  # training time
    size_bytes: int  # of model.keras
    owner: str | None = None  # the browser session that trained it; None: command line
    history: dict[str, list[float]] | None = field(default=None, compare=False)

    @property
    def model(self) -> str:
        """The zoo architecture it was built from."""
        return self.config.model

    @property
    def spec(self) -> ModelSpec:
        return self.config.model_spec

    @property
    def model_file(self) -> Path:
        return self.path / MODEL_FILE

    @property
    def accuracy(self) -> float | None:
        return self.metrics.get("accuracy")

    @property
    def version_key(self) -> str:
        """Names this exact model for caches; a new shipped release gets a new key."""
        if self.shipped:
            return f"shipped-{self.id}-{int(self.created_at)}"
        return f"run-{self.id}-{int(self.created_at)}"  # ids restart if the store is reset

    @property
    def cache_key(self) -> str:
        """Names this exact model in a process's caches (predictors, answers, explanations):
        its folder as well as its version, since one process may read several stores."""
        return f"{self.path}:{self.version_key}"

    def describe(self) -> str:
        """In words a user understands: "shipped" or "run 12", with its MNIST accuracy."""
        name = "shipped" if self.shipped else f"run {self.id}"
        if self.accuracy is None:
            return name
        return f"{name}, {self.accuracy:.2%} on MNIST test"

    def load(self):
        """Load the Keras model in safe mode (no arbitrary code from the file)."""
        import keras  # late import: listing runs must not pay for TensorFlow

        import digitlab.zoo.builders  # noqa: F401  registers DigitLab's own layers (ensembles)

        try:
            return keras.saving.load_model(self.model_file, compile=False, safe_mode=True)
        except Exception as error:  # any failure means the file is unusable
            raise StoreError(f"Cannot load run {self.id} ({self.model_file}): {error}") from error


def stored_message(run: Run, where: str = "") -> str:
    """What a user reads when a run is done: "Trained and stored. Run 12, 98.70% on ..."."""
    described = run.describe()
    return f"Trained and stored{where}. {described[:1].upper()}{described[1:]}."


def root_or_default(root: Path | None) -> Path:
    """The store a function works on: the one given, else `store_dir()`."""
    return Path(root) if root is not None else store_dir()
