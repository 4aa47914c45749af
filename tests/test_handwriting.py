"""Real handwriting and "not a digit": the writer split, the drawings, abstention, and the
shipped default model's figures on writers and drawings it never trained or tuned on."""

from __future__ import annotations

import functools
import json
import multiprocessing
import os
import time

import numpy as np
import pytest
from PIL import Image

from digitlab import store
from digitlab.analysis.handwriting import digit_scores
from digitlab.data import handdrawn, notdigits
from digitlab.data.batch import unit_floats
from digitlab.data.pendigits import PenDigit, rasterize
from digitlab.inference import abstention
from digitlab.inference.predict import NOT_A_DIGIT, abstain_threshold, interpret, load_predictor
from digitlab.ui.state import TEMPERATURE_KEY
from digitlab.zoo.config import ConfigError, TrainConfig
from digitlab.zoo.registry import CLASSIFICATION, DEFAULT_MODEL

from helpers import metric, new_app, run_cli

# Floors a little below what the shipped default measured (see the README's Real handwriting).
HELD_OUT_ACCURACY_FLOOR = 0.988  # measured 0.993
PAPER_ACCURACY_FLOOR = 0.988  # measured 0.993
EACH_DIGIT_FLOOR = 0.97  # measured 0.983 (the 3) to 1, as drawn on the canvas
DIGIT_ABSTENTION_CEILING = 0.012  # measured 0.002; the issue allows 0.015
NOT_DIGIT_ABSTENTION_FLOOR = 0.97  # measured 0.990 (lines, dots, ticks, crosses included)
KIND_ABSTENTION_FLOOR = 0.85  # of each of a line, a dot, a tick, a cross, an "a": 0.93-1


def test_the_writer_groups_are_disjoint_and_cover_every_writer():
    groups = [
        set(handdrawn.TRAIN_WRITERS),
        set(handdrawn.TUNE_WRITERS),
        set(handdrawn.TEST_WRITERS),
    ]
    assert sum(len(g) for g in groups) == 30
    assert set().union(*groups) == set(range(1, 31))
    assert len(handdrawn.TEST_WRITERS) == 10


def test_each_group_holds_only_its_writers():
    for group, writers in handdrawn.GROUPS.items():
        digits = handdrawn.writer_digits(group)
        assert {d.writer for d in digits} == set(writers)
    test = handdrawn.pen_digits("test")
    assert set(np.unique(test.writers)) == set(handdrawn.TEST_WRITERS)
    assert test.images.shape == (len(test), 28, 28) and test.images.dtype == np.uint8
    assert set(np.unique(test.labels)) == set(range(10))


def test_not_digit_drawings_are_repeatable_and_of_every_kind():
    digits = handdrawn.writer_digits("train")[:50]
    first = notdigits.synthetic(40, digits, seed=5)
    again = notdigits.synthetic(40, digits, seed=5)
    other = notdigits.synthetic(40, digits, seed=6)
    assert all(d.label == notdigits.NOT_A_DIGIT for d in first)
    assert all(
        np.array_equal(a, b)
        for x, y in zip(first, again, strict=True)
        for a, b in zip(x.strokes, y.strokes, strict=True)
    )
    assert not np.array_equal(first[0].strokes[0], other[0].strokes[0])
    # Letters that honestly pass for a digit are never drawn as "not a digit".
    assert not set("OoIlSsZzBgq") & set(notdigits.LETTERS)
    for drawing in first:
        canvas = rasterize(drawing)
        assert canvas.shape == (280, 280, 4) and canvas[..., 3].max() == 255


def test_lone_lines_dots_ticks_and_crosses_are_among_the_not_digits():
    rng = np.random.default_rng(0)
    for _ in range(200):
        (stroke,) = notdigits.line(rng).strokes
        dx, dy = np.abs(stroke[-1] - stroke[0])
        assert np.degrees(np.arctan2(dy, dx)) < 75  # never near-vertical: that is a 1
    # A tap of the pen: the app scales its disk up to fill the box, ink to the middle.
    (dot,) = handdrawn.as_canvas_drawings([notdigits.dot()]).images
    assert dot[10:18, 10:18].min() == 255 and dot.mean() > 60
    assert {"tick", "cross"} <= set(notdigits.shape_names())
    drawings = notdigits.synthetic(400, handdrawn.writer_digits("train")[:50], seed=0)
    taps = [d for d in drawings if len(d.strokes) == 1 and len(d.strokes[0]) == 1]
    assert len(taps) >= 3


