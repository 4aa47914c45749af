"""How much one workspace may keep, so that one person can't fill the machine.

Each limit is an environment variable with a default that fits a small server (this one has
two cores and tens of gigabytes of disk: fifty runs of the zoo's size, logs included, take
well under 500 MB). Reaching one refuses the new thing with a message saying which limit
and how to make room; nothing already stored is touched. The command line (owner None) has
no limits: it is the operator.
"""

from __future__ import annotations

import os
from pathlib import Path

from digitlab.core.errors import UserError
from digitlab.store.reading import list_runs
from digitlab.store.run import Run

RUNS_ENV = "DIGITLAB_MAX_RUNS"
RUN_MB_ENV = "DIGITLAB_MAX_RUN_MB"
DRAWINGS_ENV = "DIGITLAB_MAX_DRAWINGS"
DEFAULTS = {RUNS_ENV: 50, RUN_MB_ENV: 500, DRAWINGS_ENV: 1000}


class LimitError(UserError):
    """A workspace is at one of its limits: the message names it and how to make room."""


def limit(variable: str) -> int:
    """The limit an environment variable sets (a whole number of at least 1), else its default."""
    configured = os.environ.get(variable, "").strip()
    if not configured:
        return DEFAULTS[variable]
    if not configured.isdigit() or int(configured) < 1:
        raise ValueError(f"{variable} must be a whole number of at least 1: {configured!r}")
    return int(configured)


def folder_bytes(folder: Path) -> int:
    """The bytes of every file under a folder (a run's model, record and logs)."""
    return sum(path.stat().st_size for path in folder.rglob("*") if path.is_file())


def owned_runs(owner: str, root: Path | None = None) -> list[Run]:
    """The runs a workspace trained (not the command line's, which it also sees)."""
    listed = list_runs(visible_to=owner, root=root, include_shipped=False)
    return [run for run in listed if run.owner == owner]


def check_room_for_run(owner: str | None, root: Path | None = None) -> None:
    """Refuse a new run (a training job, a fine-tune, a search, an ensemble) when the
    workspace already keeps as many runs, or as many megabytes of them, as it may."""
    if owner is None:
        return
    runs = owned_runs(owner, root)
    most = limit(RUNS_ENV)
    if len(runs) >= most:
        raise LimitError(
            f"This workspace keeps {len(runs)} runs, the most one may keep ({most}). Delete "
            "runs you no longer need on the Runs page, then train again."
        )
    used, most_mb = sum(folder_bytes(run.path) for run in runs), limit(RUN_MB_ENV)
    if used >= most_mb * 1_000_000:
        raise LimitError(
            f"This workspace's runs take {used / 1e6:.0f} MB of disk, the most one may use "
            f"({most_mb} MB). Delete runs you no longer need on the Runs page, then train again."
        )


def check_room_for_drawing(kept: int) -> None:
    """Refuse a new drawing when the workspace already keeps `kept`, as many as it may."""
    most = limit(DRAWINGS_ENV)
    if kept >= most:
        raise LimitError(
            f"This workspace keeps {kept} drawings, the most one may keep ({most}). Delete "
            "drawings you no longer need on the My digits page, then save again."
        )


def check_one_job(owner: str | None, active: int) -> None:
    """Refuse a second training job or search while the workspace has `active` ones."""
    if owner is not None and active > 0:
        raise LimitError(
            "This workspace already has a training job or search in the queue: one at a "
            "time. Wait for it to finish, or press its Stop, then start this one."
        )
