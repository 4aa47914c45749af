"""The sidebar's Retrain panel: a settings form, then the job's live progress and curves.

Model "custom" trains the network this session builds on the Build page (state.edited_spec)
with the same form: its Train button is disabled, with the reason, while that network can't
be built."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import streamlit as st

from digitlab.analysis.hints import curve_hints, history_from_rows
from digitlab.store.limits import LimitError
from digitlab.training.job import DONE, QUEUED, RUNNING
from digitlab.training.jobs import JobQueue
from digitlab.ui import augment_preview, charts, digit_charts, state
from digitlab.ui.resources import job_queue
from digitlab.zoo.arch import ArchError, dumps
from digitlab.zoo.config import (
    AUGMENT_STRENGTHS,
    RANGES,
    ConfigError,
    TrainConfig,
    presets,
    recipe,
)
from digitlab.zoo.knobs import AUGMENTATION, FORM, MORE, Knob, in_sidebar
from digitlab.zoo.networks import zoo_spec
from digitlab.zoo.registry import CUSTOM, DEFAULT_MODEL, REGRESSION, ZOO

POLL_SECONDS = 0.5
BATCH_SIZES = [16, 32, 64, 128, 256, 512, 1024]
LEARNING_RATES = [1e-4, 3e-4, 1e-3, 2e-3, 3e-3, 5e-3, 1e-2, 3e-2, 0.1, 0.3, 1.0]
WIDTHS = [0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 4.0]

# The sidebar is too narrow for plotly's toolbar: it covered the charts' own labels.
SIDEBAR_CHART = {"displayModeBar": False}

# The kinds of widget the form uses.
NUMBER = "number_input"  # a number box
SLIDER = "slider"
STEPS = "select_slider"  # a slider over a few values
SELECT = "selectbox"  # over the knob's choices
CHECK = "checkbox"


@dataclass(frozen=True)
class Widget:
    """How the form shows one knob (zoo/knobs.py says which knobs it shows, and where; its
    session-state key is state.TRAIN_FORM_KEYS[field])."""

    label: str
    kind: str  # NUMBER, SLIDER, STEPS, SELECT or CHECK
    bounds: tuple[float, float] | None = None  # NUMBER, SLIDER: else the config's range
    step: float | None = None
    stops: Sequence[float] = ()  # STEPS: the values offered, and always the recipe's own
    format: str | None = None
    help: str | None = None
    classifiers_only: bool = False  # greyed out for the regression model


# A widget for every knob the form shows, by TrainConfig field.
WIDGETS: dict[str, Widget] = {
    "epochs": Widget("Epochs", NUMBER),
    "batch_size": Widget("Batch size", STEPS, stops=BATCH_SIZES),
    "learning_rate": Widget("Learning rate", STEPS, stops=LEARNING_RATES),
    "schedule": Widget("Learning-rate schedule", SELECT),
    "optimizer": Widget("Optimizer", SELECT),
    "dropout": Widget("Dropout (models that have it)", SLIDER, step=0.05),
    "pen_digits": Widget(
        "Add real pen-written digits",
        CHECK,
        help="About 8,500 digits by 17 people on a tablet, drawn as the canvas draws. "
        "Other writers are kept apart to measure the model on (Evaluate page).",
    ),
    "not_digits": Widget(
        'Teach it to say "not a digit"',
        CHECK,
        help="Adds 12,000 letters, scribbles, shapes and digit pairs with no digit as "
        "their answer; the model then abstains when it isn't sure a drawing is a digit.",
        classifiers_only=True,
    ),
    "early_stopping_patience": Widget("Early-stopping patience (0 = off)", NUMBER),
    "reduce_lr_on_plateau": Widget("Reduce learning rate on plateau", CHECK),
    "validation_split": Widget("Validation split", SLIDER, step=0.05),
    "train_samples": Widget(
        "Training images",
        NUMBER,
        step=1000,
        help="Fewer images train faster: try 2,000 for a quick run.",
    ),
    "seed": Widget("Seed", NUMBER),
    # Those the knob list folds under "More settings":
    "l2": Widget("L2 weight decay", NUMBER, step=1e-4, format="%.4f"),
    "width": Widget(
        "Width (hidden units and filters times)",
        STEPS,
        stops=WIDTHS,
        help="1 is the network as designed; 2 doubles every hidden layer (slower, "
        "more capacity), 0.5 halves it.",
    ),
    "label_smoothing": Widget("Label smoothing", SLIDER, step=0.05),
    "clip_norm": Widget("Clip gradients to norm (0 = off)", NUMBER, step=0.5),
    "momentum": Widget("SGD momentum", SLIDER, (0.0, 0.99), step=0.01),
    "nesterov": Widget("SGD: Nesterov momentum", CHECK),
    "step_epochs": Widget("Step schedule: every N epochs", NUMBER),
    "step_factor": Widget("Step schedule: multiply by", SLIDER, (0.05, 1.0), step=0.05),
    "plateau_factor": Widget("On plateau: multiply by", SLIDER, (0.05, 0.95), step=0.05),
    "plateau_patience": Widget("On plateau: patience (epochs)", NUMBER),
    "keep_best": Widget(
        "Keep the best epoch",
        CHECK,
        help="Store the weights of the epoch with the lowest validation loss, not the "
        "last (what Keras's ModelCheckpoint with save_best_only does).",
    ),
    "labels": Widget(
        "Labels",
        SELECT,
        help="sparse: each digit as an integer, with sparse categorical cross-entropy; "
        "onehot: as a row of ten with a 1 at the digit, with categorical cross-entropy. The "
        "same loss, -log p(true digit): their curves match. Label smoothing and not-a-digit "
        "drawings need one-hot rows either way.",
        classifiers_only=True,
    ),
    # The Augmentation panel's, beside the form:
    "augment": Widget("Augment like canvas drawings", CHECK),
    "clean_epochs": Widget(
        "Clean epochs at the end",
        NUMBER,
        help="The last N epochs train on undistorted digits; the others are augmented "
        "(digitnet's default recipe: 3 augmented + 2 clean).",
    ),
    "aug_rotation": Widget("Rotation (up to ± degrees)", SLIDER, step=1.0),
    "aug_shift": Widget("Shift (up to ± pixels)", SLIDER, step=0.5),
    "aug_zoom": Widget("Zoom (up to ± fraction)", SLIDER, step=0.01),
    "aug_shear": Widget("Shear (up to ± slant)", SLIDER, step=0.01),
    "aug_elastic_alpha": Widget(
        "Elastic distortion: strength (0 = off)",
        SLIDER,
        step=1.0,
        help="How far each pixel may wander, as in Simard et al. 2003 (they used 34).",
    ),
    "aug_elastic_sigma": Widget(
        "Elastic distortion: smoothness (pixels)",
        SLIDER,
        step=0.5,
        help="Small: the strokes wobble; large: the whole digit bends.",
    ),
    "aug_thicker": Widget("Pen thicker: up to", SLIDER, step=0.05),
    "aug_thinner": Widget("Pen thinner: up to", SLIDER, step=0.05),
}


MODELS = [*ZOO, CUSTOM]  # what the form trains: the zoo, and the Build page's network


def _model_label(name: str) -> str:
    return "custom: your network (Build page)" if name == CUSTOM else name


def _preset(model: str) -> str:
    """The recipe the form starts from: the one picked in the Recipe box, else a custom
    network's tutorial preset (chosen on the Build page), else the model's quick preset
    where it has one."""
    if st.session_state.get(state.TRAIN_PRESET_KEY) in presets(model):
        return st.session_state[state.TRAIN_PRESET_KEY]
    if model == CUSTOM:
        return st.session_state.get(state.CUSTOM_PRESET_KEY, "default")
    return "quick" if "quick" in presets(model) else "default"


def starting_config(model: str) -> TrainConfig:
    """What the form offers first for a model; a custom network's has the session's spec
    (or, while that can't be built, the spec the Build page starts from)."""
    if model != CUSTOM:
        return recipe(model, _preset(model))
    network = state.edited_network()
    spec = zoo_spec(state.BUILD_START) if isinstance(network, ArchError) else network.spec
    return recipe(CUSTOM, _preset(CUSTOM), arch=dumps(spec))


def _fill_form() -> None:
    """Put the chosen model's starting settings into the form (the model box's callback)."""
    config = starting_config(st.session_state[state.TRAIN_MODEL_KEY])
    for field in WIDGETS:
        value = getattr(config, field)
        if field == "dropout" and value is None:
            value = config.model_spec.default_dropout or 0.0
        st.session_state[state.TRAIN_FORM_KEYS[field]] = value


def _model_chosen() -> None:
    """The model box's callback: its starting recipe fills the form."""
    st.session_state.pop(state.TRAIN_PRESET_KEY, None)
    _fill_form()


def choose_custom(preset: str | None = None) -> None:
    """A callback: the form trains the Build page's network, filled with `preset`'s settings
    (a tutorial preset of model custom; None: as it is, or custom's default recipe)."""
    if preset is None and st.session_state.get(state.TRAIN_MODEL_KEY) == CUSTOM:
        return
    if preset is not None:
        st.session_state[state.CUSTOM_PRESET_KEY] = preset
    st.session_state.pop(state.TRAIN_PRESET_KEY, None)
    st.session_state[state.TRAIN_MODEL_KEY] = CUSTOM
    _fill_form()


def _with(options: Sequence[float], value: float) -> list[float]:
    """The options and the recipe's own value, in order (a recipe may use one off the list)."""
    return sorted(set(options) | {value})


def _show(knob: Knob, base: TrainConfig) -> Any:
    """The knob's widget, filled from the session state; returns what it holds."""
    widget = WIDGETS[knob.field]
    options = {"key": state.TRAIN_FORM_KEYS[knob.field], "help": widget.help}
    low, high = widget.bounds or RANGES.get(knob.field, (None, None))
    if widget.kind == NUMBER:
        return st.number_input(
            widget.label, low, high, step=widget.step, format=widget.format, **options
        )
    if widget.kind == SLIDER:
        return st.slider(widget.label, low, high, step=widget.step, **options)
    if widget.kind == STEPS:
        stops = _with(widget.stops, getattr(base, knob.field))
        return st.select_slider(widget.label, stops, **options)
    disabled = widget.classifiers_only and base.model_spec.task == REGRESSION
    if widget.kind == SELECT:
        return st.selectbox(widget.label, knob.choices, disabled=disabled, **options)
    return st.checkbox(widget.label, disabled=disabled, **options)


def settings_form() -> TrainConfig | None:
    """The model box and the settings form; returns a config when Train was pressed and it
    is valid. Choosing a model fills the form with its starting settings."""
    name = st.selectbox(
        "Model to train",
        MODELS,
        index=MODELS.index(DEFAULT_MODEL),
        format_func=_model_label,
        key=state.TRAIN_MODEL_KEY,
        on_change=_model_chosen,
    )
    st.session_state[state.TRAIN_PRESET_KEY] = _preset(name)  # valid for this model
    st.selectbox(
        "Recipe",
        presets(name),
        key=state.TRAIN_PRESET_KEY,
        on_change=_fill_form,
        help="The model's named settings, as `train --preset` takes them; choosing one fills "
        "the form with it (quick: seconds; default: how the shipped model was trained).",
    )
    if state.TRAIN_FORM_KEYS["epochs"] not in st.session_state:
        _fill_form()
    base = starting_config(name)
    refusal = _custom_caption() if name == CUSTOM else None
    st.fragment(augmentation_panel)(base)
    with st.form("retrain"):
        values = {knob.field: _show(knob, base) for knob in in_sidebar(FORM)}
        # The tutorials' other knobs, folded away (every one is also a `train` flag).
        with st.expander("More settings"):
            values |= {knob.field: _show(knob, base) for knob in in_sidebar(MORE)}
        pressed = st.form_submit_button(
            "Train",
            type="primary",
            use_container_width=True,
            disabled=refusal is not None,
            help=refusal,
        )
        if not pressed:
            return None
    values |= augmentation_values()
    spec = base.model_spec
    if not spec.has_dropout or values["dropout"] == (base.dropout or spec.default_dropout):
        values["dropout"] = base.dropout  # unchanged: the same config as the recipe's
    try:
        # Settings the form does not show keep the recipe's values.
        return base.replace(**values)
    except ConfigError as error:
        st.error(str(error))
        return None


def augmentation_values() -> dict[str, Any]:
    """What the Augmentation panel holds, by TrainConfig field."""
    return {
        knob.field: st.session_state[state.TRAIN_FORM_KEYS[knob.field]]
        for knob in in_sidebar(AUGMENTATION)
    }


def augmentation_panel(base: TrainConfig) -> None:
    """The augmentation knobs, and a preview of what they do to 8 training digits. Outside
    the form and in a fragment: a form's widgets wait for its button, and a slider moved here
    redraws only this panel's preview, at once; Train reads the panel as it is."""
    with st.expander("Augmentation"):
        for knob in in_sidebar(AUGMENTATION):
            _show(knob, base)
        if st.toggle("Preview on 8 training digits", key=state.AUG_PREVIEW_KEY):
            held = augmentation_values()
            augment_preview.show(base.replace(**{name: held[name] for name in AUGMENT_STRENGTHS}))


def _custom_caption() -> str | None:
    """Says which network model custom trains; returns why it can't (None: it can)."""
    network = state.edited_network()
    if isinstance(network, ArchError):
        reason = f"Your network can't be built: {network} Fix it on the Build page."
        st.error(reason, icon=":material/error:")
        return reason
    preset = _preset(CUSTOM)
    recipe_name = "the default recipe" if preset == "default" else f"the {preset} preset"
    st.caption(
        f"Your network from the Build page: {network.params:,} parameters, "
        f"{network.flops:,} FLOPs per image; settings from {recipe_name}."
    )
    return None


def show_job(queue: JobQueue, job_id: int) -> None:
    """Progress, curves and Stop for this session's job; reruns the app when it ends."""
    job = queue.get(job_id)
    if job is None:
        return
    progress = job.snapshot()
    model = progress["model"]
    task = job.config.model_spec.task
    if progress["status"] == QUEUED:
        st.info(
            f"Waiting for another training run to finish: position "
            f"{queue.position(job)} in the queue."
        )
    elif progress["status"] == RUNNING and progress["phase"] in ("training", ""):
        left = progress["seconds_left"]
        eta = f", about {left:.0f} s left" if left is not None else ""
        st.progress(progress["fraction"], text=f"Training {model}: {progress['fraction']:.0%}{eta}")
    elif progress["status"] == RUNNING:  # starting, loading data, building, testing, saving
        st.progress(progress["fraction"], text=f"{model}: {progress['phase']}...")
    elif progress["status"] == DONE:
        st.success(f"{model}: {progress['message']}")
    else:
        st.warning(f"{model}: {progress['message']}")

    metric = "mae" if task == REGRESSION else "accuracy"
    if progress["batches"] or progress["epochs"]:
        for name in ("loss", metric):
            st.plotly_chart(
                charts.training_curves(progress["batches"], progress["epochs"], name),
                key=f"curve-{name}",
                config=SIDEBAR_CHART,
            )
    history = history_from_rows(progress["epochs"])
    if strip := digit_charts.digit_strip(history, height=260):
        st.plotly_chart(strip, key="curve-digits", config=SIDEBAR_CHART)
        st.caption(digit_charts.order_caption(history))
    for hint in curve_hints(history):
        st.info(hint, icon=":material/lightbulb:")
    if progress["status"] in (QUEUED, RUNNING):
        st.button(
            "Stop", on_click=queue.stop, args=(job,), key="stop_job", use_container_width=True
        )
    elif job.take_end():
        # The job just ended: rerun the whole app once so the Draw page picks up the model
        # (in the first of the workspace's sessions to see it: after a reload, this one).
        if progress["status"] == DONE and progress["run_id"] is not None:
            state.adopt_finished_run(model, progress["run_id"])
        st.rerun()


def render() -> None:
    queue = job_queue()
    with st.sidebar:
        st.header("Retrain")
        config = settings_form()
        if config is not None:
            try:
                st.session_state[state.JOB_KEY] = queue.submit(config, state.session_owner()).id
            except LimitError as error:
                st.error(str(error), icon=":material/block:")
        job_id = st.session_state.get(state.JOB_KEY)
        # After a reload the session has forgotten its job: the workspace's is found again.
        job = queue.get(job_id) if job_id else queue.resume(state.session_owner(), False)
        if job is None:
            return
        st.session_state[state.JOB_KEY] = job_id = job.id
        active = job is not None and not job.finished
        # Poll only while the job runs; a finished job's panel stays still.
        st.fragment(show_job, run_every=POLL_SECONDS if active else None)(queue, job_id)
