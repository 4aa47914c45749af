"""The Search page's figure: each trial's score against each searched setting."""

from __future__ import annotations

from typing import Any

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from digitlab.ui.charts import ACCENT, MUTED

TITLES = {
    "learning_rate": "learning rate",
    "dropout": "dropout",
    "batch_size": "batch size",
    "l2": "L2",
    "optimizer": "optimizer",
    "width": "width",
}
LOG_SCALED = ("learning_rate", "l2")  # sampled on a log scale, so shown on one
# A pruned trial's score is from the epoch it was stopped at: shown, but apart.
STYLES = {"done": ("finished", ACCENT, "circle"), "pruned": ("pruned", MUTED, "x")}


def score_against_settings(
    rows: list[dict[str, Any]], searched: list[str], objective: str
) -> go.Figure:
    """One panel per setting: x the setting's value, y the trial's score."""
    figure = make_subplots(
        rows=1, cols=len(searched), shared_yaxes=True, subplot_titles=[TITLES[n] for n in searched]
    )
    scored = [row for row in rows if row["score"] is not None]
    for column, name in enumerate(searched, start=1):
        for status, (label, colour, symbol) in STYLES.items():
            points = [row for row in scored if row["status"] == status]
            figure.add_scatter(
                x=[row[name] for row in points],
                y=[row["score"] for row in points],
                mode="markers",
                name=label,
                legendgroup=label,
                showlegend=column == 1,
                marker=dict(color=colour, size=10, symbol=symbol),
                customdata=[row["trial"] for row in points],
                hovertemplate=f"trial %{{customdata}}<br>{TITLES[name]} %{{x}}<br>"
                f"{objective} %{{y:.4f}}<extra></extra>",
                row=1,
                col=column,
            )
        if name in LOG_SCALED:
            # One label a decade ("1e-03"): plotly's default also labels 2 and 5 within it.
            figure.update_xaxes(type="log", dtick=1, tickformat=".0e", row=1, col=column)
        elif name in ("batch_size", "optimizer", "width"):
            figure.update_xaxes(type="category", row=1, col=column)
    figure.update_yaxes(title_text=objective, row=1, col=1)
    figure.update_layout(
        height=300,
        margin=dict(l=10, r=10, t=30, b=10),
        legend=dict(orientation="h", y=-0.2, font=dict(size=10)),
    )
    return figure
