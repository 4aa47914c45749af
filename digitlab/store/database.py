"""The runs' index: `runs.sqlite`, and how it is kept in step with the run folders."""

from __future__ import annotations

import json
import logging
import os
import shutil
import sqlite3
import threading
import time
from pathlib import Path

from digitlab.core.atomic import TEMP_PREFIX
from digitlab.store import sqlite
from digitlab.store.run import (
    DB_FILE,
    LOGS_TEMP_FOLDER,
    MODEL_FILE,
    ORPHAN_MAX_AGE_S,
    RUNS_FOLDER,
    Run,
    root_or_default,
)
from digitlab.zoo.config import TrainConfig

log = logging.getLogger(__name__)

SCHEMA = """
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
-- A person's workspace (digitlab.store.workspaces): only the sha256 of its key is kept. A
-- NULL key_hash is a browser session from before workspaces, mapped so the operator sees it.
CREATE TABLE IF NOT EXISTS workspaces (
    id TEXT PRIMARY KEY,
    key_hash TEXT UNIQUE,
    created_at REAL NOT NULL,
    last_seen REAL NOT NULL,
    draw_model TEXT
);
CREATE TABLE IF NOT EXISTS choices (
    workspace TEXT NOT NULL,
    model TEXT NOT NULL,
    run_id TEXT NOT NULL,
    PRIMARY KEY (workspace, model)
);
-- Read-only links to one run (digitlab.store.shares): only the token's sha256 is kept.
CREATE TABLE IF NOT EXISTS shares (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    token_hash TEXT NOT NULL UNIQUE,
    run_id INTEGER NOT NULL,
    owner TEXT NOT NULL,
    created_at REAL NOT NULL,
    revoked_at REAL
);
CREATE INDEX IF NOT EXISTS shares_by_run ON shares (run_id);
-- Workspaces whose removal began: their drawings (another database) go next, then this row.
CREATE TABLE IF NOT EXISTS pruning (workspace TEXT PRIMARY KEY);
"""
# The columns a listing reads: everything but the curves, which only a chart needs.
LIST_COLUMNS = "id, folder, model, config, metrics, seconds, size_bytes, created_at, owner"


_BUMP_GENERATION = "UPDATE meta SET value = value + 1 WHERE key = 'generation'"

_reconciled: set[Path] = set()
_reconcile_lock = threading.Lock()


def connect(root: Path) -> sqlite3.Connection:
    """This thread's connection to the store's database, created (and reconciled) on first use."""
    connection, opened = sqlite.connect(root / DB_FILE, SCHEMA)
    if opened:
        (root / RUNS_FOLDER).mkdir(parents=True, exist_ok=True)
        with _reconcile_lock:
            if root not in _reconciled:
                _reconciled.add(root)
                reconcile(root)
    return connection


def write(root: Path) -> sqlite.Transaction:
    """One write transaction that also bumps the store's generation (for listing caches)."""
    return sqlite.Transaction(connect(root), _BUMP_GENERATION)


def generation(root: Path | None = None) -> int:
    """A number that changes whenever a run is added, deleted or promoted (by any process)."""
    row = connect(root_or_default(root)).execute("SELECT value FROM meta WHERE key = 'generation'")
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
    root = root_or_default(root)
    connection = connect(root)
    runs_dir = root / RUNS_FOLDER
    known = {row["folder"]: row for row in connection.execute("SELECT id, folder FROM runs")}
    removed = _remove_leftovers(runs_dir, set(known))
    removed_logs = _remove_leftovers(root / LOGS_TEMP_FOLDER, set())
    missing = []
    for folder, row in known.items():
        if not (runs_dir / folder / MODEL_FILE).is_file():
            missing.append(str(row["id"]))
    if missing:
        with write(root) as transaction:
            transaction.executemany(
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


def run_from_row(row: sqlite3.Row, root: Path, with_history: bool = False) -> Run:
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
