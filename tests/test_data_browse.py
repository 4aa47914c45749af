"""The Data page's pure parts: sources, filtering and paging, class balance, mean images,
normalisation, the activation functions, and the ranking of a run's hard ones."""

from __future__ import annotations

import math

import numpy as np
import pytest

from digitlab.analysis import hard_examples
from digitlab.data import browse, handdrawn
from digitlab.data.mnist import load_mnist
from digitlab.data.notdigits import NOT_A_DIGIT
from digitlab.zoo import activations
from digitlab.zoo.networks import zoo_spec
from digitlab.zoo.registry import CLASSIFICATION, REGRESSION

# --- filtering and paging ------------------------------------------------------------------


def test_matching_keeps_one_digit_or_all_in_order():
    labels = np.array([3, 1, 3, 0, 3, NOT_A_DIGIT])
    assert browse.matching(labels, 3).tolist() == [0, 2, 4]
    assert browse.matching(labels, None).tolist() == [0, 1, 2, 3, 4, 5]
    assert browse.matching(labels, 7).tolist() == []


def test_pages_cover_every_index_once_and_clamp():
    indices = np.arange(100, 210)  # 110 indices: pages of 48, 48 and 14
    assert browse.page_count(len(indices), 48) == 3
    assert browse.page_count(0, 48) == 1
    pages = [browse.page_of(indices, page, 48) for page in (1, 2, 3)]
    assert [len(page) for page in pages] == [48, 48, 14]
    assert np.concatenate(pages).tolist() == indices.tolist()
    assert browse.page_of(indices, 9, 48).tolist() == pages[-1].tolist()  # past the end
    assert browse.page_of(indices, 0, 48).tolist() == pages[0].tolist()
    assert browse.page_of(np.arange(0), 1, 48).tolist() == []


# --- class balance, mean images --------------------------------------------------------------


def test_class_balance_counts_each_digit_and_the_non_digits():
    labels = np.array([0, 0, 5, 9, NOT_A_DIGIT, NOT_A_DIGIT, NOT_A_DIGIT])
    counts = browse.class_balance(labels)
    assert counts == {
        **{str(d): 0 for d in range(10)},
        "0": 2,
        "5": 1,
        "9": 1,
        "not a digit": 3,
    }
    assert "not a digit" not in browse.class_balance(np.array([1, 2]))


def test_mean_images_match_a_direct_average():
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (30, 28, 28), dtype=np.uint8)
    labels = np.array([d for d in range(9) for _ in range(3)] + [NOT_A_DIGIT] * 3)  # no 9
    means = browse.mean_images(images, labels)
    assert means.shape == (10, 28, 28)
    for digit in range(9):
        expected = sum(images[i].astype(float) for i in range(30) if labels[i] == digit) / 3
        np.testing.assert_allclose(means[digit], expected / 255, atol=1e-12)
    assert not means[9].any()  # a digit without images: blank


# --- normalisation -------------------------------------------------------------------------


def test_normalisation_steps_follow_the_formulas_and_report_their_ranges():
    image = np.zeros((28, 28), np.uint8)
    image[10:18, 12:16] = 255
    image[5, 5] = 51
    raw, unit, standard = browse.normalisation_steps(image)
    assert raw.values.dtype == np.uint8 and (raw.low, raw.high) == (0, 255)
    assert (unit.low, unit.high) == (0.0, 1.0) and unit.values[5, 5] == pytest.approx(0.2)
    mean, std = 0.1307, 0.3081
    assert standard.low == pytest.approx((0 - mean) / std)
    assert standard.high == pytest.approx((1 - mean) / std)
    assert standard.values[5, 5] == pytest.approx((51 / 255 - mean) / std)


def test_pixel_stats_match_numpy():
    images = np.random.default_rng(1).integers(0, 256, (50, 28, 28), dtype=np.uint8)
    mean, std = browse.pixel_stats(images)
    assert mean == pytest.approx(images.mean() / 255, abs=1e-12)
    assert std == pytest.approx(images.std() / 255, abs=1e-9)


def test_the_standardising_constants_are_mnists(mnist):
    mean, std = browse.pixel_stats(mnist.x_train)
    assert (round(mean, 4), round(std, 4)) == (browse.MNIST_MEAN, browse.MNIST_STD)


# --- the sources are what training reads -----------------------------------------------------


def test_the_sources_are_mnist_and_the_training_extras(mnist):
    mnist_source = browse.load_source(browse.MNIST_TRAIN)
    # MNIST's own array, not a copy (the fixture's may be an earlier load: another test
    # can clear load_mnist's cache)
    assert len(mnist_source) == 60_000 and mnist_source.images is load_mnist().x_train
    assert np.array_equal(mnist_source.images, mnist.x_train)
    pen = browse.load_source(browse.PEN_DIGITS)
    extras = handdrawn.training_extras(pen=True, not_a_digit=False)
    assert np.array_equal(pen.images, extras.images) and set(pen.labels) == set(range(10))
    not_digits = browse.load_source(browse.NOT_DIGITS)
    assert len(not_digits) == handdrawn.NOT_DIGIT_COUNTS["train"]
    assert set(not_digits.labels) == {NOT_A_DIGIT}
    # Together they are what a default-recipe run adds to MNIST.
    both = handdrawn.training_extras(pen=True, not_a_digit=True)
    assert len(both) == len(pen) + len(not_digits)
    with pytest.raises(ValueError, match="unknown source"):
        browse.load_source("emnist")


