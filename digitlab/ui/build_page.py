"""The Build page: your own network, layer by layer, with its summary as you go; trained by
the sidebar's form as model "custom"."""

from __future__ import annotations

import streamlit as st

from digitlab.ui import state
from digitlab.ui.build_rows import show_layers
from digitlab.ui.retrain import choose_custom
from digitlab.zoo import arch_edit
from digitlab.zoo.arch import ArchError, Architecture, check, loads, pretty
from digitlab.zoo.arch_layers import ARGUMENTS, shape_text
from digitlab.zoo.networks import zoo_spec
from digitlab.zoo.registry import CUSTOM, ZOO
from digitlab.zoo.tutorials import tutorials

EMPTY = "empty"
PRESET = "preset:"  # a "Start from" choice that is a tutorial preset: "preset:NAME"
MAX_UPLOAD_BYTES = 100_000


# --- Start from ------------------------------------------------------------------------


def _presets() -> dict[str, str]:
    """The tutorial presets that have a network of their own, with their help text."""
    return {
        preset: tutorial.help
        for (model, preset), tutorial in tutorials().items()
        if model == CUSTOM and tutorial.spec is not None
    }


def _start_label(choice: str) -> str:
    if choice == EMPTY:
        return "empty (Flatten, Dense 10)"
    if choice.startswith(PRESET):
        name = choice.removeprefix(PRESET)
        follows = _presets()[name].split(":")[0].split(",")[0].split(".")[0]
        return f"{name}: tutorial preset ({follows})"
    return f"{choice}: {ZOO[choice].title}"


def _load() -> None:
    choice = st.session_state[state.BUILD_START_KEY]
    if choice == EMPTY:
        state.edit_spec(arch_edit.EMPTY)
    elif choice.startswith(PRESET):
        preset = choice.removeprefix(PRESET)
        state.edit_spec(tutorials()[(CUSTOM, preset)].spec)
        choose_custom(preset)  # the sidebar trains it with its tutorial's settings
    else:
        state.edit_spec(zoo_spec(choice))
        st.session_state[state.CUSTOM_PRESET_KEY] = "default"


def start_from() -> None:
    choices = [*ZOO, *(PRESET + name for name in _presets()), EMPTY]
    pick, load = st.columns([4, 1], vertical_alignment="bottom")
    choice = pick.selectbox(
        "Start from",
        choices,
        index=choices.index(state.BUILD_START),
        format_func=_start_label,
        key=state.BUILD_START_KEY,
    )
    load.button("Load", on_click=_load, key="build_load", icon=":material/upload_file:")
    if choice.startswith(PRESET):
        st.caption(
            _presets()[choice.removeprefix(PRESET)]
            + " Load also fills the sidebar's form with its settings."
        )


# --- Add, wrap -------------------------------------------------------------------------


def _place_label(spec: dict, point: str) -> str:
    """Where an insertion point puts a new layer, in words."""
    block, _, inner = point.partition(".")
    layers = spec["layers"]
    if inner:
        inside = layers[int(block) - 1]["layers"]
        if int(inner) > len(inside):
            return f"{point}: at the end of block {block}"
        return f"{point}: in block {block}, before {point} ({inside[int(inner) - 1]['type']})"
    if int(block) > len(layers):
        return f"{point}: at the end"
    return f"{point}: before {point} ({layers[int(block) - 1]['type']})"


def _add(at_key: str) -> None:
    layer = arch_edit.new_layer(st.session_state[state.BUILD_ADD_TYPE_KEY])
    state.edit_spec(arch_edit.insert_layer(state.edited_spec(), st.session_state[at_key], layer))


def add_layer(spec: dict) -> None:
    points = arch_edit.insertion_points(spec)
    before_last = points.index(str(len(spec["layers"])))  # the output layer stays last
    # A key per layer list: after each change the box offers "before the last layer" again.
    at_key = f"{state.BUILD_ADD_AT_KEY}-{st.session_state.get(state.BUILD_VERSION_KEY, 0)}"
    kind, at, add = st.columns([2, 3, 1], vertical_alignment="bottom")
    kind.selectbox("Layer type", list(ARGUMENTS), key=state.BUILD_ADD_TYPE_KEY)
    at.selectbox(
        "Where",
        points,
        index=before_last,
        format_func=lambda point: _place_label(spec, point),
        key=at_key,
    )
    add.button("Add", on_click=_add, args=(at_key,), key="build_add", icon=":material/add:")


def _wrap(first_key: str, last_key: str) -> None:
    first, last = sorted((st.session_state[first_key], st.session_state[last_key]))
    state.edit_spec(arch_edit.wrap_in_residual(state.edited_spec(), first, last))


