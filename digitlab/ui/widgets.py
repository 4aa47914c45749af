"""Small widgets more than one page uses: the architecture and the version that answers."""

from __future__ import annotations

from typing import Any

import streamlit as st

from digitlab import store
from digitlab.ui import state
from digitlab.zoo.registry import ANSWERING, CUSTOM, DEFAULT_MODEL

VERSION_CHOICES = 20  # newest runs offered in the selector; the Runs page lists them all


def zoo_selector(key: str, default: str = DEFAULT_MODEL, **options: Any) -> str:
    """A selectbox over the zoo and ensembles, each entry with its short description, and
    custom networks once this session can use one (one it trained, or the command line's)."""
    models = [name for name in ANSWERING if name != CUSTOM or state.visible_runs(CUSTOM)]
    if st.session_state.get(key, models[0]) not in models:  # its custom runs were deleted
        del st.session_state[key]
    return st.selectbox(
        "Model",
        options=models,
        index=models.index(default) if default in models else 0,
        format_func=lambda name: f"{name} — {ANSWERING[name].title}",
        key=key,
        **options,
    )


def _picked(model: str, key: str) -> None:
    state.choose_run(model, st.session_state[key])
    st.session_state.pop(state.NOTICE_KEY, None)


def run_selector(model: str) -> store.Run:
    """Which version of an architecture answers this session: shipped, promoted, or a run.

    Shared by every page: choosing here changes the session's model everywhere, and never
    another session's.
    """
    current = state.chosen_run(model)
    runs = state.visible_runs(model)
    choices = {run.id: run for run in runs[:VERSION_CHOICES]}
    choices.update({run.id: run for run in runs if run.shipped})
    choices.setdefault(current.id, current)
    default_id = state.server_default_id(model)
    key = state.version_key(model)
    labels = {
        run_id: state.run_label(run) + (" (server default)" if run_id == default_id else "")
        for run_id, run in choices.items()
    }
    st.session_state[key] = current.id  # the session's choice is the source of truth
    st.selectbox(
        "Version",
        options=list(choices),
        format_func=labels.__getitem__,
        key=key,
        on_change=_picked,
        args=(model, key),
        help="Runs you train appear here; other sessions' runs never do. The Runs page "
        "compares them.",
    )
    return current