# --- activation functions ------------------------------------------------------------------


def test_activations_match_their_textbook_values():
    x = np.array([-2.0, -0.5, 0.0, 0.5, 2.0])
    f = {name: pair[0] for name, pair in activations.ACTIVATIONS.items()}
    np.testing.assert_allclose(f["relu"](x), [0, 0, 0, 0.5, 2])
    np.testing.assert_allclose(f["leaky_relu"](x), [-0.4, -0.1, 0, 0.5, 2])
    np.testing.assert_allclose(f["elu"](x), [math.exp(-2) - 1, math.exp(-0.5) - 1, 0, 0.5, 2])
    np.testing.assert_allclose(f["sigmoid"](x), [1 / (1 + math.exp(-v)) for v in x])
    np.testing.assert_allclose(f["tanh"](x), [math.tanh(v) for v in x])
    # GELU(x) = x * P(Z <= x): P(Z <= 1) = 0.8413447..., P(Z <= -1) = 0.1586553...
    np.testing.assert_allclose(f["gelu"](np.array([1.0, -1.0])), [0.8413447, -0.1586553], atol=1e-7)


def test_each_derivative_matches_a_finite_difference():
    curves = activations.curves()
    assert set(curves) == {"relu", "leaky_relu", "elu", "gelu", "sigmoid", "tanh"}
    x = np.linspace(-3.9, 3.9, 79)
    x = x[np.abs(x) > 0.05]  # away from the kinks at 0
    h = 1e-5
    for name, (f, derivative) in activations.ACTIVATIONS.items():
        numeric = (f(x + h) - f(x - h)) / (2 * h)
        np.testing.assert_allclose(derivative(x), numeric, atol=1e-6, err_msg=name)
        assert len(curves[name]["x"]) == len(curves[name]["dy"]) == 401


def test_used_activations_walk_every_layer():
    assert activations.used_activations(zoo_spec("digitnet")) == {"relu": 3}
    assert activations.used_activations(zoo_spec("cnn_bn")) == {"relu": 3}  # 2 Activation layers
    residual = {
        "input": [28, 28, 1],
        "layers": [
            {"type": "Conv2D", "filters": 8, "kernel_size": 3, "activation": "gelu"},
            {
                "type": "Residual",
                "activation": "elu",
                "layers": [{"type": "Dense", "units": 8, "activation": "tanh"}],
            },
            {"type": "Dense", "units": 10},
        ],
    }
    assert activations.used_activations(residual) == {"gelu": 1, "elu": 1, "tanh": 1}


# --- hard ones -----------------------------------------------------------------------------


def test_hard_ones_rank_mistakes_by_confidence_and_the_rest_by_doubt():
    # Image: true digit, then logits favouring a digit by a margin (bigger: surer).
    logits = np.zeros((5, 10))
    logits[0, 3] = 5.0  # a 3, right and sure
    logits[1, 7] = 1.0  # a 1 read as 7, unsure
    logits[2, 8] = 6.0  # a 2 read as 8, very sure
    logits[3, 4] = 0.1  # a 4, right but barely
    logits[4, 5] = 3.0  # a 6 read as 5
    labels = np.array([3, 1, 2, 4, 6])
    wrong = hard_examples.ranked(logits, labels, CLASSIFICATION, hard_examples.WRONG)
    assert wrong.tolist() == [2, 4, 1]
    unsure = hard_examples.ranked(logits, labels, CLASSIFICATION, hard_examples.UNSURE)
    assert unsure.tolist() == [3, 1, 4, 0, 2]
    rows = hard_examples.described(logits, labels, CLASSIFICATION, wrong)
    assert [(r.index, r.label, r.said) for r in rows] == [(2, 2, 8), (4, 6, 5), (1, 1, 7)]
    top = math.exp(6) / (math.exp(6) + 9)  # softmax of one 6 among nine 0s
    assert rows[0].confidence == pytest.approx(top) and rows[0].value is None
    with pytest.raises(ValueError):
        hard_examples.ranked(logits, labels, CLASSIFICATION, "easy")


def test_hard_ones_of_the_regression_model_go_by_distance():
    values = np.array([[2.1], [5.4], [8.6], [0.5]])
    labels = np.array([2, 4, 6, 1])
    wrong = hard_examples.ranked(values, labels, REGRESSION, hard_examples.WRONG)
    assert wrong.tolist() == [2, 1, 3]  # 2.6, 1.4 and 0.5 off
    unsure = hard_examples.ranked(values, labels, REGRESSION, hard_examples.UNSURE)
    assert unsure.tolist()[:1] == [3]  # 0.5: half-way between two digits
    (row,) = hard_examples.described(values, labels, REGRESSION, np.array([1]))
    assert (row.said, row.value, row.confidence) == (5, pytest.approx(5.4), None)