def wrap_layers(spec: dict) -> None:
    numbers = list(range(1, len(spec["layers"]) + 1))
    version = st.session_state.get(state.BUILD_VERSION_KEY, 0)
    first_key = f"{state.BUILD_WRAP_FIRST_KEY}-{version}"
    last_key = f"{state.BUILD_WRAP_LAST_KEY}-{version}"

    def label(number: int) -> str:
        return f"{number} ({spec['layers'][number - 1]['type']})"

    first, last, wrap = st.columns([2, 2, 2], vertical_alignment="bottom")
    first.selectbox("From layer", numbers, format_func=label, key=first_key)
    last.selectbox("To layer", numbers, format_func=label, key=last_key)
    wrap.button(
        "Wrap in a residual block",
        on_click=_wrap,
        args=(first_key, last_key),
        key="build_wrap",
        icon=":material/call_split:",
        help="Their output is added to their input (a 1x1 convolution brings the input "
        "along when only the channels change). The image's size must stay the same: use "
        "padding 'same'.",
    )


# --- The summary -----------------------------------------------------------------------


def _count(value: int) -> str:
    """12,345 as "12.3 k", 5,140,000 as "5.14 M": what a learner compares at a glance."""
    for size, unit, digits in ((1e9, "G", 2), (1e6, "M", 2), (1e3, "k", 1)):
        if value >= size:
            return f"{value / size:.{digits}f} {unit}"
    return str(value)


def show_summary(network: Architecture | ArchError) -> None:
    st.subheader("Summary")
    if isinstance(network, ArchError):
        st.error(f"This network can't be built: {network}", icon=":material/error:")
        return
    with st.container(horizontal=True, gap="medium"):
        st.metric("Parameters", f"{network.params:,}", width="content")
        st.metric(
            "Forward FLOPs per image",
            _count(network.flops),
            help="A multiply-add counts 2; a bias, an activation or a pooling step 1 per value.",
            width="content",
        )
        st.metric("Input", shape_text(network.input_shape), width="content")
        st.metric("Task", network.task, width="content")
    rows = [
        {
            "position": row.position,
            "layer": row.kind,
            "output shape": shape_text(row.output_shape),
            "parameters": row.params,
            "FLOPs": row.flops,
        }
        for row in network.rows()
    ]
    st.dataframe(rows, hide_index=True)
    st.caption(
        "A residual block's own row counts its shortcut and the addition; its layers, "
        "listed above it, count their own."
    )


# --- The spec as a file ----------------------------------------------------------------


def _uploaded() -> None:
    upload = st.session_state.get(state.BUILD_UPLOAD_KEY)
    st.session_state.pop(state.BUILD_UPLOAD_ERROR_KEY, None)
    if upload is None:
        return
    try:
        if upload.size > MAX_UPLOAD_BYTES:
            raise ArchError(f"the file is {upload.size:,} bytes; a spec is under 100 kB.")
        spec = loads(upload.getvalue().decode("utf-8", errors="replace"))
        check(spec)
    except ArchError as error:
        st.session_state[state.BUILD_UPLOAD_ERROR_KEY] = f"{upload.name}: {error}"
        return
    state.edit_spec(spec)


def spec_file(spec: dict) -> None:
    download, upload = st.columns(2)
    download.download_button(
        "Download the spec (JSON)",
        pretty(spec),
        file_name="network.json",
        mime="application/json",
        icon=":material/download:",
        key="build_download",
    )
    upload.file_uploader(
        "Upload a spec (JSON)",
        type=["json"],
        key=state.BUILD_UPLOAD_KEY,
        on_change=_uploaded,
        help="A file made here, or by `python -m digitlab arch show NAME`. One that can't "
        "be built is refused with the reason, and the network above stays as it was.",
    )
    if refused := st.session_state.get(state.BUILD_UPLOAD_ERROR_KEY):
        upload.error(refused, icon=":material/error:")


def render() -> None:
    st.title("Build a network")
    st.write(
        "Stack layers, wrap some in a residual block, and see at once what each costs in "
        "parameters and computation. Train it from the sidebar as model **custom** (same "
        "settings and queue as every model); the run then answers your drawings, shows on "
        "the Runs page and evaluates and exports like any other."
    )
    start_from()
    spec = state.edited_spec()
    network = state.edited_network()
    error = network if isinstance(network, ArchError) else None

    st.subheader("Layers")
    st.caption(f"Input: {shape_text(tuple(spec.get('input', [28, 28, 1])))}")
    show_layers(spec, error)
    add_layer(spec)
    wrap_layers(spec)

    show_summary(network)
    spec_file(spec)
    st.button(
        "Train it: choose it in the sidebar's form",
        on_click=choose_custom,
        key="build_to_sidebar",
        icon=":material/model_training:",
        help="Sets the sidebar's Model to train to custom; its settings and Train button do "
        "the rest.",
    )
