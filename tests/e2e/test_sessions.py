"""Several people on one server: drawing while another trains, a queue of jobs, restarts.

The server's memory over many drawings is checked in test_live_answer.py.

Each test opens its own browser contexts, so each tab is a separate Streamlit session.
"""

from __future__ import annotations

import os
import signal
import statistics
from pathlib import Path
from urllib.parse import urlparse

import pytest
from playwright.sync_api import Browser, Locator, expect

from digitlab import store
from digitlab.zoo.config import TrainConfig

from .browser import (
    BLANK,
    ONE,
    StreamlitPage,
    choose_model_to_train,
    clear_button,
    set_number,
)
from .server import REPO_ROOT, server_pid, streamlit_server
from .tabs import new_tab

APP_SCRIPT = REPO_ROOT / "streamlit_app.py"
# A drawing session's answer while another session trains: the median under a second, and
# none over two. On the 2-core AMD EPYC of 2026-12-03 (TensorFlow ~4x slower than before)
# the nine drawings took 480-954 ms, once 1,035 and 1,438 ms before training ran at the
# lowest priority and its curves were built without plotly's validation.
DRAWING_DEADLINE_S = 1.0
WORST_DRAWING_S = 2.0


def open_session(browser: Browser, url: str) -> StreamlitPage:
    session = StreamlitPage(new_tab(browser))
    session.open(url)
    return session


def focus(session: StreamlitPage) -> StreamlitPage:
    """Bring a tab to the front: a background tab's timers and input are throttled."""
    session.page.bring_to_front()
    return session


def start_job(session: StreamlitPage, model: str, epochs: int, images: int) -> Locator:
    """Fill the sidebar form and press Train; return the sidebar."""
    focus(session)
    sidebar = session.page.get_by_test_id("stSidebar")
    choose_model_to_train(session, model)
    set_number(sidebar.get_by_role("spinbutton", name="Epochs"), epochs)
    set_number(sidebar.get_by_role("spinbutton", name="Training images"), images)
    sidebar.get_by_role("button", name="Train", exact=True).click()
    return sidebar


def stop_job(session: StreamlitPage, sidebar: Locator) -> None:
    focus(session)
    sidebar.get_by_role("button", name="Stop").click()
    expect(sidebar.get_by_test_id("stAlert").filter(has_text="Stopped")).to_be_visible(
        timeout=30_000
    )


def stroke_latencies(session: StreamlitPage, count: int) -> list[float]:
    """Pen-up to the new Prediction on screen, measured in the page, `count` times."""
    focus(session)
    clear = clear_button(session)
    waits = []
    for _ in range(count):
        waits.append(session.stroke_with_latency(ONE[0]))
        session.wait_until_quiet()
        session.click_and_wait(clear)
        expect(session.metric_value("Prediction")).to_have_text(BLANK)
    return waits


@pytest.mark.slow
@pytest.mark.timed
def test_drawing_keeps_answering_while_another_session_trains(browser: Browser, app_url: str):
    """The figures are printed for the README; the limits: a median under a second, none
    over two."""
    trainer = open_session(browser, app_url)
    drawer = open_session(browser, app_url)
    stroke_latencies(drawer, 1)  # warm up: the first model call and chart are slower
    alone = stroke_latencies(drawer, 5)  # for the printed comparison only
    sidebar = start_job(trainer, "mlp_small", epochs=20, images=60_000)
    try:
        expect(sidebar.get_by_test_id("stProgress")).to_be_visible(timeout=60_000)
        beside_a_job = stroke_latencies(drawer, 9)
        assert sidebar.get_by_test_id("stProgress").count() == 1, "the job ended too early"
    finally:
        stop_job(trainer, sidebar)
    print(
        f"\nstroke-to-prediction, median: {statistics.median(alone):.0f} ms alone (5), "
        f"{statistics.median(beside_a_job):.0f} ms while another session trains (9) "
        f"(all: {[round(wait) for wait in beside_a_job]} ms)"
    )
    assert all(wait is not None for wait in beside_a_job), "a drawing got no answer"
    assert statistics.median(beside_a_job) < DRAWING_DEADLINE_S * 1000
    assert max(beside_a_job) < WORST_DRAWING_S * 1000


