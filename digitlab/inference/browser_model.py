"""A run's model as the browser runs it while the pen moves (assets/js/forward.js).

The Draw page answers in the browser during a stroke, and the server after the pen lifts;
the two must agree. So the browser gets the very steps the numpy forward pass runs
(zoo.numpy_net.read_steps: batch norm folded, dropout gone) with their float32 weights,
not a model of its own: one JSON object whose arrays are packed into one little-endian
float32 buffer, base64-encoded (about 1.1 MB for the shipped digitnet). float16 would halve
it but moves probabilities by more than the 1e-4 the browser is held to.
"""

from __future__ import annotations

import base64
import hashlib
from typing import Any

import numpy as np

from digitlab.data.batch import AREA_28_TO_20, SMALL_INPUT
from digitlab.inference import ensemble
from digitlab.inference.predict import abstain_threshold
from digitlab.store import Run
from digitlab.zoo.numpy_net import Step, read_steps
from digitlab.zoo.registry import ENSEMBLE

FORMAT = 1  # forward.js refuses another: a page left open across an upgrade waits for the server


def model_version(run: Run) -> str:
    """The browser's name for this exact model: changes with the run's file, and carries no
    server path (the run's cache key does)."""
    return hashlib.blake2b(run.cache_key.encode(), digest_size=12).hexdigest()


def member_steps(run: Run) -> list[list[Step]]:
    """Each network's steps: one for a plain run, one per member for an ensemble.
    UnsupportedModel when a layer is one the forward passes don't run."""
    if run.model != ENSEMBLE:
        return [read_steps(run.model_file)]
    count = len(ensemble.members(run))
    return [read_steps(ensemble.member_file(run, index)) for index in range(count)]


def pack(
    members: list[list[Step]], task: str, input_size: int, abstain_below: float | None
) -> dict[str, Any]:
    """The JSON the browser loads: steps with their arrays as (offset, shape) in `weights`."""
    buffers: list[np.ndarray] = []
    offset = 0

    def place(array: np.ndarray) -> dict[str, Any]:
        nonlocal offset
        flat = np.ascontiguousarray(array, dtype="<f4").reshape(-1)
        buffers.append(flat)
        offset += flat.size
        return {"offset": offset - flat.size, "shape": list(array.shape)}

    packed_members = [
        [
            {
                "op": step.op,
                **step.settings,
                **{name: place(array) for name, array in step.arrays.items()},
            }
            for step in steps
        ]
        for steps in members
    ]
    # The tiny net reads 20x20: the same area-averaging matrix as data.batch, not a copy.
    resize = place(AREA_28_TO_20) if input_size == SMALL_INPUT else None
    weights = np.concatenate(buffers) if buffers else np.zeros(0, "<f4")
    return {
        "format": FORMAT,
        "task": task,
        "inputSize": input_size,
        "abstainBelow": abstain_below,
        "members": packed_members,
        "resize": resize,
        "weights": base64.b64encode(weights.tobytes()).decode("ascii"),
    }


def browser_model(run: Run) -> dict[str, Any]:
    """What the browser needs to answer as this run does (UnsupportedModel if it can't)."""
    spec = run.spec
    return pack(member_steps(run), spec.task, spec.input_size, abstain_threshold(run))