def test_some_letters_come_in_two_forms():
    """A p, an h or an n in one stroke beside the same letter in two: both forms are
    drawn, about as often (an X has one form)."""
    rng = np.random.default_rng(0)
    for name, forms in (("p", {1, 2}), ("h", {1, 2}), ("n", {1, 2}), ("X", {2})):
        counts = [len(notdigits.letter(name, rng).strokes) for _ in range(200)]
        assert set(counts) == forms, name
        if len(forms) == 2:
            assert 0.3 < np.mean(np.array(counts) == min(forms)) < 0.7, name


def test_a_drawings_cache_is_written_once_and_read_back(tmp_path, monkeypatch):
    monkeypatch.setenv(handdrawn.CACHE_ENV, str(tmp_path))
    built = handdrawn.pen_digits("tune")
    files = list(tmp_path.glob("drawings-*pen-tune-alpha*.npz"))
    assert len(files) == 1
    (tmp_path / "marker").write_text("")
    again = handdrawn.pen_digits("tune")
    assert np.array_equal(built.images, again.images)
    assert list(tmp_path.glob("drawings-*.npz")) == files  # read, not built again
    files[0].write_bytes(b"not an npz")  # a damaged cache is rebuilt, not trusted
    assert np.array_equal(handdrawn.pen_digits("tune").images, built.images)


def _build_counted(counter_path: str) -> handdrawn.Drawings:
    """A set that takes a second to build and notes each build in a file."""
    with open(counter_path, "a") as counter:
        counter.write("built\n")
    time.sleep(1.0)
    return handdrawn.Drawings(np.zeros((1, 28, 28), np.uint8), np.zeros(1), np.zeros(1))


def _ask_for_the_set(cache: str, counter_path: str) -> None:
    os.environ[handdrawn.CACHE_ENV] = cache
    handdrawn.cached_drawings("shared", functools.partial(_build_counted, counter_path))


def test_processes_asking_for_one_set_at_once_build_it_once(tmp_path):
    """Two test workers (or two first training jobs) wanting the same drawings: one builds,
    the other waits for its file."""
    counter = tmp_path / "builds.txt"
    context = multiprocessing.get_context("fork")
    askers = [
        context.Process(target=_ask_for_the_set, args=(str(tmp_path), str(counter)))
        for _ in range(3)
    ]
    for asker in askers:
        asker.start()
    for asker in askers:
        asker.join(timeout=30)
        assert asker.exitcode == 0
    assert counter.read_text().splitlines() == ["built"]
    assert len(list(tmp_path.glob("drawings-*shared*.npz"))) == 1


def test_training_extras_follow_the_config_and_its_share():
    none = handdrawn.training_extras(False, False)
    assert len(none) == 0
    full = handdrawn.training_extras(True, True)
    assert (full.labels == notdigits.NOT_A_DIGIT).sum() == handdrawn.NOT_DIGIT_COUNTS["train"]
    assert set(np.unique(full.writers[full.writers >= 0])) <= set(handdrawn.TRAIN_WRITERS)
    part = handdrawn.training_extras(True, True, share=0.1)
    assert len(part) == round(len(full) * 0.1)


def test_the_threshold_lets_the_chosen_share_of_digits_abstain():
    rng = np.random.default_rng(0)
    logits = rng.normal(0, 3, (1000, 10))
    threshold = abstention.choose_threshold(logits, 0.02)
    assert abstention.abstains(logits, threshold).mean() == pytest.approx(0.02, abs=0.002)
    assert not abstention.abstains(logits, None).any()


def test_temperature_never_changes_whether_it_abstains():
    unsure = np.array([1.0, 0.9, 0.8, 0, 0, 0, 0, 0, 0, 0])
    sure = np.array([9.0, 0, 0, 0, 0, 0, 0, 0, 0, 0])
    threshold = 0.5
    for temperature in (0.1, 0.5, 1.0, 3.0, 10.0):
        maybe = interpret(unsure, CLASSIFICATION, temperature, threshold)
        assert maybe.abstained and maybe.reason == NOT_A_DIGIT and maybe.label is None
        assert maybe.probabilities is not None and maybe.best_guess == 0
        assert not interpret(sure, CLASSIFICATION, temperature, threshold).abstained
    assert maybe.to_json()["reason"] == "not a digit"


