"""Sharing a run by link, read-only: making the link, withdrawing it, and opening it.

`?share=TOKEN` makes that run answer the visitor's drawings for this session, with its
curves and evaluation on the other pages; it never becomes the visitor's own (nothing is
stored in their workspace), and nothing else of the owner's workspace is shown. Delete is
offered only for a workspace's own runs, so a visitor has none; promoting is the command
line's. A link withdrawn on the Runs page stops answering at the visitor's next rerun.
"""

from __future__ import annotations

import time

import streamlit as st

from digitlab import store
from digitlab.store import shares, workspaces
from digitlab.ui import state
from digitlab.ui.workspace import APP_URL_KEY

SHARE_PARAM = "share"
MADE_KEY = "share_made"  # (run id, link) of the link this session just made: shown once
READ_KEY = "share_link_read"  # this session has acted on its ?share= link (once)
WITHDRAWN_KEY = "share_withdrawn"  # the shared run's link was withdrawn: say so once


def open_shared() -> None:
    """At the top of every run: act on a ?share= link once per session, and drop a shared
    run whose link was withdrawn since."""
    shared = st.session_state.get(state.SHARED_KEY)
    if shared is not None and not shares.still_shared(shared["share"]):
        _stop_using(shared)
        st.session_state[WITHDRAWN_KEY] = True
    token = st.query_params.get(SHARE_PARAM)
    if token is None or st.session_state.get(READ_KEY):
        return
    st.session_state[READ_KEY] = True
    found = shares.shared_run(token)
    if found is None:
        st.session_state[WITHDRAWN_KEY] = True
        return
    share, run = found
    st.session_state[state.SHARED_KEY] = {"share": share.id, "run_id": run.id, "model": run.model}
    # For this session only: the visitor's workspace keeps its own choice.
    st.session_state[state.run_key(run.model)] = run.id
    st.session_state[state.PENDING_MODEL_KEY] = run.model


def _stop_using(shared: dict) -> None:
    """The visitor's own choice answers again (their workspace's, or the default)."""
    st.session_state.pop(state.SHARED_KEY, None)
    own = workspaces.choices(state.session_owner()).get(shared["model"])
    if own is None:
        st.session_state.pop(state.run_key(shared["model"]), None)
    else:
        st.session_state[state.run_key(shared["model"])] = own


def show_banner() -> None:
    """Above every page: which run a link shared with this session, or that it was withdrawn."""
    if st.session_state.pop(WITHDRAWN_KEY, False):
        st.warning(
            "This share link opens nothing: its owner withdrew it, or it was mistyped.",
            icon=":material/link_off:",
        )
    shared = st.session_state.get(state.SHARED_KEY)
    if shared is None:
        return
    message, stop = st.columns([4, 1], vertical_alignment="center")
    try:
        label = state.run_label(store.get_run(shared["run_id"]))
    except store.StoreError:
        label = f"run {shared['run_id']}"
    message.info(
        f"Shared with you, read-only: {shared['model']} {label}. It answers your drawings "
        "here; its curves and evaluation are on the Runs and Evaluate pages.",
        icon=":material/share:",
    )
    stop.button("Stop using it", on_click=_stop_button, args=(shared,), key="share_stop")


def _stop_button(shared: dict) -> None:
    _stop_using(shared)
    st.query_params.pop(SHARE_PARAM, None)  # a reload then stays on the visitor's own


def _make(run: store.Run) -> None:
    token = shares.share_run(run, state.session_owner())
    base = st.session_state.get(APP_URL_KEY, "")
    st.session_state[MADE_KEY] = (run.id, f"{base}/?{SHARE_PARAM}={token}")


def offer_share(run: store.Run, key: str) -> None:
    """ "Share this run" for a run of the workspace's own, and the link once it is made."""
    if run.shipped or run.owner != state.session_owner():
        return
    st.button("Share this run", on_click=_make, args=(run,), key=key, icon=":material/share:")
    made = st.session_state.get(MADE_KEY)
    if made is not None and made[0] == run.id:
        st.code(made[1], language=None, wrap_lines=True)
        st.caption(
            "Whoever opens this link can draw on this run and see its curves and evaluation, "
            "read-only, and nothing else of your workspace. Withdraw it on the Runs page. "
            "It is shown only now: the store keeps no copy of it."
        )


def show_links(run: store.Run) -> None:
    """The picked run's live links, each with Withdraw (the Runs page)."""
    if run.shipped or run.owner != state.session_owner():
        return
    for link in shares.shares_of(run.id, state.session_owner()):
        made = time.strftime("%Y-%m-%d %H:%M", time.localtime(link.created_at))
        text, withdraw = st.columns([3, 1], vertical_alignment="center")
        text.caption(f"Shared by a link made {made}.")
        withdraw.button(
            "Withdraw the link",
            on_click=shares.revoke,
            args=(link.id, state.session_owner()),
            key=f"revoke_share_{link.id}",
        )
