"""The shipped models: one for every zoo entry, loadable, and as accurate as recorded."""

import json

import pytest

from digitlab import store
from digitlab.analysis.evaluate import HANDWRITING
from digitlab.data.batch import downscale_to_20
from digitlab.inference.metrics import score_on_test_set
from digitlab.zoo.builders import build_model
from digitlab.zoo.registry import CLASSIFICATION, DEFAULT_MODEL, ZOO


@pytest.mark.parametrize("name", list(ZOO))
def test_every_zoo_model_is_shipped_with_its_metrics(name):
    entry = store.shipped_run(name)
    assert entry is not None, f"assets/models/{name} is missing or incomplete"
    assert entry.config.model == name
    assert 0.0 < entry.metrics["accuracy"] <= 1.0
    assert entry.history.get("loss"), "the training curves are recorded"
    model = entry.load()
    assert model.count_params() == build_model(name).count_params()
    if entry.spec.task == CLASSIFICATION:  # so its first evaluation draws no held-out digits
        shipped = json.loads((entry.path / "evaluation.json").read_text(encoding="utf-8"))
        assert shipped["saved_at"] == entry.created_at
        assert shipped[HANDWRITING]["count"] == 2498
        assert 0.5 < shipped[HANDWRITING]["accuracy"] <= 1


def test_the_default_model_reproduces_its_recorded_test_accuracy(mnist):
    entry = store.shipped_run(DEFAULT_MODEL)
    spec = ZOO[DEFAULT_MODEL]
    images = mnist.x_test.astype("float32") / 255.0
    if spec.input_size == 20:
        images = downscale_to_20(mnist.x_test)
    measured = score_on_test_set(entry.load(), spec, images[..., None], mnist.y_test)
    assert measured["accuracy"] == pytest.approx(entry.metrics["accuracy"], abs=1e-4)
    assert measured["accuracy"] >= 0.99
