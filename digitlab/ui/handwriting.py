"""The Evaluate page's "Real handwriting" section: held-out pen-written digits and
drawings that aren't digits (the figures come from digitlab.analysis.handwriting)."""

from __future__ import annotations

from typing import Any

import streamlit as st

from digitlab.data import handdrawn
from digitlab.ui import charts

GALLERY_COLUMNS = 8


def show_headline(h: dict[str, Any]) -> None:
    canvas, paper, abstained, ece, letters = st.columns(5)
    canvas.metric(
        "Right, as drawn",
        f"{h['accuracy']:.2%}",
        help="Ink in the alpha channel, as the canvas sends it. An abstention counts as wrong.",
    )
    paper.metric(
        "Right, ink on paper",
        f"{h['paper']['accuracy']:.2%}",
        help="The same strokes as dark ink on white, like a scan.",
    )
    abstained.metric("Abstained on digits", f"{h['abstained']:.2%}")
    ece.metric(
        "ECE calibrated",
        f"{h['ece_calibrated']:.2%}",
        f"{h['ece_calibrated'] - h['ece']:+.2%} from T = 1",
        delta_color="inverse",
        help="Expected calibration error on these digits, at the temperature fitted on "
        "MNIST's held-out images (the Draw page's calibrated T).",
    )
    letters.metric(
        "Abstained on non-digits",
        f"{h['not_digits_abstained']:.1%}",
        help=f"{h['not_digits_count']:,} held-out letters, scribbles, shapes and pairs of "
        "digits that nothing was trained or tuned on.",
    )


def show_breakdown(h: dict[str, Any]) -> None:
    per_class, per_writer, confusions = st.columns(3, gap="large")
    percent = st.column_config.NumberColumn(format="percent")
    per_class.dataframe(
        [{"digit": d, "right": v} for d, v in enumerate(h["per_class"])],
        hide_index=True,
        column_config={"right": percent},
    )
    per_writer.dataframe(
        [{"writer": int(w), "right": v} for w, v in h["per_writer"].items()],
        hide_index=True,
        column_config={"right": percent},
    )
    confusions.dataframe(h["confusions"], hide_index=True)


def show_misread(h: dict[str, Any]) -> None:
    if not h["misread"]:
        st.info("It read every one of these digits right (or abstained).")
        return
    images = handdrawn.pen_digits("test").images
    st.caption("Misread, most confident first: the true digit, what the model said, and how sure.")
    shown = h["misread"]
    for start in range(0, len(shown), GALLERY_COLUMNS):
        row = shown[start : start + GALLERY_COLUMNS]
        for column, item in zip(st.columns(GALLERY_COLUMNS), row, strict=False):
            caption = f"{item['true']} → {item['predicted']} ({item['confidence']:.0%})"
            column.image(charts.thumbnail(images[item["index"]]), caption=caption, width=84)


def show_handwriting(report: dict[str, Any] | None) -> None:
    st.subheader("Real handwriting")
    if report is None:
        st.info("The pen-written digits file is missing, so there is nothing to show here.")
        return
    st.caption(
        f"{report['count']:,} digits by {len(report['writers'])} people writing on a tablet "
        "(pendigits, UCI), drawn as the canvas draws them. No model trained on these writers, "
        "and none chose its abstention threshold on them."
    )
    show_headline(report)
    fonts = report.get("font_letters_abstained")
    if fonts is not None:
        st.caption(
            f"Letters from handwriting fonts (never trained or tuned on): abstained on "
            f"{fonts:.1%} of {report['font_letters_count']}."
        )
    show_breakdown(report)
    show_misread(report)
