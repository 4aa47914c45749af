"""My digits page: fine-tune this session's model on its saved drawings, live, then show
the held-out drawings' and MNIST's accuracy before and after."""

from __future__ import annotations

import streamlit as st

from digitlab import store
from digitlab.store.drawings import Drawing
from digitlab.store.limits import LimitError
from digitlab.training.finetune import MIN_DRAWINGS, usable
from digitlab.training.job import DONE, QUEUED, RUNNING
from digitlab.training.jobs import JobQueue
from digitlab.ui import state
from digitlab.ui.resources import job_queue
from digitlab.zoo.registry import ENSEMBLE

POLL_SECONDS = 0.5


FEW_DRAWINGS = 20  # under this many held-out drawings, a change is said in drawings


def held_out_change(before: float, after: float, drawings: int) -> str:
    """The held-out change in words: "1 of 4 more right" for a few drawings (one of four is
    "+25 points", which overstates it), points for many."""
    if drawings >= FEW_DRAWINGS:
        return f"{(after - before) * 100:+.0f} points (from {before:.0%})"
    more = round((after - before) * drawings)
    if more == 0:
        return f"no change (from {round(before * drawings)} of {drawings})"
    # A leading minus is what turns st.metric's arrow red and down.
    return f"{more} of {drawings} more right" if more > 0 else f"-{-more} of {drawings} fewer right"


def show_figures(run: store.Run) -> None:
    """A fine-tuned run's before and after, as metrics with their change."""
    m = run.metrics
    held, mnist = st.columns(2)
    if m.get("held_out_after") is not None:
        held.metric(
            f"Your {m['held_out_drawings']} held-out drawings",
            f"{m['held_out_after']:.0%}",
            held_out_change(m["held_out_before"], m["held_out_after"], m["held_out_drawings"]),
            help="Drawings of yours that fine-tuning never trained on.",
        )
    mnist.metric(
        "MNIST test",
        f"{m['mnist_after']:.2%}",
        f"{(m['mnist_after'] - m['mnist_before']) * 100:+.2f} points "
        f"(from {m['mnist_before']:.2%})",
        help="The 10,000 MNIST test digits: what it still knows of everyone else's writing.",
    )


def show_job(queue: JobQueue, job_id: int) -> None:
    """The fine-tune's progress; once it ends, its run answers this session (one rerun)."""
    job = queue.get(job_id)
    if job is None:
        return
    progress = job.snapshot()
    if progress["status"] == QUEUED:
        st.info(f"Waiting for another training run: position {queue.position(job)}.")
    elif progress["status"] == RUNNING and progress["phase"] in ("training", ""):
        st.progress(progress["fraction"], text=f"Fine-tuning: {progress['fraction']:.0%}")
    elif progress["status"] == RUNNING:
        st.progress(progress["fraction"], text=f"Fine-tuning: {progress['phase']}...")
    elif progress["status"] == DONE:
        st.success(progress["message"])
        show_figures(store.get_run(progress["run_id"]))
    else:
        st.warning(progress["message"])
    if progress["status"] in (QUEUED, RUNNING):
        st.button("Stop", on_click=queue.stop, args=(job,), key="stop_fine_tune")
    elif job.take_end():  # the first of the workspace's sessions to see it end
        if progress["status"] == DONE and progress["run_id"] is not None:
            state.adopt_finished_run(progress["model"], progress["run_id"])
        st.rerun()


def render(found: list[Drawing]) -> None:
    st.header("Fine-tune on my digits")
    model = state.current_model()
    try:
        run = state.chosen_run(model)
    except store.StoreError as error:
        st.info(str(error))
        return
    if model == ENSEMBLE:
        st.info("An ensemble can't be fine-tuned: choose one of its members on the Draw page.")
        return
    count = len(usable(found, run.config))
    st.caption(
        f"Trains your model ({model}: {state.run_label(run)}) a little further on your "
        "drawings mixed with MNIST digits, so it learns your hand without forgetting "
        "everyone else's. A third of your drawings are held out to measure it on. The result "
        "is a new run that answers for you from then on."
    )
    queue = job_queue()
    job_id = st.session_state.get(state.FINE_TUNE_JOB_KEY)
    job = queue.get(job_id) if job_id is not None else queue.resume(state.session_owner(), True)
    if job is not None:  # after a reload, the workspace's own job is found again
        st.session_state[state.FINE_TUNE_JOB_KEY] = job_id = job.id
    busy = job is not None and not job.finished
    if st.button(
        "Fine-tune on my digits",
        key=state.FINE_TUNE_START_KEY,
        type="primary",
        disabled=busy or count < MIN_DRAWINGS,
        icon=":material/model_training:",
        help=None if count >= MIN_DRAWINGS else f"Save at least {MIN_DRAWINGS} digit drawings.",
    ):
        try:
            job = queue.submit(run.config, state.session_owner(), {"base_run": run.id})
        except LimitError as error:
            st.error(str(error), icon=":material/block:")
        else:
            st.session_state[state.FINE_TUNE_JOB_KEY] = job_id = job.id
            busy = True
    if count < MIN_DRAWINGS:
        st.caption(f"{count} of the {MIN_DRAWINGS} digit drawings it needs are saved.")
    if job_id is not None:
        st.fragment(show_job, run_every=POLL_SECONDS if busy else None)(queue, job_id)
