"""The Draw page: draw a digit, see what the network sees and what it believes."""

from __future__ import annotations

import hashlib
import time

import numpy as np
import streamlit as st

from digitlab import store
from digitlab.analysis.evaluate import calibrated_temperature
from digitlab.data.batch import model_batch
from digitlab.data.preprocess import preprocess
from digitlab.inference import ensemble
from digitlab.inference.predict import (
    BLANK_MESSAGE,
    NOT_A_DIGIT,
    Prediction,
    abstain,
    abstain_threshold,
    interpret,
)
from digitlab.inference.softmax import softmax_steps
from digitlab.ui import belief, charts, corrections, live_answer, share, state
from digitlab.ui.canvas import clear_canvas, drawing_canvas
from digitlab.ui.explain import Drawing, explain_drawing
from digitlab.ui.layout import after_drawing, drawing_row, settings_area
from digitlab.ui.runtime import KERAS, RUNTIMES, predictor_for, runtime_selector
from digitlab.ui.samples import sample_image
from digitlab.ui.temperature import temperature_slider
from digitlab.ui.upload import uploaded_image
from digitlab.ui.widgets import run_selector, zoo_selector
from digitlab.zoo.registry import ENSEMBLE, REGRESSION

DRAW, UPLOAD, SAMPLES = "Draw", "Upload", "Samples"
# The folded tables under the answer: open or shut, kept while the drawing changes.
SOFTMAX_KEY, MEMBERS_KEY = "softmax_by_hand_open", "ensemble_members_open"
ANSWER_FIRST_S = 0.03  # see let_the_answer_show


def model_selector() -> str:
    if state.PENDING_MODEL_KEY in st.session_state:
        st.session_state[state.MODEL_KEY] = st.session_state.pop(state.PENDING_MODEL_KEY)
    # persist_state: the choice survives a visit to the other pages; the workspace keeps it
    # for the next visit.
    name = zoo_selector(state.MODEL_KEY, persist_state="session")
    state.keep_shown_model(name)
    return name


def raw_outputs(run: store.Run, image28: np.ndarray, runtime: str = KERAS) -> np.ndarray:
    """Run the model only when the drawing or the model changed; keep the logits otherwise.

    The temperature slider reruns the page, and reuses these outputs without the model.
    """
    digest = hashlib.blake2b(image28.tobytes(), digest_size=16).hexdigest()
    key = (run.cache_key, runtime, digest)
    cached = st.session_state.get(state.DRAW_OUTPUTS_KEY)
    if cached is None or cached[0] != key:
        cached = (key, predictor_for(run, runtime).raw_outputs(image28))
        st.session_state[state.DRAW_OUTPUTS_KEY] = cached
    return cached[1]


def show_offered_run(notice: dict) -> None:
    """A run this session made that came out broken: said plainly, and not used unless asked."""
    try:
        run = store.get_run(notice["run_id"])
    except store.StoreError:  # deleted on the Runs page meanwhile
        return
    message, use = st.columns([3, 1], vertical_alignment="center")
    score = f"{run.accuracy:.2%} on MNIST test" if run.accuracy is not None else "no score"
    message.warning(
        f"Your {run.model} run {run.id} got {score}, {notice['broken']}. It was not made "
        "your model: your drawings are answered as before.",
        icon=":material/warning:",
    )
    use.button(
        "Use it anyway",
        on_click=state.use_offered_run,
        args=(notice["model"], run.id),
        key="use_offered_run",
    )


def show_way_back(model: str) -> None:
    """While this session's own choice answers, a way back to the shipped model: with the
    notice after a run of its own just finished, or alone after a pick in Version. A run
    held back as broken is offered instead."""
    notice = st.session_state.get(state.NOTICE_KEY)
    if notice is not None and notice.get("broken"):  # whichever model the page shows
        show_offered_run(notice)
        return
    run = state.chosen_run(model)
    if run.id == state.server_default_id(model):
        return
    message, back = st.columns([3, 1], vertical_alignment="center")
    if notice is not None and notice["model"] == model and notice["run_id"] == run.id:
        before = f" (before: {notice['before']})" if notice.get("before") else ""
        message.success(f"Your new {model} answers now: {state.run_label(run)}{before}.")
    else:
        message.caption(f"This session's {model} is {state.run_label(run)}.")
    back.button(
        "Back to the shipped model",
        on_click=state.back_to_default,
        args=(model,),
        key="back_to_shipped",
        icon=":material/undo:",
    )


