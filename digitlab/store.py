"""Runs: every trained model is a run with an id, kept in a folder and indexed in SQLite.

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

import functools
import json
import logging
import os
import shutil
import sqlite3
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from digitlab.atomic import TEMP_PREFIX, atomic_path
from digitlab.config import TrainConfig
from digitlab.zoo import ENSEMBLE, ZOO, ModelSpec, get_spec

log = logging.getLogger(__name__)

SHIPPED_DIR = Path(__file__).resolve().parent.parent / "assets" / "models"
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

_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    folder TEXT NOT NULL UNIQUE,
    model TEXT NOT NULL,
    config_key TEXT NOT NULL,
    config TEXT NOT NULL,
    metrics TEXT NOT NULL,
    history TEXT NOT NULL,
    batches TEXT NOT NULL,
    seconds REAL NOT NULL,
    size_bytes INTEGER NOT NULL,
    created_at REAL NOT NULL,
    owner TEXT,
    missing INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS runs_by_model ON runs (model, missing);
CREATE INDEX IF NOT EXISTS runs_by_config ON runs (config_key);
CREATE TABLE IF NOT EXISTS defaults (model TEXT PRIMARY KEY, run_id INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
INSERT OR IGNORE INTO meta VALUES ('generation', 0);
"""
# The columns a listing reads: everything but the curves, which only a chart needs.
_LIST_COLUMNS = "id, folder, model, config, metrics, seconds, size_bytes, created_at, owner"


class StoreError(RuntimeError):
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
        return get_spec(self.config.model)

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

    def describe(self) -> str:
        """In words a user understands: "shipped" or "run 12", with its MNIST accuracy."""
        name = "shipped" if self.shipped else f"run {self.id}"
        if self.accuracy is None:
            return name
        return f"{name}, {self.accuracy:.2%} on MNIST test"

    def load(self):
        """Load the Keras model in safe mode (no arbitrary code from the file)."""
        import keras  # late import: listing runs must not pay for TensorFlow

        import digitlab.models  # noqa: F401  registers DigitLab's own layers (ensembles)

        try:
            return keras.saving.load_model(self.model_file, compile=False, safe_mode=True)
        except Exception as error:  # any failure means the file is unusable
            raise StoreError(f"Cannot load run {self.id} ({self.model_file}): {error}") from error


def stored_message(run: Run, where: str = "") -> str:
    """What a user reads when a run is done: "Trained and stored. Run 12, 98.70% on ..."."""
    described = run.describe()
    return f"Trained and stored{where}. {described[:1].upper()}{described[1:]}."


# --- the database ---------------------------------------------------------------------------

_local = threading.local()
_reconciled: set[Path] = set()
_reconcile_lock = threading.Lock()


def _root(root: Path | None) -> Path:
    return Path(root) if root is not None else store_dir()


def _connect(root: Path) -> sqlite3.Connection:
    """This thread's connection to the store's database, created (and reconciled) on first use."""
    connections = getattr(_local, "connections", None)
    if connections is None:
        connections = _local.connections = {}
    key = (os.getpid(), root)
    connection = connections.get(key)
    if connection is None:
        (root / RUNS_FOLDER).mkdir(parents=True, exist_ok=True)
        connection = sqlite3.connect(root / DB_FILE, timeout=30, isolation_level=None)
        connection.row_factory = sqlite3.Row
        connection.execute("PRAGMA journal_mode=WAL")
        connection.executescript(_SCHEMA)
        connections[key] = connection
        with _reconcile_lock:
            if root not in _reconciled:
                _reconciled.add(root)
                reconcile(root)
    return connection


class _Write:
    """One write transaction that also bumps the store's generation (for listing caches)."""

    def __init__(self, root: Path) -> None:
        self.connection = _connect(root)

    def __enter__(self) -> sqlite3.Connection:
        self.connection.execute("BEGIN IMMEDIATE")
        return self.connection

    def __exit__(self, kind, value, traceback) -> None:
        if kind is None:
            self.connection.execute("UPDATE meta SET value = value + 1 WHERE key = 'generation'")
            self.connection.execute("COMMIT")
        else:
            self.connection.execute("ROLLBACK")


def generation(root: Path | None = None) -> int:
    """A number that changes whenever a run is added, deleted or promoted (by any process)."""
    row = _connect(_root(root)).execute("SELECT value FROM meta WHERE key = 'generation'")
    return int(row.fetchone()[0])