def test_a_second_job_waits_in_the_queue_then_runs(browser: Browser, app_url: str):
    first = open_session(browser, app_url)
    second = open_session(browser, app_url)
    first_sidebar = start_job(first, "mlp_small", epochs=20, images=60_000)
    try:
        expect(first_sidebar.get_by_test_id("stProgress")).to_be_visible(timeout=60_000)
        second_sidebar = start_job(second, "tiny20", epochs=1, images=600)
        waiting = second_sidebar.get_by_test_id("stAlert").filter(
            has_text="position 1 in the queue"
        )
        expect(waiting).to_be_visible(timeout=30_000)
    finally:
        stop_job(first, first_sidebar)
    focus(second)
    done = second_sidebar.get_by_test_id("stAlert").filter(has_text="tiny20: Trained and stored.")
    expect(done).to_be_visible(timeout=120_000)


def test_server_killed_mid_training_restarts_with_a_sound_store(
    browser: Browser, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    with streamlit_server(APP_SCRIPT, tmp_path) as url:
        session = open_session(browser, url)
        sidebar = start_job(session, "mlp_small", epochs=20, images=60_000)
        expect(sidebar.get_by_test_id("stProgress")).to_be_visible(timeout=60_000)
        os.kill(server_pid(urlparse(url).port), signal.SIGKILL)
        session.page.close()

    monkeypatch.setenv("DIGITLAB_STORE_DIR", str(tmp_path / "store"))
    for run in store.list_runs(include_shipped=False):  # nothing half-written is listed,
        run.load()  # and all of it loads
    assert store.find_by_config(TrainConfig(model="mlp_small", epochs=20)) is None
    with streamlit_server(APP_SCRIPT, tmp_path) as url:  # the same store, started again
        session = open_session(browser, url)
        session.draw(ONE)
        expect(session.metric_value("Prediction")).to_have_text("1")


def answer(session: StreamlitPage) -> tuple[str, str | None, str]:
    """What a session is told about its drawing: the digit, the confidence, the model."""
    caption = session.page.get_by_test_id("stCaptionContainer").filter(has_text="Answered by")
    return session.prediction(), session.read_metric("Confidence"), caption.inner_text()


def redraw(session: StreamlitPage) -> tuple[str, str | None, str]:
    focus(session)
    session.click_and_wait(clear_button(session))
    session.draw(ONE)
    return answer(session)


@pytest.mark.slow
def test_a_sessions_run_is_its_own_and_a_restart_starts_on_the_shipped_model(
    browser: Browser, tmp_path: Path
):
    """Issue 7's scenario: A retrains digitnet on 2,000 images; B never notices. (On 200
    it scores at chance, and a broken run is offered, not made the trainer's model.)"""
    with streamlit_server(APP_SCRIPT, tmp_path) as url:
        trainer, bystander = open_session(browser, url), open_session(browser, url)
        before = redraw(bystander)
        assert "shipped" in before[2]

        sidebar = start_job(trainer, "digitnet", epochs=1, images=2000)
        done = sidebar.get_by_test_id("stAlert").filter(has_text="digitnet: Trained and stored")
        # A fresh process: TensorFlow's import, MNIST, 200 images, then all of MNIST test.
        expect(done).to_be_visible(timeout=240_000)
        trainer.wait_until_quiet()
        notice = trainer.page.get_by_test_id("stAlert").filter(has_text="Your new digitnet")
        expect(notice).to_be_visible()
        mine = redraw(trainer)
        assert "your run 1," in mine[2]  # the trainer is answered by its run...

        assert redraw(bystander) == before  # ...and the other session exactly as before

        focus(trainer)
        trainer.click_and_wait(trainer.page.get_by_role("button", name="Back to the shipped model"))
        assert redraw(trainer) == before  # one click back

    with streamlit_server(APP_SCRIPT, tmp_path) as url:  # the same store, started again
        newcomer = open_session(browser, url)
        assert redraw(newcomer) == before
