"""Reading runs: by id, listed for a session, by config (the training cache), by default."""

from __future__ import annotations

import json
import logging
import threading
from pathlib import Path
from typing import Any

from digitlab.store.database import LIST_COLUMNS, connect, generation, run_from_row
from digitlab.store.run import CACHE_FOLDER, Run, StoreError, root_or_default
from digitlab.store.shipped import shipped_run, shipped_runs
from digitlab.zoo.config import TrainConfig
from digitlab.zoo.registry import CUSTOM, ENSEMBLE, ZOO

log = logging.getLogger(__name__)

MAX_RUN_ID = 2**63 - 1  # SQLite's largest integer


def get_run(run_id: str | int, root: Path | None = None, with_history: bool = False) -> Run:
    """The run with this id: a number for a trained run, the zoo name for a shipped one."""
    text = str(run_id).strip()
    number = _trained_id(text)
    if number is None:
        run = shipped_run(text)
        if run is None:
            shown = text if len(text) <= 40 else text[:40] + "..."
            raise StoreError(f"No run {shown!r}: a run id is a number, or a zoo name.")
        return run
    root = root_or_default(root)
    row = connect(root).execute("SELECT * FROM runs WHERE id = ?", (number,)).fetchone()
    if row is None:
        raise StoreError(f"No run {text} in {root}.")
    if row["missing"]:
        raise StoreError(f"Run {text} is missing its model folder and can't be used.")
    return run_from_row(row, root, with_history)


def _trained_id(text: str) -> int | None:
    """The number a trained run's id names, or None when it can't name one.

    Only ASCII digits count ("²" and "①" pass isdigit, then int() fails), and only within
    SQLite's integer range (a larger one overflows the query; a 5,000-digit one int()
    itself refuses)."""
    if not (text.isascii() and text.isdigit()) or len(text) > len(str(MAX_RUN_ID)):
        return None
    number = int(text)
    return number if number <= MAX_RUN_ID else None


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
    root = root_or_default(root)
    key = (root, model, visible_to)
    current = generation(root)
    with _list_lock:
        cached = _list_cache.get(key)
    if cached is None or cached[0] != current:
        query = f"SELECT {LIST_COLUMNS} FROM runs WHERE missing = 0"
        params: list[Any] = []
        if model is not None:
            query += " AND model = ?"
            params.append(model)
        if visible_to is not None:
            query += " AND (owner IS NULL OR owner = ?)"
            params.append(visible_to)
        rows = connect(root).execute(query + " ORDER BY id DESC", params).fetchall()
        cached = (current, [run_from_row(row, root) for row in rows])
        with _list_lock:
            _list_cache[key] = cached
    trained = list(cached[1])
    if not include_shipped:
        return trained
    shipped = [run for name, run in shipped_runs().items() if model in (None, name)]
    return trained + shipped


def curves(run: Run, root: Path | None = None) -> tuple[dict[str, list[float]], list[dict]]:
    """A run's per-epoch history and its per-batch rows (empty for shipped runs)."""
    if run.shipped:
        return run.history or {}, []
    query = "SELECT history, batches FROM runs WHERE id = ?"
    row = connect(root_or_default(root)).execute(query, (int(run.id),)).fetchone()
    if row is None:
        return {}, []
    return json.loads(row["history"]), json.loads(row["batches"])


def find_by_config(config: TrainConfig, root: Path | None = None) -> Run | None:
    """The newest usable run trained with exactly this config (the training cache)."""
    root = root_or_default(root)
    query = "SELECT * FROM runs WHERE config_key = ? AND missing = 0 ORDER BY id DESC"
    for row in connect(root).execute(query, (config.key(),)):
        run = run_from_row(row, root, with_history=True)
        if run.config == config and run.model_file.is_file():
            return run
    return None


def default_run(model: str, root: Path | None = None) -> Run:
    """The run that answers for an architecture when nobody chose: promoted, else shipped."""
    root = root_or_default(root)
    row = connect(root).execute("SELECT run_id FROM defaults WHERE model = ?", (model,))
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
    if run is None and model == CUSTOM:
        raise StoreError(
            "No custom network promoted: train one (`python -m digitlab train --arch "
            "spec.json`), then promote its run (`python -m digitlab runs promote ID`)."
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
    folder = root_or_default(root) / CACHE_FOLDER / kind / run.version_key
    folder.mkdir(parents=True, exist_ok=True)
    return folder