def test_not_digits_needs_a_classifier():
    with pytest.raises(ConfigError, match="classifier"):
        TrainConfig(model="regression", not_digits=True)


# --- the shipped default model on held-out handwriting ----------------------------------------


@pytest.fixture(scope="module")
def default_predictor():
    run = store.shipped_run(DEFAULT_MODEL)
    assert abstain_threshold(run) is not None, "the shipped default learnt to abstain"
    return load_predictor(run)


def _logits(predictor, images: np.ndarray) -> np.ndarray:
    return np.array([predictor.raw_outputs(image) for image in unit_floats(images)])


def test_the_default_model_reads_unseen_writers_in_both_styles(default_predictor):
    threshold = default_predictor.abstain_below
    for style, floor in (
        (handdrawn.ALPHA, HELD_OUT_ACCURACY_FLOOR),
        (handdrawn.PAPER, PAPER_ACCURACY_FLOOR),
    ):
        test = handdrawn.pen_digits("test", style)
        scores = digit_scores(_logits(default_predictor, test.images), test.labels, threshold)
        assert scores["accuracy"] >= floor, (style, scores)
        assert scores["abstained"] <= DIGIT_ABSTENTION_CEILING, (style, scores)
        if style == handdrawn.ALPHA:  # no digit is given up for the others' sake
            assert min(scores["per_class"]) >= EACH_DIGIT_FLOOR, (style, scores["per_class"])


def test_the_default_model_abstains_on_drawings_that_are_not_digits(default_predictor):
    negatives = handdrawn.not_digits("test")  # letters, scribbles, shapes, pairs: never seen
    logits = _logits(default_predictor, negatives.images)
    rate = abstention.abstains(logits, default_predictor.abstain_below).mean()
    assert rate >= NOT_DIGIT_ABSTENTION_FLOOR


def test_the_default_model_refuses_a_lone_line_a_dot_a_tick_a_cross_and_an_a(default_predictor):
    rng = np.random.default_rng(2026)  # none of the generator's seeds: drawings never seen
    kinds = {
        "a": [notdigits.letter("a", rng) for _ in range(30)],
        "line": [notdigits.line(rng) for _ in range(30)],
        "dot": [notdigits.dot()],
        "tick": [notdigits.shape("tick", rng) for _ in range(30)],
        "cross": [notdigits.shape("cross", rng) for _ in range(30)],
    }
    for kind, drawings in kinds.items():
        logits = _logits(default_predictor, handdrawn.as_canvas_drawings(drawings).images)
        refused = abstention.abstains(logits, default_predictor.abstain_below).mean()
        assert refused >= KIND_ABSTENTION_FLOOR, (kind, refused)


def test_predict_json_says_why_it_abstains(tmp_path, private_store):
    letter = notdigits.letter("K", np.random.default_rng(3))
    path = tmp_path / "k.png"
    Image.fromarray(rasterize(letter)).save(path)
    seven = [np.array([[0, 10], [10, 10], [4, 0]], np.float32)]
    seven_path = tmp_path / "seven.png"
    Image.fromarray(rasterize(PenDigit(7, 0, tuple(seven)))).save(seven_path)
    done = run_cli("predict", "--json", str(path), str(seven_path), store=private_store)
    assert done.returncode == 0, done.stderr
    k, seven_line = (json.loads(line) for line in done.stdout.splitlines())
    assert k["abstained"] is True and k["reason"] == "not a digit" and k["label"] is None
    assert len(k["probabilities"]) == 10  # still there: a learner can see why
    assert seven_line["abstained"] is False and seven_line["label"] == 7


def test_the_draw_page_says_not_a_digit_and_keeps_the_probabilities(mnist):
    letter = rasterize(notdigits.letter("M", np.random.default_rng(4)))
    app = new_app(DEFAULT_MODEL, letter).run()
    assert not app.exception
    assert metric(app, "Prediction") == "?"  # not "—", which means nothing drawn
    assert any("doesn't look like a single digit" in info.value for info in app.info)
    charts = {chart.key for chart in app.get("plotly_chart")}
    assert "probabilities" in charts  # the ten probabilities, still shown
    # The temperature changes the bars, never the decision.
    app.select_slider(key=TEMPERATURE_KEY).set_value(0.1).run()
    assert metric(app, "Prediction") == "?"
