"""The heat strip of learning digit by digit: each digit's validation accuracy per epoch
(digitlab.training.digit_curves), shown live in the Retrain panel and for a chosen run on
the Runs page."""

from __future__ import annotations

import plotly.graph_objects as go

from digitlab.training.digit_curves import DIGITS, digit_curves, learning_order

# Above this many epochs the cells are too narrow for their numbers; hovering still tells.
MAX_LABELLED_EPOCHS = 12
# Colours start at the worst cell but never above this: after one epoch of a good run every
# digit is above 90%, and a scale from 0 would paint them all the same.
HIGHEST_FLOOR = 0.9
LEARNED = 0.98  # the accuracy at which a digit counts as learned, for the caption's order


def digit_strip(history: dict[str, list[float]], height: int = 280) -> go.Figure | None:
    """Digits down, epochs across, each cell the digit's validation accuracy after that
    epoch (pale: still often wrong); None when the history has no per-digit curves."""
    curves = digit_curves(history)
    if not curves:
        return None
    epochs = max(len(values) for values in curves.values())
    rows = [curves.get(digit, [None] * epochs) for digit in DIGITS]  # a digit not validated
    worst = min(min(values) for values in curves.values())
    labelled = epochs <= MAX_LABELLED_EPOCHS
    figure = go.Figure(
        go.Heatmap(
            z=rows,
            x=list(range(1, epochs + 1)),
            y=[str(digit) for digit in DIGITS],
            zmin=min(worst, HIGHEST_FLOOR),
            zmax=1.0,
            colorscale="Blues",
            texttemplate="%{z:.1%}" if labelled else None,
            textfont=dict(size=9),
            showscale=False,
            hovertemplate="digit %{y}, epoch %{x}: %{z:.2%}<extra></extra>",
            xgap=1,
            ygap=1,
        )
    )
    figure.update_layout(
        height=height,
        margin=dict(l=10, r=10, t=30, b=10),
        title=dict(text="validation accuracy per digit", font=dict(size=13)),
        xaxis=dict(title="epoch", dtick=1, fixedrange=True),
        yaxis=dict(title="digit", autorange="reversed", type="category", fixedrange=True),
    )
    return figure


def order_caption(history: dict[str, list[float]]) -> str:
    """The order it learned the digits in, in words ("" without per-digit curves)."""
    curves = digit_curves(history)
    if not curves:
        return ""
    order = ", ".join(str(digit) for digit in learning_order(curves, LEARNED))
    return f"The order it learned them (first to reach {LEARNED:.0%} on validation): {order}."
