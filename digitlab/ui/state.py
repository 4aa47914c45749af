"""Every session-state key in one place, and the session's own choices that use them.

A session works in a workspace (digitlab.store.workspaces; the browser remembers it, see
ui/workspace.py): the workspace owns the runs it trains and chooses, per architecture, which
run answers it. The store says what exists and what the workspace chose; the session state
holds this session's copy of those choices, read once when the workspace opens.

The keys are grouped by the page or widget that uses them. A widget whose key is only its
identity (never read back through st.session_state) keeps its key where it is drawn. The
strings are what the AppTests and the browser tests address: change one only with them.
"""

from __future__ import annotations

import contextlib

import streamlit as st

from digitlab import store
from digitlab.analysis.hints import broken_run
from digitlab.store import workspaces
from digitlab.store.drawings import NOT_A_DIGIT
from digitlab.zoo.arch import ArchError, Architecture, dumps, parse
from digitlab.zoo.networks import zoo_spec
from digitlab.zoo.registry import DEFAULT_MODEL

# --- this session, and the runs it chose (every page) ---
OWNER_KEY = "session_owner"  # this session's workspace id: the store's `owner` column
WORKSPACE_KEY = "workspace_key"  # the key that opens it: this session's link and cookie only
SHOWN_MODEL_KEY = "workspace_model"  # the Draw page's architecture as the workspace keeps it
SHARED_KEY = "shared_run"  # a run opened by a share link: {"share": id, "run_id", "model"}
NOTICE_KEY = "run_notice"  # a run this session just made: see adopt_finished_run


def run_key(model: str) -> str:
    """The id of the run this session chose for an architecture (absent: the default)."""
    return f"run_for_{model}"


def version_key(model: str) -> str:
    """An architecture's Version box (widgets.run_selector), set from run_key on each run."""
    return f"version_{model}"


# --- the Draw page ---
MODEL_KEY = "model_name"  # the architecture the Draw page shows
PENDING_MODEL_KEY = "pending_model"  # set when a job ends; becomes MODEL_KEY on the next run
TEMPERATURE_KEY = "temperature"  # the softmax temperature slider, one for every model
RUNTIME_KEY = "runtime"  # which file answers: the Keras model or one of its TFLite exports
DRAW_OUTPUTS_KEY = "last_outputs"  # ((run, runtime, input digest), logits): for the slider
LIVE_ANSWERED_KEY = "live_answered"  # the live answer's last request for a model, answered
DRAWING_ROW_KEY = "drawing_row"  # Streamlit gives the container the class st-key-<key>
DRAW_SETTINGS_KEY = "draw_settings"  # the Draw page's model, version, runtime, temperature
DRAW_AFTER_KEY = "draw_after"  # what follows the drawing row: who answered, the explanations

# --- the Draw page's canvas ---
CANVAS_KEY = "canvas"  # the component's own; Streamlit drops it while the canvas is unmounted
CANVAS_STROKES_KEY = "canvas_strokes"  # the canvas's last JSON (its strokes), for saved drawings
CANVAS_IMAGE_KEY = "canvas_image"  # the canvas's last RGBA image, shown again after another page
CANVAS_START_KEY = "canvas_start"  # the drawing the mounted canvas was handed
CANVAS_CLEARS_KEY = "canvas_clears"  # how often Clear was pressed: each gives a new empty drawing
INJECTED_IMAGE = "digitlab_injected_canvas"  # tests only: an RGBA array standing in for the canvas

# --- the Draw page's upload ---
UPLOADS_KEY = "uploader_number"  # bumped to drop a refused file: the uploader's key changes
UPLOAD_REFUSED_KEY = "upload_refused"  # why the last file was refused, shown until the next one
UPLOAD_KEY_PREFIX = "upload"  # the uploader's own key is upload-<number>


def uploader_key() -> str:
    """The file uploader's key now: a new one, so an empty uploader, after a refused file."""
    return f"{UPLOAD_KEY_PREFIX}-{st.session_state.get(UPLOADS_KEY, 0)}"


# --- the Draw page's samples ---
SAMPLE_CHOSEN_KEY = "sample_chosen"  # the index of the chosen sample in samples.gallery()


def sample_button_key(index: int) -> str:
    """The button that sends sample `index` (what the tests press)."""
    return f"sample_{index}"


# --- under the Draw page's answer: the belief chart and the corrections ---
BELIEF_HISTORY_KEY = "belief_history"  # (whose history it is, its steps)
# (the input's digest, the drawing's id, its label): a second press relabels, not saves again
CORRECTIONS_SAVED_KEY = "corrections_last_saved"
CORRECTIONS_RIGHT_KEY = "correct_right"  # the "Right: it's ..." button (what the tests press)
CORRECTIONS_REFUSED_KEY = "corrections_refused"  # why the last save was refused (a limit)


