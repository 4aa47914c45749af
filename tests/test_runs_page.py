"""Runs under AppTest: the Runs page, and what a rerun costs with many runs in the store."""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

import pytest

from digitlab import store
from digitlab.zoo.builders import build_model
from digitlab.zoo.config import TrainConfig

from helpers import TINY, drawn_seven, metric, new_app, open_page

ME = "session-under-test"


def my_app(model: str = "tiny20", drawing=None):
    app = new_app(model, drawing)
    app.session_state["session_owner"] = ME
    return app


@pytest.fixture
def two_runs(trained_once) -> list[store.Run]:
    """This session's tiny20 runs of one and two epochs, in this test's store."""
    return [trained_once.copy(TINY.replace(epochs=epochs), owner=ME) for epochs in (1, 2)]


def test_the_runs_page_lists_compares_uses_and_deletes(two_runs, trained_once):
    other = trained_once.copy(TINY.replace(train_samples=600), owner="someone")
    app = open_page(my_app().run(), "runs")
    assert not app.exception
    assert len(app.dataframe[0].value) == 2 + 8  # every model's shipped run, and mine
    app.selectbox(key="runs_model").set_value("tiny20").run()
    table = app.dataframe[0].value
    assert list(table["run"]) == [two_runs[1].id, two_runs[0].id, "tiny20"]  # not `other`
    assert other.id not in list(table["run"])
    assert list(table["origin"]) == ["yours", "yours", "shipped"]
    assert table["recipe and changes"].iloc[0] == (
        "default: epochs=2, batch_size=128, train_samples=500"
    )
    # A phone shows the first columns: the accuracy is among them, before the long text.
    assert list(table.columns[:3]) == ["run", "model", "MNIST test accuracy"]

    app.multiselect(key="runs_compared").set_value([two_runs[0].id, two_runs[1].id]).run()
    assert not app.exception
    charts = [chart for chart in app.get("plotly_chart") if chart.key.startswith("compare")]
    assert len(charts) == 3  # loss, accuracy, and accuracy per digit
    assert f"tiny20 your run {two_runs[0].id} (train)" in charts[0].proto.spec  # the legend

    app.selectbox(key="runs_pick").set_value(two_runs[1].id).run()
    app.button(key="use_run").click().run()
    assert not app.exception
    app = open_page(app, "draw")
    assert app.selectbox(key="version_tiny20").value == two_runs[1].id

    app = open_page(app, "runs")
    app.selectbox(key="runs_model").set_value("tiny20").run()
    app.selectbox(key="runs_pick").set_value(two_runs[1].id).run()
    app.button(key="delete_run").click().run()
    assert not app.exception
    assert two_runs[1].id not in list(app.dataframe[0].value["run"])
    app = open_page(app, "draw")
    assert app.selectbox(key="version_tiny20").value == "tiny20"  # back on the shipped run


def test_a_run_records_its_augmentation_and_the_comparison_shows_it(two_runs, trained_once):
    """A tiny real run at strengths of its own (the 20x20 network: its pixels scaled)."""
    distorted = TINY.replace(augment=True, aug_rotation=30.0, aug_elastic_alpha=20.0)
    augmented = trained_once.copy(distorted, owner=ME)
    stored = store.get_run(augmented.id).config  # read back from the run's folder
    assert (stored.aug_rotation, stored.aug_elastic_alpha, stored.aug_shift) == (30.0, 20.0, 2.0)

    app = open_page(my_app().run(), "runs")
    app.multiselect(key="runs_compared").set_value([augmented.id, two_runs[0].id]).run()
    assert not app.exception
    (table,) = [t.value for t in app.dataframe if "augmented epochs" in t.value.columns]
    rows = table.set_index("run").to_dict("index")
    (mine,) = [row for label, row in rows.items() if f"run {augmented.id}" in label]
    assert mine["augmented epochs"] == 1
    assert (mine["aug_rotation"], mine["aug_elastic_alpha"], mine["aug_zoom"]) == (30, 20, 0.15)
    (plain,) = [row for label, row in rows.items() if f"run {two_runs[0].id}" in label]
    assert plain["augmented epochs"] == 0  # trained on clean digits: no strengths to show


def test_shipped_and_other_sessions_runs_cannot_be_deleted_here(two_runs):
    app = open_page(my_app().run(), "runs")
    app.selectbox(key="runs_pick").set_value("tiny20").run()
    assert app.button(key="delete_run").disabled


class FileReads:
    """Records every file the process opens while `active` (an audit hook can't be removed)."""

    def __init__(self) -> None:
        self.active = False
        self.paths: list[str] = []
        sys.addaudithook(self._hook)

    def _hook(self, event: str, args: tuple) -> None:
        if self.active and event == "open" and isinstance(args[0], str | Path):
            self.paths.append(str(args[0]))


def median_rerun_seconds(app, reads: FileReads, rounds: int = 9) -> float:
    slider = app.select_slider(key="temperature")
    stops = [0.5, 2.0]
    times = []
    for index in range(rounds):
        reads.active = True
        started = time.perf_counter()
        slider.set_value(stops[index % 2]).run()
        times.append(time.perf_counter() - started)
        reads.active = False
        slider = app.select_slider(key="temperature")
    assert not app.exception
    return statistics.median(times)


@pytest.mark.timed
def test_a_rerun_costs_the_same_with_200_runs_and_reads_no_run_files(private_store, capsys):
    reads = FileReads()
    seven = drawn_seven()
    empty = my_app("tiny20", seven).run()
    empty_s = median_rerun_seconds(empty, reads)

    model = build_model("tiny20")
    for seed in range(200):  # visible ones: made on the command line, offered to everyone
        store.save_run(model, TrainConfig(model="tiny20", seed=seed), {}, {}, seconds=1.0)
    full = my_app("tiny20", seven).run()
    assert len(full.selectbox(key="version_tiny20").options) == 21  # the newest 20 + shipped
    reads.paths.clear()
    full_s = median_rerun_seconds(full, reads)

    store_reads = [p for p in reads.paths if p.startswith(str(private_store))]
    json_reads = [p for p in reads.paths if p.endswith(".json") or "assets/models" in p]
    assert store_reads == [] and json_reads == [], (store_reads, json_reads)
    with capsys.disabled():
        print(f"\nDraw page rerun (temperature): {empty_s * 1000:.0f} ms with 0 runs, "
              f"{full_s * 1000:.0f} ms with 200 runs")  # fmt: skip
    assert metric(full, "Prediction") == metric(empty, "Prediction")
    assert full_s < 2 * empty_s + 0.1  # no cost that grows with the number of runs