def _writer_alive(folder_name: str) -> bool:
    """Whether the process that wrote a folder (its pid leads the name) is still running."""
    pid_text = folder_name.removeprefix(TEMP_PREFIX).split("-", 1)[0]
    if not pid_text.isdigit() or int(pid_text) == os.getpid():
        return False
    try:
        os.kill(int(pid_text), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def reconcile(root: Path | None = None) -> dict[str, list[str]]:
    """Make folders and rows agree: remove leftover folders, mark rows without a folder.

    A folder without a row is left alone while the process that wrote it runs (it may be
    about to insert the row), unless it is over an hour old.
    """
    root = _root(root)
    connection = _connect(root)
    runs_dir = root / RUNS_FOLDER
    known = {row["folder"]: row for row in connection.execute("SELECT id, folder FROM runs")}
    removed = _remove_leftovers(runs_dir, set(known))
    removed_logs = _remove_leftovers(root / LOGS_TEMP_FOLDER, set())
    missing = []
    for folder, row in known.items():
        if not (runs_dir / folder / MODEL_FILE).is_file():
            missing.append(str(row["id"]))
    if missing:
        with _Write(root) as write:
            write.executemany(
                "UPDATE runs SET missing = 1 WHERE id = ?", [(int(i),) for i in missing]
            )
        log.warning("Runs without a model folder, no longer offered: %s", ", ".join(missing))
    return {"removed_folders": removed, "missing_runs": missing, "removed_logs": removed_logs}


def _remove_leftovers(parent: Path, keep: set[str]) -> list[str]:
    """Remove the folders in `parent` not named in `keep`, but not a live writer's."""
    removed = []
    for path in parent.iterdir() if parent.is_dir() else ():
        if path.name in keep:
            continue
        age = time.time() - path.stat().st_mtime
        if _writer_alive(path.name) and age < ORPHAN_MAX_AGE_S:
            continue
        shutil.rmtree(path, ignore_errors=True)
        removed.append(path.name)
    return removed


def _run_from_row(row: sqlite3.Row, root: Path, with_history: bool = False) -> Run:
    return Run(
        id=str(row["id"]),
        config=TrainConfig.from_dict(json.loads(row["config"])),
        metrics=json.loads(row["metrics"]),
        path=root / RUNS_FOLDER / row["folder"],
        shipped=False,
        created_at=row["created_at"],
        seconds=row["seconds"],
        size_bytes=row["size_bytes"],
        owner=row["owner"],
        history=json.loads(row["history"]) if with_history else None,
    )


# --- shipped runs ---------------------------------------------------------------------------


def _read_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


@functools.cache
def _shipped_runs() -> dict[str, Run]:
    """Every shipped run, read once per process (the files never change while it runs)."""
    runs = {}
    for name in ZOO:
        folder = SHIPPED_DIR / name
        try:
            metrics = _read_json(folder / "metrics.json")
            config = TrainConfig.from_dict(_read_json(folder / "config.json"))
            history = _read_json(folder / "history.json")
            size = (folder / MODEL_FILE).stat().st_size
        except (OSError, ValueError, TypeError) as error:
            log.warning("No shipped run for %s: %s", name, error)
            continue
        runs[name] = Run(
            id=name,
            config=config,
            metrics=metrics,
            path=folder,
            shipped=True,
            created_at=metrics.get("saved_at", 0.0),
            seconds=metrics.get("train_seconds", 0.0),
            size_bytes=size,
            history=history,
        )
    return runs


def shipped_run(model: str) -> Run | None:
    """The run shipped in assets/models for an architecture, if there is one."""
    return _shipped_runs().get(model)


# --- reading ---------------------------------------------------------------------------------


def get_run(run_id: str | int, root: Path | None = None, with_history: bool = False) -> Run:
    """The run with this id: a number for a trained run, the zoo name for a shipped one."""
    text = str(run_id).strip()
    if not text.isdigit():
        run = shipped_run(text)
        if run is None:
            raise StoreError(f"No run {text!r}: a run id is a number, or a zoo name.")
        return run
    root = _root(root)
    row = _connect(root).execute("SELECT * FROM runs WHERE id = ?", (int(text),)).fetchone()
    if row is None:
        raise StoreError(f"No run {text} in {root}.")
    if row["missing"]:
        raise StoreError(f"Run {text} is missing its model folder and can't be used.")
    return _run_from_row(row, root, with_history)


_list_cache: dict[tuple, tuple[int, list[Run]]] = {}
_list_lock = threading.Lock()


def list_runs(
    model: str | None = None,
    visible_to: str | None = None,
    root: Path | None = None,
    include_shipped: bool = True,
) -> list[Run]:
    """Runs that can be used, newest first, then the shipped ones.

    `visible_to` (a browser session's id) keeps that session's runs and those made on the
    command line, hiding every other session's. The listing is cached until any process
    changes the store, so a page rerun pays one small query however many runs there are.
    """
    root = _root(root)
    key = (root, model, visible_to)
    current = generation(root)
    with _list_lock:
        cached = _list_cache.get(key)
    if cached is None or cached[0] != current:
        query = f"SELECT {_LIST_COLUMNS} FROM runs WHERE missing = 0"
        params: list[Any] = []
        if model is not None:
            query += " AND model = ?"
            params.append(model)
        if visible_to is not None:
            query += " AND (owner IS NULL OR owner = ?)"
            params.append(visible_to)
        rows = _connect(root).execute(query + " ORDER BY id DESC", params).fetchall()
        cached = (current, [_run_from_row(row, root) for row in rows])
        with _list_lock:
            _list_cache[key] = cached
    trained = list(cached[1])
    if not include_shipped:
        return trained
    shipped = [run for name, run in _shipped_runs().items() if model in (None, name)]
    return trained + shipped


def curves(run: Run, root: Path | None = None) -> tuple[dict[str, list[float]], list[dict]]:
    """A run's per-epoch history and its per-batch rows (empty for shipped runs)."""
    if run.shipped:
        return run.history or {}, []
    query = "SELECT history, batches FROM runs WHERE id = ?"
    row = _connect(_root(root)).execute(query, (int(run.id),)).fetchone()
    if row is None:
        return {}, []
    return json.loads(row["history"]), json.loads(row["batches"])


def find_by_config(config: TrainConfig, root: Path | None = None) -> Run | None:
    """The newest usable run trained with exactly this config (the training cache)."""
    root = _root(root)
    query = "SELECT * FROM runs WHERE config_key = ? AND missing = 0 ORDER BY id DESC"
    for row in _connect(root).execute(query, (config.key(),)):
        run = _run_from_row(row, root, with_history=True)
        if run.config == config and run.model_file.is_file():
            return run
    return None


def default_run(model: str, root: Path | None = None) -> Run:
    """The run that answers for an architecture when nobody chose: promoted, else shipped."""
    root = _root(root)
    row = _connect(root).execute("SELECT run_id FROM defaults WHERE model = ?", (model,))
    promoted = row.fetchone()
    if promoted is not None:
        try:
            return get_run(promoted[0], root)
        except StoreError as error:
            log.warning("The promoted run for %s is unusable: %s", model, error)
    run = shipped_run(model)
    if run is None and model == ENSEMBLE:
        raise StoreError(
            "No ensemble yet: pick 2 to 5 runs on the Runs page and make one (or run "
            "`python -m digitlab ensemble ID ID ...`)."
        )
    if run is None:
        raise StoreError(f"No shipped model for {model!r} and none promoted: train one first.")
    return run


def default_runs(root: Path | None = None) -> dict[str, Run | None]:
    """Every zoo model's default run (None for a model with neither shipped nor promoted)."""
    runs: dict[str, Run | None] = {}
    for model in ZOO:
        try:
            runs[model] = default_run(model, root)
        except StoreError:
            runs[model] = None
    return runs


def cache_dir(run: Run, kind: str, root: Path | None = None) -> Path:
    """A writable folder for what is derived from a run (evaluations, exports), made on use."""
    folder = _root(root) / CACHE_FOLDER / kind / run.version_key
    folder.mkdir(parents=True, exist_ok=True)
    return folder


# --- writing ---------------------------------------------------------------------------------


def _folder_name() -> str:
    # The writer's pid leads, so a later start can tell a leftover from a save in progress.
    return f"{os.getpid()}-{uuid.uuid4().hex[:12]}"


def new_logs_dir(root: Path | None = None) -> Path:
    """An empty folder for a training run's TensorBoard logs until save_run moves it in."""
    root = _root(root)
    _connect(root)  # reconciles first: this process's own folder is never taken for a leftover
    folder = root / LOGS_TEMP_FOLDER / _folder_name()
    folder.mkdir(parents=True)
    return folder


def save_run(
    model,
    config: TrainConfig,
    history: dict[str, list[float]],
    metrics: dict[str, Any],
    *,
    seconds: float,
    batches: list[dict] | None = None,
    owner: str | None = None,
    root: Path | None = None,
    extra_files: dict[str, Path] | None = None,
    logs: Path | None = None,
) -> Run:
    """Store a trained model (a Keras model, or the bytes of a .keras file) as a new run:
    its folder first, then its row. `extra_files` (name in the folder -> a file to copy)
    go into the folder before it appears. `logs` (a folder from new_logs_dir) moves in as
    `tensorboard/` the same way, so a run's logs exist only with the run."""
    root = _root(root)
    _connect(root)  # creates the folders and the database, reconciles once
    created_at = time.time()
    record = {
        "config": config.to_dict(),
        "metrics": metrics,
        "history": history,
        "seconds": seconds,
        "created_at": created_at,
        "owner": owner,
    }
    final = root / RUNS_FOLDER / _folder_name()
    with atomic_path(final) as temp:
        temp.mkdir()
        if isinstance(model, bytes):
            (temp / MODEL_FILE).write_bytes(model)
        else:
            model.save(temp / MODEL_FILE)
        for name, source in (extra_files or {}).items():
            (temp / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, temp / name)
        (temp / RECORD_FILE).write_text(json.dumps(record, indent=1), encoding="utf-8")
        if logs is not None:
            shutil.move(logs, temp / LOGS_FOLDER)
    try:
        with _Write(root) as write:
            cursor = write.execute(
                "INSERT INTO runs (folder, model, config_key, config, metrics, history, batches,"
                " seconds, size_bytes, created_at, owner) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                (
                    final.name,
                    config.model,
                    config.key(),
                    json.dumps(config.to_dict()),
                    json.dumps(metrics),
                    json.dumps(history),
                    json.dumps(batches or []),
                    seconds,
                    (final / MODEL_FILE).stat().st_size,
                    created_at,
                    owner,
                ),
            )
            run_id = cursor.lastrowid
    except BaseException:
        shutil.rmtree(final, ignore_errors=True)  # no row: the folder must not stay
        raise
    return get_run(run_id, root, with_history=True)


