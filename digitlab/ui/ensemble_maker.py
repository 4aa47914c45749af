"""The Runs page's ensemble maker: pick 2 to 5 runs, get one model that averages them."""

from __future__ import annotations

import streamlit as st

from digitlab import store
from digitlab.inference import ensemble
from digitlab.store.limits import LimitError, check_room_for_run
from digitlab.training import ensembles
from digitlab.ui import state
from digitlab.zoo.registry import ENSEMBLE


def _made(run: store.Run) -> None:
    """The new ensemble answers this session's drawings, with the usual notice."""
    state.adopt_finished_run(ENSEMBLE, run.id)


def show_ensemble_maker(runs: list[store.Run]) -> None:
    st.subheader("Make an ensemble")
    candidates = {run.id: run for run in runs if ensemble.why_not_member(run) is None}
    labels = {run_id: f"{run.model}: {state.run_label(run)}" for run_id, run in candidates.items()}
    picked = st.multiselect(
        f"Pick {ensemble.MIN_MEMBERS} to {ensemble.MAX_MEMBERS} runs to average",
        list(labels),
        format_func=labels.__getitem__,
        max_selections=ensemble.MAX_MEMBERS,
        key=state.ENSEMBLE_PICKED_KEY,
        help="Any 28x28 classifiers, of one architecture or several. The ensemble answers "
        "with the mean of their probabilities; the temperature applies to each member first.",
    )
    clicked = st.button(
        "Make the ensemble",
        disabled=len(picked) < ensemble.MIN_MEMBERS,
        key="make_ensemble",
        icon=":material/join:",
    )
    if not clicked:
        st.caption("It is measured on the MNIST test set as it is made (about half a minute).")
        return
    try:
        check_room_for_run(state.session_owner())  # an ensemble is a run of the workspace's
        with st.spinner("Averaging the members and measuring them on MNIST test ..."):
            made = ensembles.make_in_child(picked, owner=state.session_owner())
    except (ensemble.EnsembleError, store.StoreError, LimitError) as error:
        st.error(str(error))
        return
    _made(made)
    members = ", ".join(f"{m['accuracy']:.2%}" for m in ensemble.members(made))
    st.success(
        f"Made ensemble run {made.id}: {made.accuracy:.2%} on MNIST test (members: "
        f"{members}). It answers your drawings now."
    )
