"""Workspaces, share links, limits and prune, on a real SQLite store (no browser here)."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import numpy as np
import pytest

from digitlab import store
from digitlab.store import drawings, shares, workspaces
from digitlab.store.limits import (
    DRAWINGS_ENV,
    RUN_MB_ENV,
    RUNS_ENV,
    LimitError,
    check_room_for_run,
)
from digitlab.store.tokens import token_hash
from digitlab.store.workspace_admin import list_workspaces, prune
from digitlab.zoo.builders import build_model
from digitlab.zoo.config import TrainConfig

from helpers import cli

INK = np.zeros((28, 28), np.uint8)
OLD = "old-browser-session"  # an owner from before workspaces: no key opens it


def save_run(owner: str | None, extra_bytes: int = 0, tmp: Path | None = None) -> store.Run:
    """A real (untrained) tiny20 run; `extra_bytes` adds a file of that size to its folder."""
    extra = {}
    if extra_bytes:
        filler = tmp / f"filler-{time.monotonic_ns()}"
        filler.write_bytes(b"\0" * extra_bytes)
        extra = {"filler.bin": filler}
    return store.save_run(
        build_model("tiny20"),
        TrainConfig(model="tiny20", seed=time.monotonic_ns() % 1000),
        {"loss": [1.0]},
        {"accuracy": 0.9},
        seconds=1.0,
        owner=owner,
        extra_files=extra,
    )


def stored_bytes(root: Path) -> bytes:
    """Every byte the store's databases hold (the WAL too): what someone reading them finds."""
    return b"".join(path.read_bytes() for path in root.glob("*.sqlite*"))


MALFORMED = [None, "", "short", "A" * 21, "A" * 23, "A" * 21 + "/", "A" * 21 + "=",
             "A" * 21 + "\n", "é" * 22, 12345, ["A" * 22]]  # fmt: skip


def test_a_key_opens_its_own_workspace_and_nothing_else_does(private_store):
    first, first_key = workspaces.create()
    second, second_key = workspaces.create()
    assert first.id != second.id and first_key != second_key
    assert len(first_key) == 22  # secrets.token_urlsafe(16): 128 random bits
    assert workspaces.find(first_key).id == first.id
    assert workspaces.find(second_key).id == second.id
    forged = first_key[:-1] + ("A" if first_key[-1] != "A" else "B")  # one character off
    assert workspaces.find(forged) is None
    opened, key, existed = workspaces.open_workspace(forged)
    assert not existed and opened.id not in (first.id, second.id) and key != forged
    for bad in MALFORMED:
        assert workspaces.find(bad) is None
        opened, key, existed = workspaces.open_workspace(bad)
        assert not existed and opened.id not in (first.id, second.id)
        assert workspaces.well_formed(key) and key != bad
    # Only hashes are kept: no key is anywhere in the store's files.
    held = stored_bytes(private_store)
    assert first_key.encode() not in held and second_key.encode() not in held
    assert token_hash(first_key).encode() in held


def test_a_workspaces_choices_and_draw_model_are_kept(private_store):
    workspace, key = workspaces.create()
    workspaces.choose(workspace.id, "tiny20", "7")
    workspaces.choose(workspace.id, "mlp", "9")
    workspaces.choose(workspace.id, "mlp", None)
    workspaces.show_model(workspace.id, "tiny20")
    assert workspaces.choices(workspace.id) == {"tiny20": "7"}
    assert workspaces.find(key).draw_model == "tiny20"
    assert workspaces.choices("someone-else") == {}


def test_a_share_link_opens_one_run_until_it_is_withdrawn(private_store):
    owner, _ = workspaces.create()
    run, other_run = save_run(owner.id), save_run(owner.id)
    token, other_token = shares.share_run(run, owner.id), shares.share_run(other_run, owner.id)
    share, opened = shares.shared_run(token)
    assert opened.id == run.id and share.owner == owner.id
    assert token.encode() not in stored_bytes(private_store)
    with pytest.raises(store.StoreError, match="only its own"):
        shares.share_run(run, "someone-else")
    with pytest.raises(store.StoreError, match="shipped"):
        shares.share_run(store.shipped_run("tiny20"), owner.id)
    with pytest.raises(store.StoreError, match="No such link"):
        shares.revoke(share.id, "someone-else")  # only the owner withdraws it
    assert shares.still_shared(share.id)

    shares.revoke(share.id, owner.id)
    assert shares.shared_run(token) is None and not shares.still_shared(share.id)
    assert shares.shares_of(run.id, owner.id) == []
    assert shares.shared_run(other_token)[1].id == other_run.id  # the other link still works
    with pytest.raises(store.StoreError, match="revoked already"):
        shares.revoke(share.id, owner.id)
    for bad in MALFORMED + [token[:-1] + "x"]:
        assert shares.shared_run(bad) is None
    store.delete_run(other_run.id, owner=owner.id)  # a deleted run's links open nothing
    assert shares.shared_run(other_token) is None


