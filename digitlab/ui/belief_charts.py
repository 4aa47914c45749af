"""The Draw page's belief chart: each followed digit's probability, stroke by stroke."""

from __future__ import annotations

import numpy as np
import plotly.colors
import plotly.graph_objects as go

from digitlab.ui.charts import drawing_figure

# One colour per digit, so a digit keeps its colour as lines come and go.
DIGIT_COLOURS = plotly.colors.qualitative.D3


def belief_lines(
    strokes: list[int], steps: np.ndarray, digits: list[int], answer: int | None
) -> go.Figure:
    """One line per digit over the strokes; the current answer's line drawn thicker."""
    lines = [
        {
            "type": "scatter",
            "x": strokes,
            "y": [float(p) for p in steps[:, digit]],
            "mode": "lines+markers",
            "name": str(digit),
            "line": {"color": DIGIT_COLOURS[digit], "width": 3 if digit == answer else 1.5},
            "hovertemplate": f"digit {digit} after stroke %{{x}}: %{{y:.1%}}<extra></extra>",
        }
        for digit in digits
    ]
    layout = {
        "height": 200,
        "margin": {"l": 10, "r": 10, "t": 30, "b": 10},
        "yaxis": {"range": [0, 1.05], "tickformat": ".0%"},
        # Whole strokes only; a single stroke still gets an axis around it.
        "xaxis": {
            "title": {"text": "stroke"},
            "dtick": 1,
            "range": [min(strokes) - 0.3, max(strokes) + 0.3],
        },
        "legend": {
            "title": {"text": "digit"},
            "orientation": "h",
            "x": 0,
            "y": 1.0,
            "yanchor": "bottom",
        },
    }
    return drawing_figure(lines, layout)
