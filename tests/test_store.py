"""Runs: folders and SQLite rows that always agree, private owners, promotion, crashes."""

import json
import signal
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from digitlab import store
from digitlab.store import sqlite
from digitlab.zoo.builders import build_model
from digitlab.zoo.config import TrainConfig

from helpers import REPO_ROOT


def save_untrained(name="tiny20", owner=None, root=None, **changes) -> store.Run:
    config = TrainConfig(model=name, **changes)
    return store.save_run(
        build_model(name),
        config,
        {"loss": [1.0, 0.5], "accuracy": [0.4, 0.6]},
        {"accuracy": 0.5},
        seconds=1.5,
        batches=[{"position": 0.5, "loss": 1.2}],
        owner=owner,
        root=root,
    )


def folders(root) -> list[str]:
    return sorted(path.name for path in (root / store.RUNS_FOLDER).iterdir())


def test_a_saved_run_round_trips_with_its_curves(private_store):
    run = save_untrained(seed=4)
    again = store.get_run(run.id)
    assert again.id == run.id and again.model == "tiny20" and again.accuracy == 0.5
    assert again.config == TrainConfig(model="tiny20", seed=4) and again.seconds == 1.5
    assert again.size_bytes == run.model_file.stat().st_size > 0
    assert store.curves(again) == (
        {"loss": [1.0, 0.5], "accuracy": [0.4, 0.6]},
        [{"position": 0.5, "loss": 1.2}],
    )
    assert store.find_by_config(TrainConfig(model="tiny20", seed=4)).id == run.id
    assert store.get_run(run.id).load().count_params() == build_model("tiny20").count_params()
    assert folders(private_store) == [run.path.name]


def test_shipped_runs_are_runs_named_by_their_model():
    run = store.get_run("digitnet")
    assert run.shipped and run.model == "digitnet" and run.accuracy > 0.99
    assert run.describe().startswith("shipped")
    assert store.default_run("digitnet") == run
    with pytest.raises(store.StoreError, match="can't be deleted"):
        store.delete_run("digitnet")


def test_unknown_ids_are_clear_errors():
    with pytest.raises(store.StoreError, match="No run 99"):
        store.get_run("99")
    with pytest.raises(store.StoreError, match="a run id is a number, or a zoo name"):
        store.get_run("../etc")


def test_a_session_sees_its_own_runs_and_the_command_lines_never_anothers():
    mine = save_untrained(owner="session-a", seed=1)
    theirs = save_untrained(owner="session-b", seed=2)
    command_line = save_untrained(seed=3)
    visible = [run.id for run in store.list_runs("tiny20", visible_to="session-a")]
    assert visible == [command_line.id, mine.id, "tiny20"]  # newest first, shipped last
    assert theirs.id not in visible
    everything = [run.id for run in store.list_runs("tiny20")]
    assert everything == [command_line.id, theirs.id, mine.id, "tiny20"]


def test_the_listing_follows_changes_made_by_another_process(private_store):
    assert store.list_runs("tiny20", include_shipped=False) == []
    script = textwrap.dedent(
        f"""
        from digitlab.zoo.config import TrainConfig
        from digitlab.zoo.builders import build_model
        from digitlab import store
        store.save_run(build_model("tiny20"), TrainConfig(model="tiny20"), {{}}, {{}},
                       seconds=0.0, root=__import__("pathlib").Path({str(private_store)!r}))
        """
    )
    subprocess.run([sys.executable, "-c", script], cwd=REPO_ROOT, check=True, timeout=120)
    assert len(store.list_runs("tiny20", include_shipped=False)) == 1


def test_only_the_owner_deletes_and_deleting_the_promoted_run_falls_back(private_store):
    run = save_untrained(owner="session-a")
    with pytest.raises(store.StoreError, match="not this workspace's"):
        store.delete_run(run.id, owner="session-b")
    store.promote(run.id)
    assert store.default_run("tiny20").id == run.id
    store.delete_run(run.id, owner="session-a")
    assert store.default_run("tiny20").shipped
    assert folders(private_store) == []
    with pytest.raises(store.StoreError):
        store.get_run(run.id)


def test_promoting_the_shipped_run_restores_it():
    run = save_untrained()
    store.promote(run.id)
    assert store.promoted() == {"tiny20": run.id}
    store.promote("tiny20")
    assert store.promoted() == {} and store.default_run("tiny20").shipped


