"""Editing a spec step by step (digitlab.zoo.arch_edit): each step gives a new spec, checked
afterwards by arch.check as the Build page does."""

from __future__ import annotations

import copy

import pytest

from digitlab.zoo import arch_edit as edit
from digitlab.zoo.arch import ArchError, check
from digitlab.zoo.arch_layers import ARGUMENTS, RESIDUAL
from digitlab.zoo.networks import zoo_spec

CONV = {"type": "Conv2D", "filters": 8, "kernel_size": 3, "padding": "same"}


def kinds(spec: dict) -> list:
    return [
        [inner["type"] for inner in layer["layers"]] if layer["type"] == RESIDUAL else layer["type"]
        for layer in spec["layers"]
    ]


@pytest.fixture
def small() -> dict:
    return zoo_spec("cnn_small")  # Conv, Pool, Conv, Pool, Flatten, Dense 64, Dense 10


def test_every_new_layer_is_allowed_and_a_fresh_copy():
    for kind in ARGUMENTS:
        layer = edit.new_layer(kind)
        assert layer["type"] == kind and set(layer) - {"type"} <= set(ARGUMENTS[kind])
    edit.new_layer(RESIDUAL)["layers"].append({"type": "Flatten"})
    assert len(edit.new_layer(RESIDUAL)["layers"]) == 1


def test_the_empty_start_checks():
    assert check(edit.EMPTY).params == 784 * 10 + 10


def test_steps_leave_the_given_spec_alone(small):
    before = copy.deepcopy(small)
    edit.insert_layer(small, "1", CONV)
    edit.remove_layer(small, "2")
    edit.move_layer(small, "1", 1)
    edit.set_argument(small, "1", "filters", 5)
    edit.wrap_in_residual(small, 1, 2)
    assert small == before


def test_add_remove_and_move(small):
    added = edit.insert_layer(small, "2", {"type": "BatchNormalization"})
    assert kinds(added)[:3] == ["Conv2D", "BatchNormalization", "MaxPooling2D"]
    at_end = edit.insert_layer(small, "8", {"type": "Dropout", "rate": 0.1})
    assert kinds(at_end)[-1] == "Dropout"
    assert kinds(edit.remove_layer(small, "2"))[:2] == ["Conv2D", "Conv2D"]
    down = edit.move_layer(small, "1", 1)
    assert kinds(down)[:2] == ["MaxPooling2D", "Conv2D"]
    assert edit.move_layer(down, "2", -1) == small
    assert edit.move_layer(small, "1", -1) == small  # already first
    assert edit.move_layer(small, "7", 1) == small  # already last


def test_an_argument_at_keras_default_is_left_out(small):
    wider = edit.set_argument(small, "1", "filters", 48)
    assert edit.layer_at(wider, "1")["filters"] == 48
    linear = edit.set_argument(small, "1", "activation", "linear")
    assert "activation" not in edit.layer_at(linear, "1")
    assert edit.shown_value(edit.layer_at(linear, "1"), "activation") == "linear"
    padded = edit.set_argument(small, "1", "padding", "same")
    assert edit.layer_at(padded, "1")["padding"] == "same"
    assert edit.set_argument(padded, "1", "padding", "valid") == small
    # Pooling's strides follow its pool size unless set apart from it.
    pool = edit.layer_at(small, "2")
    assert edit.shown_value(pool, "strides") == edit.shown_value(pool, "pool_size") == 2
    assert edit.set_argument(small, "2", "strides", 2) == small
    assert edit.layer_at(edit.set_argument(small, "2", "strides", 1), "2")["strides"] == 1


def test_wrap_in_a_residual_block_and_edit_inside_it(small):
    spec = edit.insert_layer(small, "2", CONV)  # Conv 32, Conv 8 (same), Pool, ...
    spec = edit.insert_layer(spec, "3", {**CONV, "filters": 32})
    wrapped = edit.wrap_in_residual(spec, 2, 3)
    assert kinds(wrapped)[:3] == ["Conv2D", ["Conv2D", "Conv2D"], "MaxPooling2D"]
    network = check(wrapped)  # 26x26x32 in, 26x26x32 out: the identity shortcut
    assert network.has_residual and not network.layers[1].projects
    assert [row.position for row in network.rows()][:4] == ["1", "2.1", "2.2", "2"]

    inside = edit.set_argument(wrapped, "2.2", "filters", 16)  # now the channels change
    assert check(inside).layers[1].projects  # a 1x1 convolution brings the input along
    moved = edit.move_layer(wrapped, "2.2", -1)
    assert [layer["filters"] for layer in edit.layer_at(moved, "2")["layers"]] == [32, 8]
    grown = edit.insert_layer(wrapped, "2.3", {"type": "BatchNormalization"})
    assert kinds(grown)[1] == ["Conv2D", "Conv2D", "BatchNormalization"]
    assert edit.unwrap_residual(wrapped, "2") == spec
    assert edit.positions(wrapped) == ["1", "2", "2.1", "2.2", "3", "4", "5", "6", "7", "8"]
    assert edit.insertion_points(wrapped)[:5] == ["1", "2", "2.1", "2.2", "2.3"]
    assert edit.insertion_points(wrapped)[-1] == "9"


def test_a_block_emptied_or_a_bad_edit_is_for_check_to_refuse(small):
    wrapped = edit.wrap_in_residual(small, 1, 1)  # 28x28x1 -> 26x26x32: not the same size
    with pytest.raises(ArchError) as refused:
        check(wrapped)
    assert refused.value.position == "1" and refused.value.kind == RESIDUAL
    emptied = edit.remove_layer(edit.wrap_in_residual(small, 2, 2), "2.1")
    with pytest.raises(ArchError, match="at least one layer"):
        check(emptied)
    with pytest.raises(ValueError):
        edit.wrap_in_residual(small, 3, 9)
    with pytest.raises(ValueError):
        edit.layer_at(small, "two")
