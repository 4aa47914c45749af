"""Read-only links to one run: a share token opens that run, and nothing else.

A token is 128 random bits of its own, not the workspace's key: a link passed to a
classmate reveals nothing of the workspace and can be withdrawn (revoked) without touching
anything else. The store keeps only the token's sha256 (digitlab.store.tokens), so the link
is shown once, when it is made; a link lost is replaced by sharing again.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from digitlab.store import sqlite
from digitlab.store.database import connect
from digitlab.store.reading import get_run
from digitlab.store.run import Run, StoreError, root_or_default
from digitlab.store.tokens import new_token, token_hash, well_formed


@dataclass(frozen=True)
class Share:
    id: int
    run_id: str
    owner: str
    created_at: float
    revoked_at: float | None = None


def share_run(run: Run, owner: str, root: Path | None = None) -> str:
    """A new token that opens `run` read-only; only the run's own workspace may share it."""
    if run.shipped:
        raise StoreError("A shipped model needs no link: everyone has it.")
    if run.owner != owner:
        raise StoreError(f"Run {run.id} is not this workspace's: only its own can share it.")
    token = new_token()
    with sqlite.Transaction(connect(root_or_default(root))) as transaction:
        transaction.execute(
            "INSERT INTO shares (token_hash, run_id, owner, created_at) VALUES (?,?,?,?)",
            (token_hash(token), int(run.id), owner, time.time()),
        )
    return token


def shared_run(token: object, root: Path | None = None) -> tuple[Share, Run] | None:
    """The share a token opens and its run; None for a malformed, unknown or revoked token,
    or a run deleted since."""
    if not well_formed(token):
        return None
    root = root_or_default(root)
    query = "SELECT * FROM shares WHERE token_hash = ? AND revoked_at IS NULL"
    row = connect(root).execute(query, (token_hash(token),)).fetchone()
    if row is None:
        return None
    try:
        return _from_row(row), get_run(row["run_id"], root)
    except StoreError:
        return None


def still_shared(share_id: int, root: Path | None = None) -> bool:
    """Whether a share opened earlier has not been revoked meanwhile."""
    query = "SELECT 1 FROM shares WHERE id = ? AND revoked_at IS NULL"
    return connect(root_or_default(root)).execute(query, (int(share_id),)).fetchone() is not None


def shares_of(run_id: str, owner: str, root: Path | None = None) -> list[Share]:
    """A run's live links, oldest first, as its workspace sees them (none of anyone else's)."""
    query = "SELECT * FROM shares WHERE run_id = ? AND owner = ? AND revoked_at IS NULL ORDER BY id"
    rows = connect(root_or_default(root)).execute(query, (int(run_id), owner))
    return [_from_row(row) for row in rows]


def revoke(share_id: int, owner: str, root: Path | None = None) -> None:
    """Withdraw a link: it opens nothing from now on. Only its workspace may."""
    with sqlite.Transaction(connect(root_or_default(root))) as transaction:
        changed = transaction.execute(
            "UPDATE shares SET revoked_at = ? WHERE id = ? AND owner = ? AND revoked_at IS NULL",
            (time.time(), int(share_id), owner),
        ).rowcount
    if not changed:
        raise StoreError("No such link among this workspace's shared runs (revoked already?).")


def _from_row(row) -> Share:
    return Share(row["id"], str(row["run_id"]), row["owner"], row["created_at"], row["revoked_at"])
