"""The Draw page's belief chart: each followed digit's probability, stroke by stroke."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from digitlab.ui.charts import ACCENT, MUTED, RUN_COLOURS


def belief_lines(
    strokes: list[int], steps: np.ndarray, digits: list[int], answer: int | None
) -> go.Figure:
    """One line per digit over the strokes; the current answer's line in the accent colour."""
    others = [colour for colour in RUN_COLOURS if colour != ACCENT] or [MUTED]
    figure = go.Figure()
    for i, digit in enumerate(digits):
        is_answer = digit == answer
        figure.add_scatter(
            x=strokes,
            y=[float(p) for p in steps[:, digit]],
            mode="lines+markers",
            name=str(digit),
            line=dict(
                color=ACCENT if is_answer else others[i % len(others)],
                width=3 if is_answer else 1.5,
            ),
            hovertemplate=f"digit {digit} after stroke %{{x}}: %{{y:.1%}}<extra></extra>",
        )
    figure.update_layout(
        height=200,
        margin=dict(l=10, r=10, t=30, b=10),
        yaxis=dict(range=[0, 1.05], tickformat=".0%", title=None),
        # Whole strokes only; a single stroke still gets an axis around it.
        xaxis=dict(title="stroke", dtick=1, range=[min(strokes) - 0.3, max(strokes) + 0.3]),
        legend=dict(title="digit", orientation="h", x=0, y=1.0, yanchor="bottom"),
    )
    return figure
