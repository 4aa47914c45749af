"""Workspaces: what a person's runs, drawings, searches and choices belong to.

A workspace is opened by its key, 128 random bits the person's browser keeps (see
digitlab/ui/workspace.py for how). The store keeps only the key's sha256, never the key:
someone who reads the database can't open anyone's workspace with what they find. A key
that is malformed, or names no workspace, opens nothing: the caller gets a fresh workspace
with a fresh key, never another person's.

The workspace's id (random too, but not secret) is what the `owner` columns of runs,
drawings and jobs hold. Its per-model choices (which run answers) and the model the Draw
page shows are kept here as well, so they outlive the browser session.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from pathlib import Path

from digitlab.store import sqlite
from digitlab.store.database import connect
from digitlab.store.run import root_or_default
from digitlab.store.tokens import new_token, token_hash, well_formed


@dataclass(frozen=True)
class Workspace:
    id: str  # what the owner columns hold; not a secret
    created_at: float
    last_seen: float
    draw_model: str | None = None  # the architecture the Draw page showed last


def _transaction(root: Path) -> sqlite.Transaction:
    # Workspace rows change no run: the runs' generation (every listing cache) stays.
    return sqlite.Transaction(connect(root))


def _from_row(row) -> Workspace:
    return Workspace(row["id"], row["created_at"], row["last_seen"], row["draw_model"])


def create(root: Path | None = None) -> tuple[Workspace, str]:
    """A new, empty workspace and its key (the only time the key exists on the server
    outside the session that holds it)."""
    root = root_or_default(root)
    key, now = new_token(), time.time()
    workspace = Workspace(secrets.token_hex(8), now, now)
    with _transaction(root) as transaction:
        transaction.execute(
            "INSERT INTO workspaces (id, key_hash, created_at, last_seen) VALUES (?,?,?,?)",
            (workspace.id, token_hash(key), now, now),
        )
    return workspace, key


def find(key: object, root: Path | None = None) -> Workspace | None:
    """The workspace this key opens, its last-seen time brought to now; None for a key that
    is malformed or opens none."""
    if not well_formed(key):
        return None
    root = root_or_default(root)
    hashed = token_hash(key)
    with _transaction(root) as transaction:
        seen = "UPDATE workspaces SET last_seen = ? WHERE key_hash = ?"
        transaction.execute(seen, (time.time(), hashed))
        query = "SELECT * FROM workspaces WHERE key_hash = ?"
        row = transaction.execute(query, (hashed,)).fetchone()
    return None if row is None else _from_row(row)


def open_workspace(key: object, root: Path | None = None) -> tuple[Workspace, str, bool]:
    """(the workspace, its key, whether the key opened an existing one): a key that opens
    none, or is malformed, gets a fresh workspace with a fresh key."""
    found = find(key, root)
    if found is not None:
        return found, str(key), True
    return (*create(root), False)


def get(workspace_id: str, root: Path | None = None) -> Workspace | None:
    query = "SELECT * FROM workspaces WHERE id = ?"
    row = connect(root_or_default(root)).execute(query, (workspace_id,)).fetchone()
    return None if row is None else _from_row(row)


# --- what a workspace chose -------------------------------------------------------------------


def choices(workspace_id: str, root: Path | None = None) -> dict[str, str]:
    """Architecture -> the id of the run this workspace chose to answer for it."""
    query = "SELECT model, run_id FROM choices WHERE workspace = ?"
    rows = connect(root_or_default(root)).execute(query, (workspace_id,))
    return {row["model"]: row["run_id"] for row in rows}


def choose(workspace_id: str, model: str, run_id: str | None, root: Path | None = None) -> None:
    """Keep a workspace's choice of run for an architecture (None: back to the default)."""
    with _transaction(root_or_default(root)) as transaction:
        if run_id is None:
            transaction.execute(
                "DELETE FROM choices WHERE workspace = ? AND model = ?", (workspace_id, model)
            )
        else:
            transaction.execute(
                "INSERT OR REPLACE INTO choices (workspace, model, run_id) VALUES (?,?,?)",
                (workspace_id, model, str(run_id)),
            )


def show_model(workspace_id: str, model: str, root: Path | None = None) -> None:
    """Keep the architecture the Draw page shows, for the workspace's next visit."""
    with _transaction(root_or_default(root)) as transaction:
        transaction.execute(
            "UPDATE workspaces SET draw_model = ? WHERE id = ?", (model, workspace_id)
        )