def delete_run(run_id: str | int, owner: str | None = None, root: Path | None = None) -> Run:
    """Delete a trained run: its row first, then its folder and caches.

    `owner` (a browser session) may delete only its own runs; None (the command line) any.
    Shipped runs can't be deleted. If it was the promoted default, the shipped run is again.
    """
    root = _root(root)
    run = get_run(run_id, root)
    if run.shipped:
        raise StoreError(f"{run.id} is a shipped run: it can't be deleted.")
    if owner is not None and run.owner != owner:
        raise StoreError(f"Run {run.id} was not trained in this session: it can't be deleted here.")
    with _Write(root) as write:
        write.execute("DELETE FROM runs WHERE id = ?", (int(run.id),))
        write.execute("DELETE FROM defaults WHERE run_id = ?", (int(run.id),))
    shutil.rmtree(run.path, ignore_errors=True)
    shutil.rmtree(root / CACHE_FOLDER / "evaluation" / run.version_key, ignore_errors=True)
    shutil.rmtree(root / CACHE_FOLDER / "export" / run.version_key, ignore_errors=True)
    return run


def promote(run_id: str | int, root: Path | None = None) -> Run:
    """Make a run the server's default for its architecture (a shipped run: back to it)."""
    root = _root(root)
    run = get_run(run_id, root)
    with _Write(root) as write:
        if run.shipped:
            write.execute("DELETE FROM defaults WHERE model = ?", (run.model,))
        else:
            write.execute(
                "INSERT OR REPLACE INTO defaults (model, run_id) VALUES (?, ?)",
                (run.model, int(run.id)),
            )
    return run


def promoted(root: Path | None = None) -> dict[str, str]:
    """Architecture -> the id of its promoted run, for those that have one."""
    rows = _connect(_root(root)).execute("SELECT model, run_id FROM defaults")
    return {row["model"]: str(row["run_id"]) for row in rows}


def ship(run: Run, evaluation: dict[str, Any]) -> Path:
    """Copy a run and its evaluation summary into assets/models/<model> as the shipped model
    (a maintainer's act, never done by the app). Written atomically; takes effect in
    processes started afterwards."""
    final = SHIPPED_DIR / run.model
    history, _batches = curves(run)
    files = {
        "config": run.config.to_dict(),
        "history": history,
        "metrics": {**run.metrics, "saved_at": run.created_at},
        "evaluation": {**evaluation, "run": run.model},  # the shipped run's id is its model
    }
    with atomic_path(final) as temp:
        temp.mkdir()
        shutil.copyfile(run.model_file, temp / MODEL_FILE)
        for name, value in files.items():
            (temp / f"{name}.json").write_text(json.dumps(value, indent=1), encoding="utf-8")
        if final.exists():
            shutil.rmtree(final)
    return final
