"""Writing runs: save (folder first, then row), delete, promote, and ship."""

from __future__ import annotations

import json
import os
import shutil
import time
import uuid
from pathlib import Path
from typing import Any

from digitlab.core.atomic import atomic_path
from digitlab.store.database import connect, write
from digitlab.store.reading import curves, get_run
from digitlab.store.run import (
    CACHE_FOLDER,
    LOGS_FOLDER,
    LOGS_TEMP_FOLDER,
    MODEL_FILE,
    RECORD_FILE,
    RUNS_FOLDER,
    SHIPPED_DIR,
    Run,
    StoreError,
    root_or_default,
)
from digitlab.zoo.config import TrainConfig


def _folder_name() -> str:
    # The writer's pid leads, so a later start can tell a leftover from a save in progress.
    return f"{os.getpid()}-{uuid.uuid4().hex[:12]}"


def new_logs_dir(root: Path | None = None) -> Path:
    """An empty folder for a training run's TensorBoard logs until save_run moves it in."""
    root = root_or_default(root)
    connect(root)  # reconciles first: this process's own folder is never taken for a leftover
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
    root = root_or_default(root)
    connect(root)  # creates the folders and the database, reconciles once
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
        with write(root) as transaction:
            cursor = transaction.execute(
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
    root = root_or_default(root)
    run = get_run(run_id, root)
    if run.shipped:
        raise StoreError(f"{run.id} is a shipped run: it can't be deleted.")
    if owner is not None and run.owner != owner:
        raise StoreError(f"Run {run.id} is not this workspace's: it can't be deleted here.")
    with write(root) as transaction:
        forget_run(transaction, run)
    remove_run_files(run, root)
    return run


def forget_run(transaction, run: Run) -> None:
    """Inside a write transaction: a run's row, and what points at it (its promotion, the
    workspaces' choices of it, its share links), go together."""
    number = int(run.id)
    transaction.execute("DELETE FROM runs WHERE id = ?", (number,))
    transaction.execute("DELETE FROM defaults WHERE run_id = ?", (number,))
    transaction.execute("DELETE FROM choices WHERE model = ? AND run_id = ?", (run.model, run.id))
    transaction.execute("DELETE FROM shares WHERE run_id = ?", (number,))


def remove_run_files(run: Run, root: Path) -> None:
    """A forgotten run's folder and caches (a crash before this leaves a folder without a
    row, which the next start removes)."""
    shutil.rmtree(run.path, ignore_errors=True)
    shutil.rmtree(root / CACHE_FOLDER / "evaluation" / run.version_key, ignore_errors=True)
    shutil.rmtree(root / CACHE_FOLDER / "export" / run.version_key, ignore_errors=True)


def promote(run_id: str | int, root: Path | None = None) -> Run:
    """Make a run the server's default for its architecture (a shipped run: back to it)."""
    root = root_or_default(root)
    run = get_run(run_id, root)
    with write(root) as transaction:
        if run.shipped:
            transaction.execute("DELETE FROM defaults WHERE model = ?", (run.model,))
        else:
            transaction.execute(
                "INSERT OR REPLACE INTO defaults (model, run_id) VALUES (?, ?)",
                (run.model, int(run.id)),
            )
    return run


def promoted(root: Path | None = None) -> dict[str, str]:
    """Architecture -> the id of its promoted run, for those that have one."""
    rows = connect(root_or_default(root)).execute("SELECT model, run_id FROM defaults")
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
