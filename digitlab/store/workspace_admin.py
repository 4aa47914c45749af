"""The operator's view of workspaces: what each keeps and when it was last opened, and the
removal of those nobody opens any more (`python -m digitlab workspaces list | prune`).

Browser sessions from before workspaces owned runs and drawings under ids that no key
opens. The first operator command maps each such owner to a workspace without a key (the
migration: rows are added, none changed), so they are listed and can be pruned like the
rest; until then, and after, the command line sees and uses their runs as any other.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from digitlab.store import drawings
from digitlab.store.database import connect, run_from_row, write
from digitlab.store.limits import folder_bytes
from digitlab.store.run import Run, root_or_default
from digitlab.store.writing import forget_run, promoted, remove_run_files

DAY_S = 86_400


@dataclass(frozen=True)
class WorkspaceUse:
    """One workspace as the operator sees it (never its key, which the store doesn't have)."""

    id: str
    opens: bool  # False: an old browser session's rows, which no key opens
    created_at: float
    last_seen: float
    runs: int
    drawings: int
    bytes: int  # of its runs' folders


def map_old_sessions(root: Path | None = None) -> int:
    """The migration: every owner of runs or drawings that is no workspace becomes one with
    no key, first and last seen at its first and last row. Returns how many were mapped."""
    root = root_or_default(root)
    connection = connect(root)
    query = "SELECT owner, MIN(created_at), MAX(created_at) FROM runs WHERE owner IS NOT NULL"
    spans = {row[0]: (row[1], row[2]) for row in connection.execute(query + " GROUP BY owner")}
    for owner, (_count, first, last) in drawings.by_owner(root).items():
        earlier = spans.get(owner, (first, last))
        spans[owner] = (min(first, earlier[0]), max(last, earlier[1]))
    known = {row[0] for row in connection.execute("SELECT id FROM workspaces")}
    known |= {row[0] for row in connection.execute("SELECT workspace FROM pruning")}
    unknown = [(owner, *span) for owner, span in spans.items() if owner not in known]
    if unknown:
        with write(root) as transaction:
            transaction.executemany(
                "INSERT OR IGNORE INTO workspaces (id, key_hash, created_at, last_seen)"
                " VALUES (?, NULL, ?, ?)",
                unknown,
            )
    return len(unknown)


def list_workspaces(root: Path | None = None) -> list[WorkspaceUse]:
    """Every workspace with its runs, drawings and bytes, the most recently opened first."""
    root = root_or_default(root)
    map_old_sessions(root)
    connection = connect(root)
    runs: dict[str, list[Run]] = {}
    for row in connection.execute("SELECT * FROM runs WHERE owner IS NOT NULL AND missing = 0"):
        runs.setdefault(row["owner"], []).append(run_from_row(row, root))
    counts = drawings.by_owner(root)
    query = "SELECT id, key_hash, created_at, last_seen FROM workspaces ORDER BY last_seen DESC"
    return [
        WorkspaceUse(
            id=row["id"],
            opens=row["key_hash"] is not None,
            created_at=row["created_at"],
            last_seen=row["last_seen"],
            runs=len(runs.get(row["id"], [])),
            drawings=counts.get(row["id"], (0,))[0],
            bytes=sum(folder_bytes(run.path) for run in runs.get(row["id"], [])),
        )
        for row in connection.execute(query)
    ]


def prune(
    unused_days: float, root: Path | None = None, now: float | None = None
) -> list[WorkspaceUse]:
    """Remove the workspaces nobody opened for `unused_days`, with their runs, drawings,
    choices and share links; returns them as they were.

    One transaction removes the workspaces and their runs' rows (nothing of them is usable
    after it, nothing before); their drawings, in the other database, go next, and a prune
    interrupted between the two is finished by the next one. Run folders go last (a folder
    left by a crash has no row, and the next start removes it). A run that is the server's
    promoted default is kept, as the command line's; shipped runs live elsewhere, untouched.
    """
    root = root_or_default(root)
    _finish(root)
    cutoff = (now if now is not None else time.time()) - unused_days * DAY_S
    stale = [use for use in list_workspaces(root) if use.last_seen < cutoff]
    kept = set(promoted(root).values())
    doomed: list[Run] = []
    with write(root) as transaction:
        for use in stale:
            rows = transaction.execute("SELECT * FROM runs WHERE owner = ?", (use.id,))
            for run in [run_from_row(row, root) for row in rows]:
                if run.id in kept:
                    transaction.execute("UPDATE runs SET owner = NULL WHERE id = ?", (int(run.id),))
                else:
                    forget_run(transaction, run)
                    doomed.append(run)
            transaction.execute("DELETE FROM shares WHERE owner = ?", (use.id,))
            transaction.execute("DELETE FROM choices WHERE workspace = ?", (use.id,))
            transaction.execute("DELETE FROM workspaces WHERE id = ?", (use.id,))
            transaction.execute("INSERT OR IGNORE INTO pruning VALUES (?)", (use.id,))
    _finish(root)
    for run in doomed:
        remove_run_files(run, root)
    return stale


def _finish(root: Path) -> None:
    """The drawings of workspaces whose removal began, then the note that it did."""
    pending = [row[0] for row in connect(root).execute("SELECT workspace FROM pruning")]
    if not pending:
        return
    drawings.delete_owned(pending, root)
    with write(root) as transaction:
        transaction.executemany("DELETE FROM pruning WHERE workspace = ?", [(i,) for i in pending])