def let_the_answer_show() -> None:
    """A short pause between the answer and what follows it (belief chart, buttons, tables).

    The browser lays out together whatever arrives together: sent in one go with the rest,
    the answer waited for all of it, 45-160 ms more from pen-up while this 2-core machine
    was busy (load average 8-13; no difference when quiet). A pause lets the answer go
    out and be drawn first; the server's CPU is free meanwhile.
    """
    time.sleep(ANSWER_FIRST_S)


def show_input(image28: np.ndarray, input_size: int) -> None:
    shown = model_batch(image28, input_size)[0, ..., 0]
    st.image(charts.enlarged_pixels(shown, scale=224 // input_size), width=224)
    st.caption(f"The {input_size}x{input_size} input the model sees")


def show_prediction(prediction: Prediction, task: str) -> None:
    if prediction.abstained:
        # "—": nothing drawn yet; "?": something drawn that it won't call a digit.
        st.metric("Prediction", "?" if prediction.reason == NOT_A_DIGIT else "—")
        if prediction.message:
            st.info(prediction.message, icon=":material/help:")
        if prediction.probabilities is not None:  # not a digit: show what it leaned to
            st.plotly_chart(
                charts.probability_bars(prediction.probabilities, prediction.best_guess),
                key="probabilities",
            )
        return
    if task == REGRESSION:
        st.metric("Prediction", prediction.label)
        st.caption(f"Predicted value {prediction.value:.2f}, rounded to the nearest digit.")
        st.plotly_chart(charts.regression_gauge(prediction.value), key="gauge")
        return
    # Each metric as wide as its value (the unit in the label keeps the values short), and
    # one that does not fit moves to the next line instead of being cut off.
    with st.container(horizontal=True, gap="medium"):
        st.metric("Prediction", prediction.label, width="content")
        st.metric("Confidence", f"{prediction.confidence:.1%}", width="content")
        st.metric(
            "Entropy (bits)",
            f"{prediction.entropy:.2f}",
            help="0 bits: certain. 3.32 bits: all ten digits equally likely.",
            width="content",
        )
    st.plotly_chart(
        charts.probability_bars(prediction.probabilities, prediction.label), key="probabilities"
    )


def folded(label: str, key: str):
    """An expander whose content is built only while it is open, or None while it is shut.

    A table in a shut expander is still sent and laid out in the browser at every pen-up,
    in the same go as the answer above it, which then waited for it.
    """
    expander = st.expander(label, key=key, on_change="rerun")
    return expander if expander.open else None


def show_softmax_by_hand(outputs: np.ndarray, temperature: float) -> None:
    if (expander := folded("The softmax, worked by hand", SOFTMAX_KEY)) is None:
        return
    with expander:
        steps = softmax_steps(outputs, temperature)
        st.dataframe(
            steps,
            hide_index=True,
            column_config={"probability": st.column_config.NumberColumn(format="percent")},
        )
        st.caption(
            f"Each logit z is divided by T = {temperature:g}; the exponentials (after "
            "subtracting the largest, which cancels out) are divided by their sum, "
            f"{sum(row['exp'] for row in steps):.4g}, to give probabilities that add up to 1."
        )


def _member_name(member: dict) -> str:
    shipped = not str(member["id"]).isdigit()
    return f"{member['model']} ({'shipped' if shipped else 'run ' + str(member['id'])})"


def show_members(run: store.Run, member_logits: np.ndarray, temperature: float) -> None:
    """An ensemble's members: how many agree with it, and how far apart they are."""
    voted = ensemble.votes(member_logits, temperature)
    st.caption(
        f"{voted['agree']} of {voted['members']} members say {voted['label']}; their "
        f"probabilities for it run from {voted['lowest']:.1%} to {voted['highest']:.1%}."
    )
    if (expander := folded("Each member's answer", MEMBERS_KEY)) is None:
        return
    with expander:
        rows = [
            {"member": _member_name(member), "says": row["digit"], "confidence": row["confidence"]}
            for member, row in zip(ensemble.members(run), voted["each"], strict=True)
        ]
        percent = st.column_config.NumberColumn(format="percent")
        st.dataframe(rows, hide_index=True, column_config={"confidence": percent})
        st.caption(
            f"The temperature T = {temperature:g} reshapes each member's probabilities; "
            "the ensemble's are their mean."
        )


def render() -> None:
    st.title("Draw a digit")
    with settings_area():  # on a phone: under the drawing and its answer
        settings = st.columns([1, 1])
        with settings[0]:
            name = model_selector()
            try:
                run = run_selector(name)
            except store.StoreError as error:
                hint = "" if name == ENSEMBLE else " Train it with the sidebar's Retrain panel."
                st.error(f"{error}{hint}")
                return
            runtime = runtime_selector()
        spec = run.spec  # a custom network reads its input size and task from its spec
        with settings[1]:
            # Read from the stored evaluation: no MNIST and no model run on the drawing page.
            temperature = temperature_slider(
                calibrated_temperature(run), applies=spec.task != REGRESSION
            )
        show_way_back(name)

    # A pen-up reruns this fragment only: not the sidebar's forms or the settings above,
    # which a drawing does not change (they rerun the whole page, and this with it).
    st.fragment(answer_drawing)(run, runtime, temperature)


def answer_drawing(run: store.Run, runtime: str, temperature: float) -> None:
    """The drawing (or upload, or sample), its answer, and what follows it."""
    spec = run.spec
    with drawing_row():  # on a phone: the canvas, then the answer, then the input
        canvas_column, input_column, result_column = st.columns([1.25, 0.9, 1.45], gap="medium")
    with canvas_column:
        source = st.segmented_control(
            "Input",
            [DRAW, UPLOAD, SAMPLES],
            default=DRAW,
            key="input_source",
            label_visibility="collapsed",
        )
        if source == UPLOAD:
            drawing, nothing_message = uploaded_image()  # "": it already said what's wrong
        elif source == SAMPLES:
            drawing, nothing_message = sample_image()
        else:
            drawing, nothing_message = drawing_canvas(), BLANK_MESSAGE
            with st.container(horizontal=True, vertical_alignment="center"):  # one row: phones
                st.button("Clear", on_click=clear_canvas, icon=":material/delete:", key="clear")
                live_answer.show(run, temperature, exported_file=runtime != KERAS)
    prepared = preprocess(drawing) if drawing is not None else None
    outputs = None  # the model runs only on an input that isn't blank
    if prepared is None or prepared.blank:
        prediction = abstain(nothing_message)
    else:
        try:
            outputs = raw_outputs(run, prepared.image, runtime)
        except store.StoreError as error:
            st.error(f"{error} Choose another version.")
            return
        prediction = interpret(outputs, spec.task, temperature, abstain_threshold(run))
    # What was drawn and what the model said; None when nothing was there to answer.
    answered = None if outputs is None else Drawing(prepared.image, run, prediction, temperature)
    with result_column:
        show_prediction(prediction, spec.task)
    let_the_answer_show()
    with input_column:  # filled after the answer, which is what the person waits for
        show_input(prepared.image if prepared else np.zeros((28, 28), np.float32), spec.input_size)
    with result_column:
        if answered is not None:  # "Right" / "Wrong? Save it as …": save the drawing
            corrections.offer(answered, source == DRAW)
        belief.show(answered, outputs, runtime, from_canvas=source == DRAW)  # growth, and a table
        if prediction.probabilities is not None and ensemble.is_members_outputs(outputs):
            show_members(run, outputs, temperature)
        elif prediction.probabilities is not None:
            show_softmax_by_hand(outputs, temperature)
    with after_drawing():
        st.caption(f"Answered by {spec.title}: {state.run_label(run)}.")
        share.offer_share(run, key="share_draw")
        if runtime != KERAS:
            st.caption(f"Answered by the exported {RUNTIMES[runtime]} file (see the Export page).")
        if answered is not None:
            explain_drawing(answered)
