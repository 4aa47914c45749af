"""Fine-tuning on a session's drawings, through the job queue and its child process.

The drawings are real pen-written digits by held-out pendigits writers (writers no shipped
model trained on), each drawn as the canvas draws it but with a strong backward slant:
every stroke sheared by x' = x - 1.2 y, about 50 degrees to the left. Neither MNIST nor the
pen digits the shipped digitnet learnt from lean like that, and it misreads about a third of
them. 30 such drawings are saved for one session; fine-tuning must raise the accuracy on
the 10 it holds out, and on 400 more slanted digits it never saw, while the MNIST test
accuracy moves by less than 0.3 points.
"""

from __future__ import annotations

import time

import numpy as np
import pytest

from digitlab import store
from digitlab.data import handdrawn
from digitlab.data.pendigits import PenDigit, sample_balanced
from digitlab.store import drawings
from digitlab.training import finetune
from digitlab.training.job import DONE, FAILED
from digitlab.training.jobs import JobQueue
from digitlab.training.runners import ProcessRunner
from digitlab.zoo import numpy_net

SLANT = -1.2  # x' = x + SLANT * y, y pointing up: a strong backward lean
SAVED = 30  # drawings saved by the session (10 of them are held out)
UNSEEN = 400  # more slanted digits, by the same held-out writers, for a steadier figure
MAX_MNIST_DROP = 0.003  # 0.3 points
OWNER = "session-that-leans-left"


def slanted(digit: PenDigit) -> PenDigit:
    shear = np.array([[1, 0], [SLANT, 1]], np.float32)
    return PenDigit(digit.label, digit.writer, tuple(stroke @ shear for stroke in digit.strokes))


@pytest.fixture(scope="module")
def slanted_sets() -> tuple[handdrawn.Drawings, handdrawn.Drawings]:
    """30 slanted digits to save (3 of each), and 400 others to measure on."""
    try:
        digits = handdrawn.writer_digits("test")
    except handdrawn.NoPenDigits as error:
        pytest.skip(str(error))
    saved = sample_balanced(digits, SAVED // 10, seed=1)
    chosen = {id(digit) for digit in saved}
    rest = [digit for digit in digits if id(digit) not in chosen]
    unseen = [rest[i] for i in np.random.default_rng(2).permutation(len(rest))[:UNSEEN]]
    draw = handdrawn.as_canvas_drawings
    return draw([slanted(d) for d in saved]), draw([slanted(d) for d in unseen])


def accuracy(run: store.Run, drawn: handdrawn.Drawings) -> float:
    """The run's accuracy on drawings, by its numpy forward pass (no TensorFlow here)."""
    net = numpy_net.load(run.model_file)
    outputs = net(drawn.images.astype(np.float32)[..., None] / 255)
    return float(np.mean(np.argmax(outputs, axis=-1) == drawn.labels))


def wait(job, timeout_s: float = 240) -> None:
    deadline = time.monotonic() + timeout_s
    while not job.finished and time.monotonic() < deadline:
        time.sleep(0.2)
    assert job.finished, f"the fine-tune did not finish in {timeout_s} s: {job.snapshot()}"


@pytest.mark.slow
def test_fine_tuning_learns_a_slant_and_keeps_mnist(private_store, mnist, slanted_sets):
    mine, unseen = slanted_sets
    for image, label in zip(mine.images, mine.labels, strict=True):
        drawings.save(image, int(label), OWNER, run_id="digitnet")
    drawings.save(mine.images[0], 1, "another-session")  # not this session's: never used
    base = store.shipped_run("digitnet")

    queue = JobQueue(private_store, workers=1, runner=ProcessRunner())
    started = time.perf_counter()
    job = queue.submit(base.config, owner=OWNER, fine_tune={"base_run": base.id})
    wait(job)
    seconds = time.perf_counter() - started
    assert job.status == DONE, job.message
    assert job.epochs, "no progress was streamed"
    run = job.run
    metrics = run.metrics
    assert run.owner == OWNER and run.model == "digitnet"
    assert run.config.fine_tune and run.config != base.config  # never the cache of a retrain
    assert metrics["fine_tuned_from"] == "digitnet"
    assert (metrics["train_drawings"], metrics["held_out_drawings"]) == (20, 10)

    unseen_before, unseen_after = accuracy(base, unseen), accuracy(run, unseen)
    print(
        f"\nfine-tune on {SAVED} slanted drawings in {seconds:.1f} s: held-out "
        f"{metrics['held_out_before']:.0%} -> {metrics['held_out_after']:.0%}, "
        f"{UNSEEN} unseen slanted {unseen_before:.2%} -> {unseen_after:.2%}, "
        f"MNIST test {metrics['mnist_before']:.2%} -> {metrics['mnist_after']:.2%}"
    )
    assert metrics["held_out_after"] > metrics["held_out_before"]
    assert unseen_after > unseen_before + 0.10
    assert abs(metrics["mnist_after"] - metrics["mnist_before"]) < MAX_MNIST_DROP
    assert metrics["mnist_after"] == metrics["accuracy"]
    assert abs(metrics["mnist_before"] - base.accuracy) < 1e-4  # measured as when shipped
    assert "abstain_below" in metrics  # it still says "not a digit", with a new threshold

    # The same drawings on the same run: the stored fine-tune, at once.
    again = queue.submit(base.config, owner=OWNER, fine_tune={"base_run": base.id})
    wait(again, 60)
    assert again.status == DONE and again.run.id == run.id


def test_too_few_drawings_fail_with_a_reason(private_store):
    for label in range(finetune.MIN_DRAWINGS - 1):
        drawings.save(np.zeros((28, 28), np.uint8), label, OWNER)
    queue = JobQueue(private_store, workers=1, runner=ProcessRunner())
    job = queue.submit(
        store.shipped_run("digitnet").config, owner=OWNER, fine_tune={"base_run": "digitnet"}
    )
    wait(job, 120)
    assert job.status == FAILED
    assert f"at least {finetune.MIN_DRAWINGS}" in job.message


def test_the_split_is_seeded_and_covers_every_drawing():
    found = [drawings.save(np.zeros((28, 28), np.uint8), i % 10, OWNER) for i in range(30)]
    first = finetune.split_drawings(found, 1 / 3, seed=0)
    again = finetune.split_drawings(list(reversed(found)), 1 / 3, seed=0)
    assert [d.id for d in first.held_out] == [d.id for d in again.held_out]
    assert len(first.held_out) == 10 and len(first.train) == 20
    assert {d.id for d in first.train} | {d.id for d in first.held_out} == {d.id for d in found}


def test_not_a_digit_drawings_are_used_only_by_a_model_that_abstains():
    digit = drawings.save(np.zeros((28, 28), np.uint8), 3, OWNER)
    scribble = drawings.save(np.zeros((28, 28), np.uint8), drawings.NOT_A_DIGIT, OWNER)
    shipped = store.shipped_run("digitnet").config  # learnt "not a digit"
    assert [d.id for d in finetune.usable([digit, scribble], shipped)] == [digit.id, scribble.id]
    plain = shipped.replace(not_digits=False)
    assert [d.id for d in finetune.usable([digit, scribble], plain)] == [digit.id]