def test_an_interrupted_save_leaves_neither_folder_nor_row(private_store, monkeypatch):
    def crash(*args, **kwargs):
        raise KeyboardInterrupt("simulated crash before the row is written")

    monkeypatch.setattr(sqlite.Transaction, "__enter__", crash)
    with pytest.raises(KeyboardInterrupt):
        save_untrained(seed=7)
    monkeypatch.undo()
    assert store.list_runs(include_shipped=False) == []
    assert folders(private_store) == []


def test_a_corrupt_model_file_is_a_clear_error(private_store):
    run = save_untrained()
    run.model_file.write_bytes(b"this is not a keras zip file")
    with pytest.raises(store.StoreError, match=f"Cannot load run {run.id}"):
        run.load()


# A child that saves one run and is killed at a chosen moment of the save.
_KILLED_SAVE = """
import sys, time
from pathlib import Path
from digitlab import store
from digitlab.zoo.config import TrainConfig
from digitlab.zoo.builders import build_model
moment, root = sys.argv[1], Path(sys.argv[2])
model = build_model("tiny20")
if moment == "folder":  # while the model file is being written
    real_save = model.save
    def slow_save(path):
        real_save(path)
        print("ready", flush=True)
        time.sleep(60)
    model.save = slow_save
else:  # the folder is in place; the row is not written yet
    from digitlab.store import sqlite
    real_enter = sqlite.Transaction.__enter__
    def slow_enter(self):
        print("ready", flush=True)
        time.sleep(60)
        return real_enter(self)
    sqlite.Transaction.__enter__ = slow_enter
store.save_run(model, TrainConfig(model="tiny20", seed=11), {}, {}, seconds=0.0, root=root)
"""


@pytest.mark.parametrize("moment", ["folder", "row"])
def test_sigkill_during_a_save_leaves_a_clean_store_at_the_next_start(private_store, moment):
    kept = save_untrained(root=private_store)
    child = subprocess.Popen(
        [sys.executable, "-c", _KILLED_SAVE, moment, str(private_store)],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert child.stdout.readline().strip() == "ready"
    child.send_signal(signal.SIGKILL)
    child.wait(timeout=30)
    assert len(folders(private_store)) == 2  # what the killed save left behind

    report = store.reconcile(private_store)  # what every process does on its first use
    assert len(report["removed_folders"]) == 1 and report["missing_runs"] == []
    assert folders(private_store) == [kept.path.name]
    assert [run.id for run in store.list_runs(include_shipped=False)] == [kept.id]


def test_a_run_whose_folder_vanished_is_marked_missing_and_never_offered(private_store):
    gone = save_untrained(seed=1)
    kept = save_untrained(seed=2)
    import shutil

    shutil.rmtree(gone.path)
    assert store.reconcile(private_store)["missing_runs"] == [gone.id]
    assert [run.id for run in store.list_runs(include_shipped=False)] == [kept.id]
    with pytest.raises(store.StoreError, match="missing its model folder"):
        store.get_run(gone.id)


_WRITER = """
import sys
from pathlib import Path
from digitlab import store
from digitlab.zoo.config import TrainConfig
from digitlab.zoo.builders import build_model
writer, root = int(sys.argv[1]), Path(sys.argv[2])
model = build_model("tiny20")
for seed in range(6):
    config = TrainConfig(model="tiny20", seed=100 * writer + seed)
    store.save_run(model, config, {}, {}, seconds=0.0, owner=f"w{writer}", root=root)
"""


def test_two_processes_writing_runs_at_once_lose_none(private_store):
    writers = [
        subprocess.Popen([sys.executable, "-c", _WRITER, str(n), str(private_store)], cwd=REPO_ROOT)
        for n in (1, 2)
    ]
    assert [writer.wait(timeout=180) for writer in writers] == [0, 0]
    runs = store.list_runs(include_shipped=False)
    assert len(runs) == 12 and len({run.id for run in runs}) == 12
    assert sorted(run.config.seed for run in runs) == [100, 101, 102, 103, 104, 105] + [
        200,
        201,
        202,
        203,
        204,
        205,
    ]
    assert len(folders(private_store)) == 12
    for run in runs:
        assert json.loads((run.path / store.RECORD_FILE).read_text())["owner"] == run.owner
    assert np.all([run.model_file.is_file() for run in runs])
