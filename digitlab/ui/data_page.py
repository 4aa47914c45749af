"""The Data page: everything a network is fed, to look at. The training images of each
source, filtered and paged; the ones a run finds hardest; each source's class balance and
mean digits; what normalising does to one image; and the activation functions at work."""

from __future__ import annotations

import numpy as np
import streamlit as st

from digitlab import store
from digitlab.analysis import hard_examples
from digitlab.core.errors import UserError
from digitlab.data import browse
from digitlab.ui import charts, data_charts, state
from digitlab.ui.widgets import run_selector, zoo_selector
from digitlab.zoo import activations
from digitlab.zoo.registry import CLASSIFICATION, ENSEMBLE

PER_PAGE = 48
HARD_SHOWN = 24
THUMB_WIDTH = 84  # charts.thumbnail's 28 x 3 pixels: no browser blur
ALL_DIGITS = None
HARD_KINDS = {hard_examples.WRONG: "It gets wrong", hard_examples.UNSURE: "Least sure of"}


# --- caches: each source loaded once per server; a failure (no MNIST, no pendigits file) is
# kept too, so a rerun does not retry a slow download -----------------------------------------


@st.cache_resource(max_entries=3, show_spinner="Loading the training images...")
def _source(name: str) -> browse.Source | UserError:
    try:
        return browse.load_source(name)
    except UserError as error:
        return error


def source(name: str) -> browse.Source:
    """A source of training images (raises its UserError when it can't be had)."""
    loaded = _source(name)
    if isinstance(loaded, UserError):
        raise UserError(str(loaded))  # a fresh one: re-raising the cached one grows its traceback
    return loaded


@st.cache_data(max_entries=3, show_spinner=False)
def _balance(name: str) -> dict[str, int]:
    return browse.class_balance(source(name).labels)


@st.cache_data(max_entries=3, show_spinner=False)
def _means(name: str) -> np.ndarray:
    loaded = source(name)
    return browse.mean_images(loaded.images, loaded.labels)


@st.cache_resource(max_entries=8, show_spinner="Running the model over the training images...")
def _train_outputs(_run: store.Run, version: str) -> np.ndarray:
    return hard_examples.train_outputs(_run)


# --- the grid ------------------------------------------------------------------------------


def _first_page() -> None:
    st.session_state[state.DATA_PAGE_KEY] = 1


def label_text(label: int) -> str:
    return "not a digit" if label < 0 else str(label)


def show_thumbnails(images: np.ndarray, captions: list[str]) -> None:
    """Small images in rows, each with its caption: one element, cheap to send."""
    uris = [charts.png_data_uri(charts.thumbnail(image)) for image in images]
    st.image(uris, caption=captions, width=THUMB_WIDTH)


def source_choice() -> str:
    return st.selectbox(
        "Source",
        list(browse.SOURCE_TITLES),
        format_func=browse.SOURCE_TITLES.__getitem__,
        key=state.DATA_SOURCE_KEY,
        on_change=_first_page,
    )


def show_grid() -> None:
    """Source, digit and page, then the page of images: a fragment, so a page flip redraws
    only this."""
    source_column, digit_column, page_column = st.columns([2, 1, 1])
    with source_column:
        name = source_choice()
    try:
        chosen = source(name)
    except UserError as error:
        st.error(str(error))
        return
    has_digits = name != browse.NOT_DIGITS
    digit = digit_column.selectbox(
        "Digit",
        [ALL_DIGITS, *range(10)],
        format_func=lambda d: "all" if d is None else str(d),
        key=state.DATA_DIGIT_KEY,
        on_change=_first_page,
        disabled=not has_digits,
        help=None if has_digits else "Not-a-digit drawings have no digit.",
    )
    indices = browse.matching(chosen.labels, digit if has_digits else ALL_DIGITS)
    pages = browse.page_count(len(indices), PER_PAGE)
    if st.session_state.get(state.DATA_PAGE_KEY, 1) > pages:
        st.session_state[state.DATA_PAGE_KEY] = pages
    page = page_column.number_input(
        f"Page (of {pages:,})", min_value=1, max_value=pages, step=1, key=state.DATA_PAGE_KEY
    )
    shown = browse.page_of(indices, int(page), PER_PAGE)
    what = f"{len(chosen):,}"
    if len(indices) < len(chosen):
        what = f"{len(indices):,} of {what}"
    st.caption(
        f"{chosen.title}: {what} images ({browse.SOURCE_NOTES[name]}). "
        f"Showing {len(shown)} from image #{shown[0] if len(shown) else 0}."
    )
    captions = [f"{label_text(chosen.labels[i])} · #{i}" for i in shown]
    show_thumbnails(chosen.images[shown], captions)


# --- the hard ones -------------------------------------------------------------------------


def said_text(one: hard_examples.HardOne) -> str:
    if one.confidence is None:
        return f"said {one.value:.2f}"
    return f"said {one.said} ({one.confidence:.0%})"


