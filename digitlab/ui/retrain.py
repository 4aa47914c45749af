"""The sidebar's Retrain panel: a settings form, then the job's live progress and curves."""

from __future__ import annotations

import streamlit as st

from digitlab.analysis.hints import curve_hints, history_from_rows
from digitlab.training.job import DONE, QUEUED, RUNNING
from digitlab.training.jobs import JobQueue
from digitlab.ui import charts, state
from digitlab.ui.resources import job_queue
from digitlab.zoo.config import OPTIMIZERS, SCHEDULES, ConfigError, TrainConfig, presets, recipe
from digitlab.zoo.registry import DEFAULT_MODEL, REGRESSION, ZOO

POLL_SECONDS = 0.5
BATCH_SIZES = [16, 32, 64, 128, 256, 512, 1024]
LEARNING_RATES = [1e-4, 3e-4, 1e-3, 2e-3, 3e-3, 5e-3, 1e-2, 3e-2, 0.1, 0.3, 1.0]
MODEL_KEY = "train_model"
# The form's fields: config field -> widget key (the keys the tests address).
WIDGETS = {
    "epochs": "train_epochs",
    "batch_size": "train_batch",
    "learning_rate": "train_lr",
    "schedule": "train_schedule",
    "optimizer": "train_optimizer",
    "dropout": "train_dropout",
    "augment": "train_augment",
    "pen_digits": "train_pen_digits",
    "not_digits": "train_not_digits",
    "l2": "train_l2",
    "width": "train_width",
    "label_smoothing": "train_label_smoothing",
    "clip_norm": "train_clip_norm",
    "momentum": "train_momentum",
    "nesterov": "train_nesterov",
    "step_epochs": "train_step_epochs",
    "step_factor": "train_step_factor",
    "plateau_factor": "train_plateau_factor",
    "plateau_patience": "train_plateau_patience",
    "keep_best": "train_keep_best",
    "early_stopping_patience": "train_patience",
    "reduce_lr_on_plateau": "train_reduce_lr",
    "validation_split": "train_val_split",
    "train_samples": "train_samples",
    "seed": "train_seed",
}


WIDTHS = [0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 4.0]


def starting_config(model: str) -> TrainConfig:
    """What the form offers first for a model: its quick preset where it has one."""
    return recipe(model, "quick" if "quick" in presets(model) else "default")


def _fill_form() -> None:
    """Put the chosen model's starting settings into the form (the model box's callback)."""
    config = starting_config(st.session_state[MODEL_KEY])
    for field, key in WIDGETS.items():
        value = getattr(config, field)
        if field == "dropout" and value is None:
            value = ZOO[config.model].default_dropout or 0.0
        st.session_state[key] = value


def _with(options: list, value) -> list:
    return sorted(set(options) | {value})


def more_settings() -> dict:
    """The tutorials' other knobs, folded away (every one is also a `train` flag)."""
    with st.expander("More settings"):
        return {
            "l2": st.number_input(
                "L2 weight decay", 0.0, 0.1, step=1e-4, format="%.4f", key=WIDGETS["l2"]
            ),
            "width": st.select_slider(
                "Width (hidden units and filters times)",
                WIDTHS,
                key=WIDGETS["width"],
                help="1 is the network as designed; 2 doubles every hidden layer (slower, "
                "more capacity), 0.5 halves it.",
            ),
            "label_smoothing": st.slider(
                "Label smoothing", 0.0, 0.5, step=0.05, key=WIDGETS["label_smoothing"]
            ),
            "clip_norm": st.number_input(
                "Clip gradients to norm (0 = off)", 0.0, 100.0, step=0.5, key=WIDGETS["clip_norm"]
            ),
            "momentum": st.slider("SGD momentum", 0.0, 0.99, step=0.01, key=WIDGETS["momentum"]),
            "nesterov": st.checkbox("SGD: Nesterov momentum", key=WIDGETS["nesterov"]),
            "step_epochs": st.number_input(
                "Step schedule: every N epochs", 1, 100, key=WIDGETS["step_epochs"]
            ),
            "step_factor": st.slider(
                "Step schedule: multiply by", 0.05, 1.0, step=0.05, key=WIDGETS["step_factor"]
            ),
            "plateau_factor": st.slider(
                "On plateau: multiply by", 0.05, 0.95, step=0.05, key=WIDGETS["plateau_factor"]
            ),
            "plateau_patience": st.number_input(
                "On plateau: patience (epochs)", 0, 50, key=WIDGETS["plateau_patience"]
            ),
            "keep_best": st.checkbox(
                "Keep the best epoch",
                key=WIDGETS["keep_best"],
                help="Store the weights of the epoch with the lowest validation loss, not the "
                "last (what Keras's ModelCheckpoint with save_best_only does).",
            ),
        }


