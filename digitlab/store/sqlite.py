"""One SQLite helper for the store's databases (runs and drawings).

Each thread of each process gets its own connection per database file (SQLite connections
must not cross threads, and a forked process must not reuse its parent's); WAL mode lets the
app, the command line and the API read while one of them writes.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from pathlib import Path

_local = threading.local()


def connect(path: Path, schema: str) -> tuple[sqlite3.Connection, bool]:
    """This thread's connection to the database at `path`, and whether it was just opened
    (its schema is created on first use)."""
    connections = _local.__dict__.setdefault("connections", {})
    key = (os.getpid(), Path(path))
    connection = connections.get(key)
    if connection is not None:
        return connection, False
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    connection = sqlite3.connect(path, timeout=30, isolation_level=None)
    connection.row_factory = sqlite3.Row
    connection.execute("PRAGMA journal_mode=WAL")
    connection.executescript(schema)
    connections[key] = connection
    return connection, True


class Transaction:
    """One write transaction: all of it happens, or none. `last` (a statement) runs inside
    it just before the commit: the runs database bumps its generation there."""

    def __init__(self, connection: sqlite3.Connection, last: str | None = None) -> None:
        self.connection = connection
        self.last = last

    def __enter__(self) -> sqlite3.Connection:
        self.connection.execute("BEGIN IMMEDIATE")
        return self.connection

    def __exit__(self, kind, value, traceback) -> None:
        if kind is None:
            if self.last:
                self.connection.execute(self.last)
            self.connection.execute("COMMIT")
        else:
            self.connection.execute("ROLLBACK")
