"""Temperature softmax, entropy, abstention and the direct model call."""

import logging
import math

import numpy as np
import pytest

from digitlab import store
from digitlab.inference.predict import Predictor, interpret
from digitlab.inference.softmax import entropy_bits, softmax
from digitlab.zoo.builders import build_model
from digitlab.zoo.registry import CLASSIFICATION, REGRESSION, ZOO


def direct_softmax(logits, temperature):
    """The textbook formula, with no numerical care: the oracle for moderate logits."""
    exps = [math.exp(value / temperature) for value in logits]
    return [value / sum(exps) for value in exps]


LOGITS = np.array([1.5, -0.3, 4.0, 0.0, 2.2, -1.0, 0.7, 3.1, -2.5, 0.2])


@pytest.mark.parametrize("temperature", [0.5, 1.0, 2.0, 7.3])
def test_softmax_matches_the_direct_formula(temperature):
    np.testing.assert_allclose(
        softmax(LOGITS, temperature), direct_softmax(LOGITS, temperature), rtol=1e-12
    )


def test_low_temperature_tends_to_one_hot_and_high_to_uniform():
    cold = softmax(LOGITS, 1e-3)
    assert cold.argmax() == 2 and cold[2] == pytest.approx(1.0)
    hot = softmax(LOGITS, 1e4)
    np.testing.assert_allclose(hot, np.full(10, 0.1), atol=1e-3)


def test_softmax_is_stable_for_huge_logits():
    probabilities = softmax(np.array([1000.0, 999.0, -1000.0]), 0.1)
    assert np.isfinite(probabilities).all() and probabilities.sum() == pytest.approx(1.0)


def test_temperature_never_changes_the_ranking():
    for temperature in (0.1, 1.0, 10.0):
        assert (np.argsort(softmax(LOGITS, temperature)) == np.argsort(LOGITS)).all()


def test_entropy_in_bits():
    assert entropy_bits(np.eye(10)[3]) == 0.0
    assert entropy_bits(np.full(10, 0.1)) == pytest.approx(math.log2(10))
    assert entropy_bits(np.array([0.5, 0.5])) == pytest.approx(1.0)


def test_interpret_classification_and_regression():
    prediction = interpret(LOGITS, CLASSIFICATION, 1.0)
    assert prediction.label == 2 and not prediction.abstained
    assert prediction.confidence == pytest.approx(max(direct_softmax(LOGITS, 1.0)))
    number = interpret(np.array([6.7]), REGRESSION)
    assert number.label == 7 and number.value == pytest.approx(6.7)
    assert interpret(np.array([12.0]), REGRESSION).label == 9


@pytest.mark.parametrize("name", ["mlp_small", "tiny20"])
def test_predictor_gives_the_models_own_outputs(name):
    spec = ZOO[name]
    model = build_model(spec.name)
    predictor = Predictor(model, spec)
    image = np.random.default_rng(0).random((28, 28)).astype(np.float32)
    if spec.input_size == 20:
        from digitlab.data.batch import downscale_to_20

        expected = np.asarray(model(downscale_to_20(image)[None, ..., None]))[0]
    else:
        expected = np.asarray(model(image[None, ..., None]))[0]
    np.testing.assert_allclose(predictor.raw_outputs(image), expected, rtol=1e-5, atol=1e-6)


def test_blank_canvas_abstains_with_a_message():
    spec = ZOO["mlp_small"]
    predictor = Predictor(build_model(spec.name), spec)
    prediction = predictor.predict_image(np.zeros((280, 280, 4), np.uint8))
    assert prediction.abstained and prediction.label is None
    assert "Draw a digit" in prediction.message
    assert prediction.to_json() == {
        "label": None,
        "probabilities": None,
        "abstained": True,
        "reason": "blank",
    }


def test_keras_predictors_loaded_in_a_row_never_warn_of_retracing(caplog):
    """Each is traced once; TensorFlow counted their traces together and warned."""
    image = np.random.default_rng(0).random((28, 28)).astype(np.float32)
    with caplog.at_level(logging.WARNING, logger="tensorflow"):
        for name in ZOO:  # every model, each answering once, as the side-by-side view does
            run = store.shipped_run(name)
            Predictor(run.load(), run.spec).raw_outputs(image)
    assert not [r for r in caplog.records if "retracing" in r.getMessage()]
