"""Every session-state key in one place, and the session's own choices that use them.

A session owns the runs it trains and chooses, per architecture, which run answers it.
Nothing here is shared between sessions: the store says what exists, the session state
says what this session picked.
"""

from __future__ import annotations

import uuid

import streamlit as st

from digitlab import store
from digitlab.zoo.registry import DEFAULT_MODEL

MODEL_KEY = "model_name"  # the architecture the Draw page shows
PENDING_MODEL_KEY = "pending_model"  # set when a job ends; becomes MODEL_KEY on the next run
OWNER_KEY = "session_owner"  # this session's id in the store's `owner` column
JOB_KEY = "job_id"  # this session's training job in the server's queue
FINE_TUNE_JOB_KEY = "fine_tune_job_id"  # this session's fine-tune job (My digits page)
NOTICE_KEY = "run_notice"  # (model, run id) of a run that just became this session's model
EVALUATE_MODEL_KEY = "evaluate_model_name"
EXPORT_MODEL_KEY = "export_model_name"
TEMPERATURE_KEY = "temperature"
RUNTIME_KEY = "runtime"


def session_owner() -> str:
    """This browser session's id: the owner of the runs it trains."""
    if OWNER_KEY not in st.session_state:
        st.session_state[OWNER_KEY] = uuid.uuid4().hex
    return st.session_state[OWNER_KEY]


def _run_key(model: str) -> str:
    return f"run_for_{model}"


def chosen_run(model: str) -> store.Run:
    """The run that answers this session for an architecture: its choice, else the default.

    A chosen run that was deleted meanwhile falls back to the default, silently.
    """
    run_id = st.session_state.get(_run_key(model))
    if run_id is not None:
        try:
            return store.get_run(run_id)
        except store.StoreError:
            del st.session_state[_run_key(model)]
    return store.default_run(model)


def in_use(run: store.Run) -> bool:
    """Whether this run answers this session for its architecture (or ensemble)."""
    try:
        return chosen_run(run.model).id == run.id
    except store.StoreError:  # an ensemble nobody chose yet: none answers
        return False


def choose_run(model: str, run_id: str | None) -> None:
    """Make a run this session's model for its architecture (None: back to the default)."""
    if run_id is None:
        st.session_state.pop(_run_key(model), None)
    else:
        st.session_state[_run_key(model)] = run_id


def back_to_default(model: str) -> None:
    """A button callback: the default run answers again, and the notice goes."""
    choose_run(model, None)
    st.session_state.pop(NOTICE_KEY, None)


def adopt_finished_run(model: str, run_id: str) -> None:
    """A run this session trained is done: it answers from now on, with a notice saying so."""
    choose_run(model, run_id)
    st.session_state[NOTICE_KEY] = (model, run_id)
    st.session_state[PENDING_MODEL_KEY] = model


def visible_runs(model: str | None = None) -> list[store.Run]:
    """The runs this session may see: its own, the command line's, and the shipped ones."""
    return store.list_runs(model, visible_to=session_owner())


def run_label(run: store.Run, owner: str | None = None) -> str:
    """A run in words for this session: "shipped, 99.34% on MNIST test", "your run 12, ...".

    `owner` defaults to this session; pass it when the label is made outside a script run
    (a widget's format_func may be called there).
    """
    owner = owner if owner is not None else session_owner()
    if run.shipped:
        name = "shipped"
    elif run.owner == owner:
        name = f"your run {run.id}"
    elif run.owner is None:
        name = f"run {run.id} (command line)"
    else:
        name = f"run {run.id}"
    if run.accuracy is None:
        return name
    return f"{name}, {run.accuracy:.2%} on MNIST test"


def current_model(default: str = DEFAULT_MODEL) -> str:
    """The architecture the Draw page shows (other pages open on it)."""
    return st.session_state.get(MODEL_KEY, default)
