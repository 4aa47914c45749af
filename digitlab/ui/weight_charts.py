"""Plotly figures of a model's weights: a layer's distribution, a convolution's filters."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from digitlab.analysis.weights import Histogram
from digitlab.ui.charts import ACCENT, image_grid_axes

FIRST_EPOCH_COLOUR = "#e8590c"  # the start, in a colour apart from the accent (the end)
# Filters in red (positive) and blue (negative) around a white zero, as the saliency maps.
FILTER_SCALE = [[0.0, "#1c7ed6"], [0.5, "#ffffff"], [1.0, "#e03131"]]


def _bars(histogram: Histogram, name: str, colour: str) -> go.Bar:
    centres = (histogram.left + histogram.right) / 2
    return go.Bar(
        x=centres,
        y=histogram.counts,
        # TensorBoard's buckets can have zero width (a constant bias); keep them visible.
        width=np.maximum(histogram.right - histogram.left, 1e-6),
        name=name,
        marker_color=colour,
        opacity=0.6,
        hovertemplate=f"{name}: %{{y:.0f}} weights near %{{x:.3g}}<extra></extra>",
    )


def weight_distribution(
    title: str, last: Histogram, first: Histogram | None = None, last_name: str = "final"
) -> go.Figure:
    """A weight's histogram; with `first`, the first epoch's under the last's, overlaid."""
    figure = go.Figure()
    if first is not None:
        figure.add_trace(_bars(first, "first epoch", FIRST_EPOCH_COLOUR))
    figure.add_trace(_bars(last, last_name, ACCENT))
    figure.update_layout(
        title=dict(text=title, font=dict(size=13)),
        barmode="overlay",
        height=240,
        margin=dict(l=10, r=10, t=30, b=40),
        xaxis=dict(title=None),
        yaxis=dict(title="weights"),
        # Under the plot: the top right is where plotly's toolbar shows on hover.
        legend=dict(orientation="h", y=-0.15, yanchor="top", x=0, xanchor="left"),
        showlegend=first is not None,
    )
    return figure


def filter_grid(filters: np.ndarray, columns: int = 16) -> go.Figure:
    """Each (h, w) filter of (filters, h, w) as a small square image on one shared, zero-
    centred scale, so strong and weak filters look it."""
    from plotly.subplots import make_subplots  # only this figure needs it

    count = len(filters)
    rows = -(-count // columns)
    limit = float(np.abs(filters).max()) or 1.0
    figure = make_subplots(rows, columns, horizontal_spacing=0.01, vertical_spacing=0.02)
    for index, kernel in enumerate(filters):
        figure.add_heatmap(
            z=kernel,
            colorscale=FILTER_SCALE,
            zmin=-limit,
            zmax=limit,
            showscale=index == 0,
            colorbar=dict(thickness=10, title="weight"),
            hovertemplate=f"filter {index}: %{{z:.3f}}<extra></extra>",
            row=index // columns + 1,
            col=index % columns + 1,
        )
    return image_grid_axes(figure).update_layout(
        height=70 * rows + 20, margin=dict(l=0, r=0, t=10, b=10)
    )