def show_hard_ones(run: store.Run) -> None:
    if run.model == ENSEMBLE:
        st.info("Pick one network: an ensemble's members each have their own hard ones.")
        return
    if hard_examples.cached_outputs(run) is None:
        slot = st.empty()  # the button goes once pressed
        with slot.container():
            pressed = st.button(
                "Find them", key=state.DATA_HARD_START_KEY, icon=":material/search:"
            )
            st.caption(
                "Runs the model over the 60,000 MNIST training images once (about a second "
                "for an MLP, 15-35 s for a convolutional net on 2 cores); the answers are kept "
                "with the run."
            )
        if not pressed:
            return
        slot.empty()
    try:
        outputs = _train_outputs(run, run.cache_key)
        mnist = source(browse.MNIST_TRAIN)
    except UserError as error:  # no MNIST, or a model file that won't load
        st.error(str(error))
        return
    labels = mnist.labels
    kind = (
        st.segmented_control(
            "Show",
            list(HARD_KINDS),
            format_func=HARD_KINDS.get,
            default=hard_examples.WRONG,
            key=state.DATA_HARD_KIND_KEY,
        )
        or hard_examples.WRONG
    )
    order = hard_examples.ranked(outputs, labels, run.spec.task, kind)
    if kind == hard_examples.WRONG:
        first = "most confident first" if run.spec.task == CLASSIFICATION else "farthest off first"
        st.caption(
            f"It gets {len(order):,} of the {len(labels):,} training images wrong "
            f"({len(order) / len(labels):.2%}), {first}. A run trained on fewer images "
            "saw only some of these (its validation split is among them)."
        )
    else:
        st.caption(f"The {HARD_SHOWN} of the {len(labels):,} training images it is least sure of.")
    if not len(order):
        st.success("It reads every training image right.")
        return
    rows = hard_examples.described(outputs, labels, run.spec.task, order[:HARD_SHOWN])
    captions = [f"a {one.label}, {said_text(one)}" for one in rows]
    show_thumbnails(mnist.images[[one.index for one in rows]], captions)
    with st.expander("As a table"):
        st.dataframe(
            [
                {
                    "image": one.index,
                    "label": one.label,
                    "said": one.said,
                    "confidence": one.confidence,
                }
                for one in rows
            ],
            hide_index=True,
            column_config={"confidence": st.column_config.NumberColumn(format="percent")},
        )


# --- balance, means, normalisation, activations ---------------------------------------------


def show_balance() -> None:
    columns = st.columns(len(browse.SOURCE_TITLES))
    for column, name in zip(columns, browse.SOURCE_TITLES, strict=True):
        counts = {label: n for label, n in _balance(name).items() if n}  # no empty bars
        title = f"{browse.SOURCE_TITLES[name]}: {sum(counts.values()):,}"
        column.plotly_chart(data_charts.class_balance(counts, title), key=f"balance-{name}")


def show_means() -> None:
    for name in (browse.MNIST_TRAIN, browse.PEN_DIGITS):
        st.caption(browse.SOURCE_TITLES[name])
        show_thumbnails(_means(name), [str(digit) for digit in range(10)])


def show_normalisation() -> None:
    images = source(browse.MNIST_TRAIN).images
    index = st.columns([1, 3])[0].number_input(
        "MNIST training image", 0, len(images) - 1, 0, step=1, key=state.DATA_IMAGE_KEY
    )
    steps = browse.normalisation_steps(images[int(index)])
    for column, step in zip(st.columns(len(steps)), steps, strict=True):
        column.plotly_chart(
            data_charts.value_heatmap(step.values, step.name), key=f"norm-{step.name}"
        )
        column.markdown(f"`{step.formula}`  \nmin **{step.low:.4g}**, max **{step.high:.4g}**")
    st.caption(
        f"Every model here reads the [0, 1] floats (data/batch.py). Standardising with "
        f"MNIST's pixel mean {browse.MNIST_MEAN} and standard deviation {browse.MNIST_STD} "
        "centres the inputs on 0, as many tutorials do; a network learns either way, but the "
        "first layer's weights then scale differently."
    )


def show_activations(run: store.Run) -> None:
    if run.model == ENSEMBLE:
        used: dict[str, int] = {}
        st.caption("An ensemble averages its members; each member's network is its own.")
    else:
        used = activations.used_activations(run.config.network())
        in_words = ", ".join(f"{name} in {n} layer{'s' * (n > 1)}" for name, n in used.items())
        st.caption(
            f"{run.model} ({run.describe()}) uses {in_words or 'no activation'}. "
            "Bold: in this network; dotted: the others a network here may use."
        )
    figure = data_charts.activation_curves(activations.curves(), set(used))
    st.plotly_chart(figure, key="activations")


def render() -> None:
    st.title("The training data")
    try:
        st.fragment(show_grid)()
        st.subheader("Hard ones")
        left, right = st.columns(2)
        with left:
            name = zoo_selector(state.DATA_MODEL_KEY, state.current_model())
        with right:
            run = run_selector(name)
        st.fragment(show_hard_ones)(run)
        st.subheader("Class balance")
        show_balance()
        st.subheader("The mean image of each digit")
        show_means()
        st.subheader("Normalisation, on one image")
        show_normalisation()
    except (UserError, store.StoreError) as error:
        st.error(str(error))
        return
    st.subheader("Activation functions")
    show_activations(run)
