"""Plotly figures of the Data page: class balance, one image's values, activation functions."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from digitlab.ui.charts import ACCENT, MUTED

_SMALL_MARGIN = dict(l=10, r=10, t=30, b=10)
# One colour per activation, far enough apart to tell the faint ones apart.
ACTIVATION_COLOURS = {
    "relu": "#3b5bdb",
    "leaky_relu": "#e8590c",
    "elu": "#2b8a3e",
    "gelu": "#ae3ec9",
    "sigmoid": "#c92a2a",
    "tanh": "#495057",
}


def class_balance(counts: dict[str, int], title: str) -> go.Figure:
    """One bar per class, labelled with its share of the source."""
    total = sum(counts.values()) or 1
    figure = go.Figure(
        go.Bar(
            x=list(counts),
            y=list(counts.values()),
            marker_color=ACCENT,
            text=[f"{n / total:.1%}" for n in counts.values()],
            textposition="outside",
            cliponaxis=False,
            hovertemplate="%{x}: %{y} images<extra></extra>",
        )
    )
    figure.update_layout(
        title=dict(text=title, font=dict(size=13)),
        height=230,
        margin=_SMALL_MARGIN,
        xaxis=dict(type="category", title=None),
        yaxis=dict(title=None, range=[0, max(counts.values(), default=0) * 1.2 or 1]),
        showlegend=False,
    )
    return figure


def value_heatmap(values: np.ndarray, title: str) -> go.Figure:
    """An image's values as they are (no rescaling), with a colour bar that reads them."""
    figure = go.Figure(
        go.Heatmap(
            z=values,
            colorscale="Greys",
            colorbar=dict(thickness=10),
            hovertemplate="row %{y}, column %{x}: %{z:.3f}<extra></extra>",
        )
    )
    figure.update_layout(
        title=dict(text=title, font=dict(size=13)), height=260, margin=_SMALL_MARGIN
    )
    figure.update_xaxes(visible=False, constrain="domain")
    figure.update_yaxes(visible=False, autorange="reversed", scaleanchor="x")
    return figure


def activation_curves(curves: dict[str, dict[str, np.ndarray]], used: set[str]) -> go.Figure:
    """Each activation (left) and its derivative (right); those in `used` bold, the rest
    faint and dotted, so the network's own stand out against the alternatives."""
    figure = make_subplots(rows=1, cols=2, subplot_titles=("f(x)", "f′(x), its derivative"))
    for name, curve in curves.items():
        colour = ACTIVATION_COLOURS.get(name, MUTED)
        bold = name in used
        line = dict(color=colour, width=3.5) if bold else dict(color=colour, width=1.5, dash="dot")
        for column, key in ((1, "y"), (2, "dy")):
            figure.add_scatter(
                x=curve["x"],
                y=curve[key],
                name=name + (" (in this network)" if bold else ""),
                legendgroup=name,
                showlegend=column == 1,
                line=line,
                opacity=1.0 if bold else 0.7,
                hovertemplate=f"{name}: x %{{x:.2f}}, %{{y:.3f}}<extra></extra>",
                row=1,
                col=column,
            )
    figure.update_layout(
        height=360,
        margin=dict(l=10, r=10, t=40, b=10),
        legend=dict(orientation="h", y=-0.25, font=dict(size=12)),
    )
    figure.update_xaxes(title="x", zeroline=True, zerolinecolor=MUTED)
    figure.update_yaxes(zeroline=True, zerolinecolor=MUTED)
    return figure