def correction_button_key(label: int) -> str:
    """The button that says "it's a <label>" (what the tests press)."""
    return "correct_not_digit" if label == NOT_A_DIGIT else f"correct_{label}"


# --- the Draw page's Explain section: the invariance probe's sliders, which Reset zeroes ---
PROBE_ROTATION_KEY = "probe_rotation"  # degrees, anticlockwise
PROBE_SHIFT_X_KEY = "probe_shift_x"  # pixels to the right
PROBE_SHIFT_Y_KEY = "probe_shift_y"  # pixels down
PROBE_THICKNESS_KEY = "probe_thickness"  # below 0 thins the strokes, above thickens them

# --- the Evaluate page ---
EVALUATE_MODEL_KEY = "evaluate_model_name"  # its own architecture (it opens on the Draw page's)
GRID_SEED_KEY = "grid_seed"  # bumped by Shuffle: which test images the grid shows


def confusion_key(model: str) -> str:
    """An architecture's confusion heatmap: the cell clicked on it (its selection)."""
    return f"confusion_{model}"


def gallery_true_key(model: str) -> str:
    """The gallery's "True digit" box for an architecture; a clicked cell sets it."""
    return f"gallery_true_{model}"


def gallery_predicted_key(model: str) -> str:
    """The gallery's "Predicted as" box for an architecture; a clicked cell sets it."""
    return f"gallery_predicted_{model}"


# --- the Data page ---
DATA_SOURCE_KEY = "data_source"  # which training images the grid shows (data.browse names)
DATA_DIGIT_KEY = "data_digit"  # the grid's digit filter: None for every digit
DATA_PAGE_KEY = "data_page"  # the grid's page, from 1; a new source or digit goes back to 1
DATA_MODEL_KEY = "data_model_name"  # the architecture of the run whose hard ones are shown
DATA_HARD_KIND_KEY = "data_hard_kind"  # its mistakes, or the images it is least sure of
DATA_HARD_START_KEY = "data_hard_start"  # runs the model over the training images, once
DATA_IMAGE_KEY = "data_image"  # the MNIST training image the normalisation steps show

# --- the Export page ---
EXPORT_MODEL_KEY = "export_model_name"  # its own architecture (it opens on the Draw page's)

# --- the Runs page ---
RUNS_PICK_KEY = "runs_pick"  # the run that Use, Delete and the Weights section act on
RUNS_ERROR_KEY = "runs_error"  # why Delete failed: set in its callback, shown (once) after
WEIGHTS_SHOW_KEY = "runs_weights"  # the toggle that shows the picked run's weights
ENSEMBLE_PICKED_KEY = "ensemble_members"  # the run ids picked for a new ensemble

# --- training: the sidebar's Retrain panel, the My digits page's fine-tune, the Search page ---
JOB_KEY = "job_id"  # this session's training job in the server's queue
TRAIN_MODEL_KEY = "train_model"  # the Retrain panel's architecture: choosing one refills the form
# Each Retrain field's key, by TrainConfig field (retrain.WIDGETS says how each is drawn);
# choosing a model writes its recipe into them, and they keep the form's values across reruns.
TRAIN_FORM_KEYS = {
    "epochs": "train_epochs",
    "batch_size": "train_batch",
    "learning_rate": "train_lr",
    "schedule": "train_schedule",
    "optimizer": "train_optimizer",
    "dropout": "train_dropout",
    "augment": "train_augment",
    "pen_digits": "train_pen_digits",
    "not_digits": "train_not_digits",
    "early_stopping_patience": "train_patience",
    "reduce_lr_on_plateau": "train_reduce_lr",
    "validation_split": "train_val_split",
    "train_samples": "train_samples",
    "seed": "train_seed",
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
    "labels": "train_labels",
    # The Augmentation panel beside the form (retrain.augmentation_panel)
    "clean_epochs": "train_clean_epochs",
    "aug_rotation": "train_aug_rotation",
    "aug_shift": "train_aug_shift",
    "aug_zoom": "train_aug_zoom",
    "aug_shear": "train_aug_shear",
    "aug_elastic_alpha": "train_aug_elastic_alpha",
    "aug_elastic_sigma": "train_aug_elastic_sigma",
    "aug_thicker": "train_aug_thicker",
    "aug_thinner": "train_aug_thinner",
}
AUG_PREVIEW_KEY = "train_aug_preview"  # the Augmentation panel's "Preview" toggle
# The preset whose settings fill the form for model "custom" (the Build page's Load sets it)
CUSTOM_PRESET_KEY = "train_custom_preset"
TRAIN_PRESET_KEY = "train_preset"  # the Retrain panel's Recipe box: choosing one refills the form
FINE_TUNE_JOB_KEY = "fine_tune_job_id"  # this session's fine-tune job (My digits page)
FINE_TUNE_START_KEY = "fine_tune_start"  # the "Fine-tune on my digits" button
SEARCH_MODEL_KEY = "search_model"  # the Search page's architecture


