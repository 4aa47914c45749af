"""The Build page's layer list: one row of ordinary widgets per layer, a residual block's
layers indented under it. Every change goes through a callback into the session's spec
(state.edit_spec), so the whole app (the sidebar's form too) sees it on the same run."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import streamlit as st

from digitlab.ui import state
from digitlab.zoo import arch_edit
from digitlab.zoo.arch import ArchError
from digitlab.zoo.arch_layers import ARGUMENTS, RESIDUAL

# Shown in the row; a type's other arguments wait under its "More" popover.
MAIN_ARGUMENTS = ("filters", "units", "kernel_size", "pool_size", "rate", "activation", "padding")
NUMBER_STEPS = {"rate": 0.05, "momentum": 0.01, "epsilon": 1e-4}
BOX_PX = 130  # an argument's box: five fit beside a layer's name


def _edited(step: Callable[..., dict], *args: Any) -> None:
    """A button's callback: one arch_edit step on the session's spec."""
    state.edit_spec(step(state.edited_spec(), *args))


def _argument_changed(position: str, name: str, widget_key: str) -> None:
    spec = arch_edit.set_argument(state.edited_spec(), position, name, st.session_state[widget_key])
    state.edit_spec(spec, layers_changed=False)  # the same rows: keep their widgets


def argument_box(layer: dict, position: str, name: str) -> None:
    """One argument's widget, holding its value or Keras's default."""
    check = ARGUMENTS[layer["type"]][name]
    value = arch_edit.shown_value(layer, name)
    key = state.layer_widget_key(position, name)
    common = {
        "key": key,
        "on_change": _argument_changed,
        "args": (position, name, key),
        "width": BOX_PX,
    }
    if isinstance(value, list):  # a (height, width) pair: edited in the JSON file
        st.text_input(name, "x".join(map(str, value)), disabled=True, width=BOX_PX)
    elif check.kind == "whole":
        st.number_input(name, int(check.low), int(check.high), int(value), step=1, **common)
    elif check.kind == "number":
        step = NUMBER_STEPS.get(name, 0.01)
        high = check.high - step if check.high_open else check.high
        low, value = float(check.low), float(value)
        digits = "%.4f" if step < 0.01 else "%.2f"
        st.number_input(name, low, float(high), value, step=step, format=digits, **common)
    elif check.kind == "choice":
        st.selectbox(name, check.options, index=check.options.index(value), **common)
    elif check.kind == "flag":
        st.checkbox(name, value, **common)


def _buttons(position: str, kind: str) -> None:
    def button(name: str, icon: str, help: str, step: Callable[..., dict], *args: Any) -> None:
        st.button(
            "",
            icon=icon,
            help=help,
            key=state.layer_widget_key(position, name),
            on_click=_edited,
            args=(step, position, *args),
        )

    with st.container(horizontal=True, gap="small"):
        button("up", ":material/arrow_upward:", "Move up", arch_edit.move_layer, -1)
        button("down", ":material/arrow_downward:", "Move down", arch_edit.move_layer, 1)
        if kind == RESIDUAL:
            button("unwrap", ":material/layers_clear:", "Unwrap: keep its layers, drop the "
                   "shortcut", arch_edit.unwrap_residual)  # fmt: skip
        button("remove", ":material/delete:", "Remove", arch_edit.remove_layer)


def layer_row(layer: dict, position: str, error: ArchError | None) -> None:
    """A layer: its position and type, its arguments, its buttons; under it, the reason
    the network can't be built when this layer is the one that fails."""
    kind = layer["type"]
    named = [name for name in ARGUMENTS[kind] if name != "layers"]
    main = [name for name in named if name in MAIN_ARGUMENTS or kind == RESIDUAL]
    more = [name for name in named if name not in main]
    title, arguments, buttons = st.columns([1.4, 5.6, 2], vertical_alignment="bottom")
    label = "Residual block (below: its layers)" if kind == RESIDUAL else kind
    title.markdown(f"**{position}** &nbsp; {label}")
    with arguments, st.container(horizontal=True, gap="small", vertical_alignment="bottom"):
        for name in main:
            argument_box(layer, position, name)
        if more:
            with st.popover("More", help=", ".join(more)):
                for name in more:
                    argument_box(layer, position, name)
    with buttons:
        _buttons(position, kind)
    if error is not None and error.position == position:
        st.error(error.reason, icon=":material/error:")


def show_layers(spec: dict, error: ArchError | None) -> None:
    """Every layer as a row, each residual block's own layers indented under it."""
    for index, layer in enumerate(spec["layers"], start=1):
        layer_row(layer, str(index), error)
        if layer["type"] != RESIDUAL:
            continue
        _, inside = st.columns([0.04, 0.96])
        with inside:
            for inner_index, inner in enumerate(layer["layers"], start=1):
                layer_row(inner, f"{index}.{inner_index}", error)
