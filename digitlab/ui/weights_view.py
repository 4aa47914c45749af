"""The Runs page's Weights section: a chosen run's weight distributions, first epoch against
last, and its first convolution's filters."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import streamlit as st

from digitlab import store
from digitlab.analysis import weights
from digitlab.ui.state import WEIGHTS_SHOW_KEY
from digitlab.ui.weight_charts import filter_grid, weight_distribution


@dataclass(frozen=True)
class _Weights:
    """What the section draws, read once per run version (see _read)."""

    epochs: list[weights.EpochHistograms]  # empty: the run has no logs
    final: list[tuple[str, str, weights.Histogram]]
    filters: np.ndarray | None


@st.cache_data(max_entries=16, show_spinner="Reading the run's weights...")
def _read(version: str, _run: store.Run) -> _Weights:
    # Keyed by the run's version: a run's files never change once it is stored.
    return _Weights(
        weights.epoch_histograms(_run),
        weights.final_histograms(_run),
        weights.first_conv_filters(_run),
    )


def _distributions(data: _Weights) -> None:
    """One chart per weight, kernels left and the rest (biases, batch norm) right."""
    if data.epochs:
        charts = [
            (f"{row.layer} {row.weight}", row.last, row.first, f"epoch {row.last_epoch}")
            for row in data.epochs
        ]
    else:
        charts = [(f"{layer} {name}", hist, None, "final") for layer, name, hist in data.final]
    for index, (title, last, first, last_name) in enumerate(charts):
        if index % 2 == 0:
            columns = st.columns(2)
        figure = weight_distribution(title, last, first, last_name)
        columns[index % 2].plotly_chart(figure, key=f"weights-{title}")


def show_weights(run: store.Run) -> None:
    """The Weights section for `run` (a trained or a shipped one)."""
    st.subheader("Weights")
    shown = st.toggle(
        "Show the chosen run's weights",
        key=WEIGHTS_SHOW_KEY,
        help="Each layer's weight distribution, and the first convolution's filters.",
    )
    if not shown:
        return
    try:
        data = _read(run.cache_key, run)
    except (OSError, KeyError, ValueError) as error:  # a damaged or unusual model file
        st.warning(f"Can't read the weights of {run.model} {run.id}: {error}")
        return
    if data.epochs:
        first, last = data.epochs[0].first_epoch, data.epochs[0].last_epoch
        st.caption(
            f"From this run's TensorBoard logs: each weight after epoch {first} and after "
            f"epoch {last}, overlaid. TensorBoard shows every epoch (the README says how "
            "to start it on the server's runs)."
        )
    elif run.shipped:
        st.info(
            "Shipped runs come without TensorBoard logs: these are their final weights "
            "only. Train one from the sidebar to see how its weights moved."
        )
    else:
        st.info(
            "This run has no TensorBoard logs (trained before they were kept): final weights only."
        )
    _distributions(data)
    if data.filters is None:
        st.caption(f"{run.model} has no convolution layer, so no filters to show.")
        return
    count, height, width = data.filters.shape
    st.markdown(f"**First convolution's filters**: {count} of {height}x{width}, on the input.")
    st.plotly_chart(filter_grid(data.filters), key="weights-filters")