def search_ended_key(search_id: int) -> str:
    """Set when a finished search has rerun the page (its polling stops): only once."""
    return f"search-ended-{search_id}"


# --- the Build page: the network this session edits, trained as model "custom" ---
BUILD_SPEC_KEY = "build_spec"  # the spec being edited (a dict, as arch.check takes it)
BUILD_START = "cnn_small"  # the zoo model a session starts editing
# Bumped by each change of the layer list (not of one argument): the layer rows' widgets
# then get new keys, and show the new layers' values rather than their own old ones.
BUILD_VERSION_KEY = "build_version"
BUILD_START_KEY = "build_start"  # the "Start from" box
BUILD_ADD_TYPE_KEY = "build_add_type"  # "Add a layer": its type ...
BUILD_ADD_AT_KEY = "build_add_at"  # ... and where it goes
BUILD_WRAP_FIRST_KEY = "build_wrap_first"  # "Wrap in a residual block": from ...
BUILD_WRAP_LAST_KEY = "build_wrap_last"  # ... to
BUILD_UPLOAD_KEY = "build_upload"  # the spec file uploader
BUILD_UPLOAD_ERROR_KEY = "build_upload_error"  # why the last uploaded file was refused


def layer_widget_key(position: str, name: str) -> str:
    """A widget of one layer row ("3", "4.2"): an argument's box, or "up", "down", "remove"."""
    return f"build-{st.session_state.get(BUILD_VERSION_KEY, 0)}-{position}-{name}"


# --- the My digits page ---


def relabel_key(drawing_id: int) -> str:
    """A saved drawing's Label box: its callback stores the label it then holds."""
    return f"relabel_{drawing_id}"


def delete_key(drawing_id: int) -> str:
    """A saved drawing's Delete button (what the tests press)."""
    return f"delete_{drawing_id}"


# --- the session's choices, kept under the keys above ---


def session_owner() -> str:
    """This session's workspace id: the owner of what it trains and saves. ui/workspace.py
    opens the one the browser remembers first; without it, a fresh one."""
    if OWNER_KEY not in st.session_state:
        enter_workspace(*workspaces.create())
    return st.session_state[OWNER_KEY]


def enter_workspace(workspace: workspaces.Workspace, key: str) -> None:
    """Work in this workspace from now on: its choices of run, and its Draw page model."""
    for name in [name for name in st.session_state if str(name).startswith("run_for_")]:
        del st.session_state[name]
    st.session_state[OWNER_KEY], st.session_state[WORKSPACE_KEY] = workspace.id, key
    for model, run_id in workspaces.choices(workspace.id).items():
        st.session_state[run_key(model)] = run_id
    if workspace.draw_model:
        st.session_state.setdefault(MODEL_KEY, workspace.draw_model)
        st.session_state[SHOWN_MODEL_KEY] = workspace.draw_model


def keep_shown_model(model: str) -> None:
    """The Draw page shows `model`: the workspace's next visit opens on it too."""
    if st.session_state.get(SHOWN_MODEL_KEY) != model:
        workspaces.show_model(session_owner(), model)
        st.session_state[SHOWN_MODEL_KEY] = model


def chosen_run(model: str) -> store.Run:
    """The run that answers this session for an architecture: its choice, else the default.

    A chosen run that was deleted meanwhile falls back to the default, silently.
    """
    run_id = st.session_state.get(run_key(model))
    if run_id is not None:
        try:
            return store.get_run(run_id)
        except store.StoreError:
            del st.session_state[run_key(model)]
    try:
        return store.default_run(model)
    except store.StoreError:
        # An ensemble or a custom network has no shipped run: this session's newest answers
        # (choosing "ensemble" again must find the one it made, not a dead end).
        runs = visible_runs(model)
        if not runs:
            raise
        return runs[0]


def in_use(run: store.Run) -> bool:
    """Whether this run answers this session for its architecture (or ensemble)."""
    try:
        return chosen_run(run.model).id == run.id
    except store.StoreError:  # an ensemble nobody chose yet: none answers
        return False


