"""The Evaluate page's "Real handwriting" section: held-out pen-written digits, drawings
that aren't digits, and the digits in other ways of writing them and from other devices
(the figures come from digitlab.analysis.handwriting and digitlab.analysis.styles)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import streamlit as st

from digitlab import store
from digitlab.analysis import styles as style_figures
from digitlab.data import handdrawn, styles
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


def _gallery(draw: Callable[[], np.ndarray], items: list[dict[str, Any]]) -> None:
    """Digits in rows of GALLERY_COLUMNS, each captioned true -> answer (how sure).

    `draw` gives the images the items index: drawn from the pen-digits file, which a shipped
    model's figures do not need, so without it the figures stay and the gallery says why."""
    try:
        images = draw()
    except handdrawn.NoPenDigits as error:
        st.caption(f"The drawings themselves can't be shown here: {error}")
        return
    for start in range(0, len(items), GALLERY_COLUMNS):
        row = items[start : start + GALLERY_COLUMNS]
        for column, item in zip(st.columns(GALLERY_COLUMNS), row, strict=False):
            answer = "refused" if item["predicted"] is None else item["predicted"]
            caption = f"{item['true']} → {answer} ({item['confidence']:.0%})"
            column.image(charts.thumbnail(images[item["index"]]), caption=caption, width=84)


def show_misread(h: dict[str, Any]) -> None:
    if not h["misread"]:
        st.info("It read every one of these digits right (or abstained).")
        return
    st.caption("Misread, most confident first: the true digit, what the model said, and how sure.")
    _gallery(lambda: handdrawn.pen_digits("test").images, h["misread"])


def _table(rows: dict[str, dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [
        {
            kind: name,
            "digits": row["count"],
            "right": row["accuracy"],
            "refused": row["abstained"],
            "misread most as": "" if row["misread_as"] is None else str(row["misread_as"]),
        }
        for name, row in rows.items()
    ]


def show_styles(run: store.Run) -> None:
    """Accuracy and refusals per way of writing and per device, and the misreads of the
    style read worst; measured on request the first time (then kept with the run)."""
    st.markdown("**Other ways of writing, other devices**")
    report = style_figures.cached_report(run)
    if report is None:
        st.caption(
            "The same held-out digits rewritten as other people write them (a slashed 0, a "
            "crossed 7...) and as other devices deliver them: not measured for this run yet."
        )
        if not st.button("Measure them", key=f"measure_styles_{run.model}_{run.id}"):
            return
        try:
            with st.spinner("Measuring (drawing the sets takes a minute the first time)..."):
                report = style_figures.run_report(run)
        except handdrawn.NoPenDigits as error:
            st.info(str(error))
            return
    st.caption(
        "The held-out writers' digits rewritten as other people write them (their own "
        "strokes, edited) and as other devices deliver them. A refusal counts as wrong."
    )
    percent = st.column_config.NumberColumn(format="percent")
    columns = {"right": percent, "refused": percent}
    by_style, by_device = st.columns(2, gap="large")
    by_style.dataframe(_table(report["styles"], "style"), hide_index=True, column_config=columns)
    by_device.dataframe(_table(report["devices"], "device"), hide_index=True, column_config=columns)
    worst = report["worst"]
    if not worst["misread"]:
        st.caption(f"It read every digit of every style right, {worst['style']} included.")
        return
    st.caption(
        f"Read worst: {worst['style']}. Its digits not read right: answered wrong, most "
        "confident first, then refused."
    )
    name = worst["style"]
    _gallery(
        lambda: styles.style_drawings("test", report["seed"], names=(name,))[name].images,
        worst["misread"],
    )


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