def settings_form() -> TrainConfig | None:
    """The model box and the settings form; returns a config when Train was pressed and it
    is valid. Choosing a model fills the form with its starting settings."""
    name = st.selectbox(
        "Model to train",
        list(ZOO),
        index=list(ZOO).index(DEFAULT_MODEL),
        key=MODEL_KEY,
        on_change=_fill_form,
    )
    if WIDGETS["epochs"] not in st.session_state:
        _fill_form()
    base = starting_config(name)
    with st.form("retrain"):
        st.caption(f"Starting from {name}'s {'quick ' if 'quick' in presets(name) else ''}recipe.")
        values = {
            "epochs": st.number_input("Epochs", 1, 100, key=WIDGETS["epochs"]),
            "batch_size": st.select_slider(
                "Batch size", _with(BATCH_SIZES, base.batch_size), key=WIDGETS["batch_size"]
            ),
            "learning_rate": st.select_slider(
                "Learning rate",
                _with(LEARNING_RATES, base.learning_rate),
                key=WIDGETS["learning_rate"],
            ),
            "schedule": st.selectbox("Learning-rate schedule", SCHEDULES, key=WIDGETS["schedule"]),
            "optimizer": st.selectbox("Optimizer", OPTIMIZERS, key=WIDGETS["optimizer"]),
            "dropout": st.slider(
                "Dropout (models that have it)", 0.0, 0.9, step=0.05, key=WIDGETS["dropout"]
            ),
            "augment": st.checkbox("Augment like canvas drawings", key=WIDGETS["augment"]),
            "pen_digits": st.checkbox(
                "Add real pen-written digits",
                key=WIDGETS["pen_digits"],
                help="About 8,500 digits by 17 people on a tablet, drawn as the canvas draws. "
                "Other writers are kept apart to measure the model on (Evaluate page).",
            ),
            "not_digits": st.checkbox(
                'Teach it to say "not a digit"',
                key=WIDGETS["not_digits"],
                disabled=ZOO[name].task == REGRESSION,
                help="Adds 12,000 letters, scribbles, shapes and digit pairs with no digit as "
                "their answer; the model then abstains when it isn't sure a drawing is a digit.",
            ),
            "early_stopping_patience": st.number_input(
                "Early-stopping patience (0 = off)", 0, 50, key=WIDGETS["early_stopping_patience"]
            ),
            "reduce_lr_on_plateau": st.checkbox(
                "Reduce learning rate on plateau", key=WIDGETS["reduce_lr_on_plateau"]
            ),
            "validation_split": st.slider(
                "Validation split", 0.0, 0.5, step=0.05, key=WIDGETS["validation_split"]
            ),
            "train_samples": st.number_input(
                "Training images",
                100,
                60_000,
                step=1000,
                key=WIDGETS["train_samples"],
                help="Fewer images train faster: try 2,000 for a quick run.",
            ),
            "seed": st.number_input("Seed", 0, 2**31 - 1, key=WIDGETS["seed"]),
            **more_settings(),
        }
        if not st.form_submit_button("Train", type="primary", use_container_width=True):
            return None
    spec = ZOO[name]
    if not spec.has_dropout or values["dropout"] == (base.dropout or spec.default_dropout):
        values["dropout"] = base.dropout  # unchanged: the same config as the recipe's
    try:
        # Settings the form does not show keep the recipe's values.
        return base.replace(**values)
    except ConfigError as error:
        st.error(str(error))
        return None


def show_job(queue: JobQueue, job_id: int) -> None:
    """Progress, curves and Stop for this session's job; reruns the app when it ends."""
    job = queue.get(job_id)
    if job is None:
        return
    progress = job.snapshot()
    model = progress["model"]
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

    metric = "mae" if ZOO[model].task == REGRESSION else "accuracy"
    if progress["batches"] or progress["epochs"]:
        for name in ("loss", metric):
            st.plotly_chart(
                charts.training_curves(progress["batches"], progress["epochs"], name),
                key=f"curve-{name}",
            )
    for hint in curve_hints(history_from_rows(progress["epochs"])):
        st.info(hint, icon=":material/lightbulb:")
    if progress["status"] in (QUEUED, RUNNING):
        st.button(
            "Stop", on_click=queue.stop, args=(job,), key="stop_job", use_container_width=True
        )
    elif not st.session_state.get(f"announced-{job_id}"):
        # The job just ended: rerun the whole app once so the Draw page picks up the model.
        st.session_state[f"announced-{job_id}"] = True
        if progress["status"] == DONE and progress["run_id"] is not None:
            state.adopt_finished_run(model, progress["run_id"])
        st.rerun()


def render() -> None:
    queue = job_queue()
    with st.sidebar:
        st.header("Retrain")
        config = settings_form()
        if config is not None:
            job = queue.submit(config, owner=state.session_owner())
            st.session_state[state.JOB_KEY] = job.id
        job_id = st.session_state.get(state.JOB_KEY)
        if job_id is None:
            return
        job = queue.get(job_id)
        active = job is not None and not job.finished
        # Poll only while the job runs; a finished job's panel stays still.
        st.fragment(show_job, run_every=POLL_SECONDS if active else None)(queue, job_id)
