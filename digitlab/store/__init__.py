"""Runs and drawings: folders on disk indexed in SQLite.

`from digitlab import store` is the runs' public face (`store.get_run`, `store.save_run`,
...), gathered here from the modules that hold them; the drawings people saved are
`digitlab.store.drawings`.
"""

from digitlab.store.database import generation, reconcile
from digitlab.store.reading import (
    cache_dir,
    curves,
    default_run,
    default_runs,
    find_by_config,
    get_run,
    list_runs,
)
from digitlab.store.run import (
    LOGS_FOLDER,
    LOGS_TEMP_FOLDER,
    MODEL_FILE,
    RECORD_FILE,
    RUNS_FOLDER,
    SHIPPED_DIR,
    Run,
    StoreError,
    store_dir,
    stored_message,
)
from digitlab.store.shipped import shipped_run
from digitlab.store.writing import delete_run, new_logs_dir, promote, promoted, save_run, ship

__all__ = [
    "LOGS_FOLDER",
    "LOGS_TEMP_FOLDER",
    "MODEL_FILE",
    "RECORD_FILE",
    "RUNS_FOLDER",
    "SHIPPED_DIR",
    "Run",
    "StoreError",
    "cache_dir",
    "curves",
    "default_run",
    "default_runs",
    "delete_run",
    "find_by_config",
    "generation",
    "get_run",
    "list_runs",
    "new_logs_dir",
    "promote",
    "promoted",
    "reconcile",
    "save_run",
    "ship",
    "shipped_run",
    "store_dir",
    "stored_message",
]