def test_each_limit_refuses_with_a_message_and_touches_nothing(
    private_store, tmp_path, monkeypatch
):
    owner = "limited"
    monkeypatch.setenv(RUNS_ENV, "2")
    kept = [save_run(owner), save_run(owner)]
    check_room_for_run("someone-else")  # another workspace has room
    check_room_for_run(None)  # the command line has no limits
    with pytest.raises(LimitError, match=r"keeps 2 runs, the most one may keep \(2\)"):
        check_room_for_run(owner)
    with pytest.raises(LimitError, match="Delete runs you no longer need on the Runs page"):
        check_room_for_run(owner)

    monkeypatch.setenv(RUNS_ENV, "50")
    monkeypatch.setenv(RUN_MB_ENV, "1")
    check_room_for_run(owner)  # two tiny runs: well under a megabyte
    kept.append(save_run(owner, extra_bytes=1_000_000, tmp=tmp_path))
    with pytest.raises(LimitError, match=r"take 1 MB of disk, the most one may use \(1 MB\)"):
        check_room_for_run(owner)
    assert [run.id for run in kept] == [run.id for run in reversed(store.list_runs(
        visible_to=owner, include_shipped=False))]  # fmt: skip

    monkeypatch.setenv(DRAWINGS_ENV, "2")
    for label in (1, 2):
        drawings.save(INK, label, owner)
    with pytest.raises(LimitError, match=r"keeps 2 drawings.*on the My digits page"):
        drawings.save(INK, 3, owner)
    assert [d.label for d in drawings.list_drawings(owner)] == [1, 2]
    drawings.save(INK, 3, None)  # the command line is not limited

    monkeypatch.setenv(DRAWINGS_ENV, "many")
    with pytest.raises(ValueError, match=DRAWINGS_ENV):
        drawings.save(INK, 3, owner)


def test_prune_removes_the_unused_workspaces_whole_and_keeps_the_rest(private_store):
    unused, _ = workspaces.create()
    used, used_key = workspaces.create()
    runs = {name: save_run(name) for name in (unused.id, used.id, OLD)}
    promoted = save_run(unused.id)
    store.promote(promoted.id)
    for owner in (unused.id, used.id, OLD):
        drawings.save(INK, 4, owner)
    drawings.save(INK, 5, None)  # the command line's
    token = shares.share_run(runs[unused.id], unused.id)
    workspaces.choose(unused.id, "tiny20", runs[unused.id].id)
    ten_days_ago = time.time() - 10 * 86_400
    with sqlite3.connect(private_store / "runs.sqlite") as db:  # nobody opened it since
        db.execute("UPDATE workspaces SET last_seen = ? WHERE id = ?", (ten_days_ago, unused.id))
        db.execute("UPDATE runs SET created_at = ? WHERE owner = ?", (ten_days_ago, OLD))
    with sqlite3.connect(private_store / "drawings.sqlite") as db:
        db.execute("UPDATE drawings SET created_at = ? WHERE owner = ?", (ten_days_ago, OLD))

    listed = {use.id: use for use in list_workspaces()}  # the old session is mapped, keyless
    assert set(listed) == {unused.id, used.id, OLD}
    assert not listed[OLD].opens and listed[used.id].opens
    assert (listed[unused.id].runs, listed[unused.id].drawings) == (2, 1)
    assert listed[unused.id].bytes > runs[unused.id].size_bytes

    result = cli("workspaces", "prune", "--unused-days", "7", store=private_store)
    assert result.returncode == 0 and "Removed 2 workspaces" in result.stdout, result.stderr
    assert unused.id in result.stdout and OLD in result.stdout
    assert {use.id for use in list_workspaces()} == {used.id}
    assert workspaces.find(used_key).id == used.id
    remaining = {run.id: run for run in store.list_runs(include_shipped=False)}
    assert set(remaining) == {runs[used.id].id, promoted.id}  # the server's default is kept,
    assert remaining[promoted.id].owner is None  # as the command line's
    assert not runs[unused.id].path.exists() and not runs[OLD].path.exists()
    assert sorted(d.owner or "-" for d in drawings.list_drawings()) == ["-", used.id]
    assert shares.shared_run(token) is None
    assert workspaces.choices(unused.id) == {}

    listing = cli("workspaces", "list", store=private_store)
    assert listing.returncode == 0 and used.id in listing.stdout
    assert used_key not in listing.stdout  # the operator never sees a key


def test_a_prune_interrupted_before_the_drawings_is_finished_by_the_next(private_store):
    drawings.save(INK, 1, "half-removed")
    drawings.save(INK, 2, "kept")
    workspaces.create()
    with sqlite3.connect(private_store / "runs.sqlite") as db:  # as the first step leaves it
        db.execute("INSERT INTO pruning VALUES ('half-removed')")
    assert prune(7) == []  # nobody is unused; the half-done removal is finished
    assert [d.owner for d in drawings.list_drawings()] == ["kept"]