def choose_run(model: str, run_id: str | None) -> None:
    """Make a run the workspace's model for its architecture (None: back to the default)."""
    if run_id is None:
        st.session_state.pop(run_key(model), None)
    else:
        st.session_state[run_key(model)] = run_id
    workspaces.choose(session_owner(), model, run_id)


def server_default_id(model: str) -> str | None:
    """The id of the run that answers for `model` when a session chose none; None when
    nothing does (an ensemble or a custom network nobody promoted)."""
    try:
        return store.default_run(model).id
    except store.StoreError:
        return None


def back_to_default(model: str) -> None:
    """A button callback: the default run answers again, and the notice goes. Where the
    architecture has no default (an ensemble), the Draw page goes back to the shipped model."""
    choose_run(model, None)
    st.session_state.pop(NOTICE_KEY, None)
    if server_default_id(model) is None:
        st.session_state[PENDING_MODEL_KEY] = DEFAULT_MODEL


def adopt_finished_run(model: str, run_id: str, hold_back_broken: bool = True) -> None:
    """A run this session made is done: it answers from now on, with a notice saying so and
    naming the run that answered before. A broken run (chance level, diverged) does not
    answer: the notice offers it instead, so a bad setting never silently replaces a model.
    `hold_back_broken=False`: the person picked this very run (Use the best)."""
    try:
        before: str | None = run_label(chosen_run(model))
    except store.StoreError:  # the session's first ensemble or custom network
        before = None
    run = store.get_run(run_id, with_history=True)
    broken = broken_run(run.accuracy, run.history or {}, run.spec.task)
    if hold_back_broken and broken is not None:
        # Nothing changes where it answers: the Draw page stays on its model and says why.
        st.session_state[NOTICE_KEY] = {"model": model, "run_id": run_id, "broken": broken}
        return
    choose_run(model, run_id)
    st.session_state[NOTICE_KEY] = {"model": model, "run_id": run_id, "before": before}
    st.session_state[PENDING_MODEL_KEY] = model


def use_offered_run(model: str, run_id: str) -> None:
    """A button callback: "Use it anyway" for a run the notice held back as broken."""
    choose_run(model, run_id)
    st.session_state.pop(NOTICE_KEY, None)
    st.session_state[PENDING_MODEL_KEY] = model


def visible_runs(model: str | None = None) -> list[store.Run]:
    """The runs this session may see: its workspace's, the command line's, the shipped ones,
    and a run shared with it by a link."""
    runs = store.list_runs(model, visible_to=session_owner())
    shared = st.session_state.get(SHARED_KEY)
    if shared and model in (None, shared["model"]) and shared["run_id"] not in [r.id for r in runs]:
        with contextlib.suppress(store.StoreError):  # deleted by its owner since
            runs.insert(0, store.get_run(shared["run_id"]))
    return runs


def run_label(run: store.Run, owner: str | None = None) -> str:
    """A run in words for this session: "shipped, 99.34% on MNIST test", "your run 12, ...".

    `owner` defaults to this session; pass it when the label is made outside a script run
    (a widget's format_func may be called there).
    """
    owner = owner if owner is not None else session_owner()
    if run.shipped:
        name = "shipped"
    elif run.owner == owner:
        name = f"your run {run.id}"
    elif run.owner is None:
        name = f"run {run.id} (command line)"
    else:  # another workspace's run is seen only through a share link
        name = f"shared run {run.id}"
    if run.accuracy is None:
        return name
    return f"{name}, {run.accuracy:.2%} on MNIST test"


def edited_spec() -> dict:
    """The network this session is building (at first, cnn_small's)."""
    if BUILD_SPEC_KEY not in st.session_state:
        st.session_state[BUILD_SPEC_KEY] = zoo_spec(BUILD_START)
    return st.session_state[BUILD_SPEC_KEY]


def edit_spec(spec: dict, layers_changed: bool = True) -> None:
    """Make `spec` the one being built (`layers_changed`: the rows get fresh widgets)."""
    st.session_state[BUILD_SPEC_KEY] = spec
    if layers_changed:
        st.session_state[BUILD_VERSION_KEY] = st.session_state.get(BUILD_VERSION_KEY, 0) + 1


def edited_network() -> Architecture | ArchError:
    """The checked network being built, or why it can't be built."""
    try:
        return parse(dumps(edited_spec()))
    except ArchError as error:
        return error


def current_model(default: str = DEFAULT_MODEL) -> str:
    """The architecture the Draw page shows (other pages open on it)."""
    return st.session_state.get(MODEL_KEY, default)
