"""The sidebar's Retrain panel: a settings form, then the job's live progress and curves."""

from __future__ import annotations

import streamlit as st

from digitlab.config import OPTIMIZERS, ConfigError, TrainConfig
from digitlab.jobs import DONE, QUEUED, RUNNING, JobQueue
from digitlab.models import DEFAULT_MODEL, REGRESSION, ZOO
from digitlab.ui import charts
from digitlab.ui.draw import PENDING_MODEL_KEY
from digitlab.ui.resources import job_queue

JOB_KEY = "job_id"
POLL_SECONDS = 0.5
BATCH_SIZES = [16, 32, 64, 128, 256, 512, 1024]
LEARNING_RATES = [1e-4, 3e-4, 1e-3, 2e-3, 3e-3, 1e-2, 3e-2, 0.1, 0.3, 1.0]


def settings_form() -> TrainConfig | None:
    """The hyperparameter form; returns a config when Train was pressed and it is valid."""
    with st.form("retrain"):
        name = st.selectbox(
            "Model to train", list(ZOO), index=list(ZOO).index(DEFAULT_MODEL), key="train_model"
        )
        epochs = st.number_input("Epochs", 1, 100, value=3, key="train_epochs")
        batch_size = st.select_slider("Batch size", BATCH_SIZES, value=128, key="train_batch")
        learning_rate = st.select_slider(
            "Learning rate", LEARNING_RATES, value=1e-3, key="train_lr"
        )
        optimizer = st.selectbox("Optimizer", OPTIMIZERS, key="train_optimizer")
        dropout = st.slider(
            "Dropout (models that have it)", 0.0, 0.9, value=0.2, step=0.05, key="train_dropout"
        )
        augment = st.checkbox("Augment like canvas drawings", value=False, key="train_augment")
        patience = st.number_input(
            "Early-stopping patience (0 = off)", 0, 50, value=0, key="train_patience"
        )
        reduce_lr = st.checkbox("Reduce learning rate on plateau", key="train_reduce_lr")
        validation_split = st.slider(
            "Validation split", 0.0, 0.5, value=0.1, step=0.05, key="train_val_split"
        )
        samples = st.number_input(
            "Training images",
            100,
            60_000,
            value=60_000,
            step=1000,
            key="train_samples",
            help="Fewer images train faster: try 2,000 for a quick run.",
        )
        seed = st.number_input("Seed", 0, 2**31 - 1, value=0, key="train_seed")
        if not st.form_submit_button("Train", type="primary", use_container_width=True):
            return None
    try:
        return TrainConfig(
            model=name,
            epochs=int(epochs),
            batch_size=int(batch_size),
            learning_rate=float(learning_rate),
            optimizer=optimizer,
            dropout=float(dropout) if ZOO[name].has_dropout else None,
            augment=bool(augment),
            early_stopping_patience=int(patience),
            reduce_lr_on_plateau=bool(reduce_lr),
            validation_split=float(validation_split),
            train_samples=int(samples),
            seed=int(seed),
        )
    except ConfigError as error:
        st.error(str(error))
        return None


def show_job(queue: JobQueue, job_id: int) -> None:
    """Progress, curves and Stop for this session's job; reruns the app when it ends."""
    job = queue.get(job_id)
    if job is None:
        return
    state = job.snapshot()
    model = state["model"]
    if state["status"] == QUEUED:
        st.info(
            f"Waiting for another training run to finish: position "
            f"{queue.position(job)} in the queue."
        )
    elif state["status"] == RUNNING:
        left = state["seconds_left"]
        eta = f", about {left:.0f} s left" if left is not None else ""
        st.progress(state["fraction"], text=f"Training {model}: {state['fraction']:.0%}{eta}")
    elif state["status"] == DONE:
        st.success(f"{model}: {state['message']}")
    else:
        st.warning(f"{model}: {state['message']}")

    metric = "mae" if ZOO[model].task == REGRESSION else "accuracy"
    if state["batches"] or state["epochs"]:
        for name in ("loss", metric):
            st.plotly_chart(
                charts.training_curves(state["batches"], state["epochs"], name), key=f"curve-{name}"
            )
    if state["status"] in (QUEUED, RUNNING):
        st.button(
            "Stop", on_click=queue.stop, args=(job,), key="stop_job", use_container_width=True
        )
    elif not st.session_state.get(f"announced-{job_id}"):
        # The job just ended: rerun the whole app once so the Draw page picks up the model.
        st.session_state[f"announced-{job_id}"] = True
        if state["status"] == DONE:
            st.session_state[PENDING_MODEL_KEY] = model
        st.rerun()


def render() -> None:
    queue = job_queue()
    with st.sidebar:
        st.header("Retrain")
        config = settings_form()
        if config is not None:
            job = queue.submit(config)
            st.session_state[JOB_KEY] = job.id
        job_id = st.session_state.get(JOB_KEY)
        if job_id is None:
            return
        job = queue.get(job_id)
        active = job is not None and not job.finished
        # Poll only while the job runs; a finished job's panel stays still.
        st.fragment(show_job, run_every=POLL_SECONDS if active else None)(queue, job_id)
