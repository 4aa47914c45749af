"""Ensembles: made from real shipped runs, checked against their members' mean probability,
exported, served by the predictor and the HTTP API, shown on the Draw and Evaluate pages."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import requests
from PIL import Image

from digitlab import store
from digitlab.analysis import export
from digitlab.inference import ensemble
from digitlab.inference.browser_model import browser_model
from digitlab.inference.predict import interpret, load_predictor
from digitlab.inference.softmax import softmax
from digitlab.training import ensembles
from digitlab.ui.draw import MEMBERS_KEY
from digitlab.ui.state import INJECTED_IMAGE, MODEL_KEY
from digitlab.zoo.numpy_net import read_steps
from digitlab.zoo.registry import CLASSIFICATION, DEFAULT_MODEL, ENSEMBLE

from helpers import (
    PAGES,
    api_server,
    cli,
    drawn_seven,
    metric,
    new_app,
    run_cli,
)

MEMBERS = ["mlp_small", "cnn_small"]


@pytest.fixture(scope="module")
def made(mnist, tmp_path_factory: pytest.TempPathFactory):
    """An ensemble of two shipped runs, in a store of this module's own."""
    root = tmp_path_factory.mktemp("ensemble-store")
    return root, ensembles.make_ensemble(MEMBERS, root=root)


def members_probabilities(images: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    """The oracle: each member run loaded on its own, softmax at T, then the plain mean."""
    each = [
        softmax(np.asarray(store.shipped_run(name).load()(images, training=False)), temperature)
        for name in MEMBERS
    ]
    return np.mean(each, axis=0)


def test_unsuitable_members_are_refused_in_words():
    shipped = store.shipped_run
    refused = {
        ("mlp",): "needs 2 to 5 runs; 1 were given",
        ("mlp", "cnn", "cnn_small", "cnn_bn", "mlp_small", "digitnet"): "6 were given",
        ("mlp", "mlp"): "once",
        ("mlp", "regression"): "predicts a number",
        ("mlp", "tiny20"): "reads 20x20 images",
    }
    for names, message in refused.items():
        with pytest.raises(ensemble.EnsembleError, match=message):
            ensemble.check_members([shipped(name) for name in names])


def test_the_ensemble_answers_with_its_members_mean_probability(made, mnist):
    root, run = made
    assert run.model == ENSEMBLE and run.spec.task == CLASSIFICATION
    images = (mnist.x_test[:200] / np.float32(255))[..., None]
    pooled = np.asarray(run.load()(images, training=False))  # the stored Keras model
    np.testing.assert_allclose(softmax(pooled), members_probabilities(images), atol=1e-5)

    predictor = load_predictor(run)  # the drawing path: each member in numpy
    for temperature in (1.0, 2.5):
        expected = members_probabilities(images[:5], temperature)
        for image, probabilities in zip(images[:5, :, :, 0], expected, strict=True):
            member_logits = predictor.raw_outputs(image)
            assert member_logits.shape == (2, 10)
            answer = interpret(member_logits, CLASSIFICATION, temperature)
            np.testing.assert_allclose(answer.probabilities, probabilities, atol=1e-5)


def test_its_record_holds_its_and_each_members_accuracy(made, mnist):
    root, run = made
    labels = mnist.y_test
    images = (mnist.x_test / np.float32(255))[..., None]
    expected = (members_probabilities(images).argmax(axis=1) == labels).mean()
    assert run.accuracy == pytest.approx(expected, abs=1e-4)
    recorded = {m["id"]: m["accuracy"] for m in ensemble.members(run)}
    assert list(recorded) == MEMBERS
    for name, accuracy in recorded.items():
        assert accuracy == pytest.approx(store.shipped_run(name).accuracy, abs=1e-4)
    assert 0.9 < run.metrics["all_agree"] <= 1.0
    assert "abstain_below" not in run.metrics  # neither member learnt to abstain
    assert [r.id for r in store.list_runs(ENSEMBLE, root=root)] == [run.id]


def test_it_stands_alone_from_its_members_files(made):
    _, run = made
    for index, name in enumerate(MEMBERS):
        copy = ensemble.member_file(run, index)
        assert copy.read_bytes() == store.shipped_run(name).model_file.read_bytes()


def test_the_browser_gets_each_members_steps_for_the_live_answer(made):
    """The Draw page's live answer runs every member, as the numpy pass does."""
    _, run = made
    packed = browser_model(run)
    assert len(packed["members"]) == len(MEMBERS)
    for index, steps in enumerate(packed["members"]):
        expected = read_steps(store.shipped_run(MEMBERS[index]).model_file)
        assert [step["op"] for step in steps] == [step.op for step in expected]


def test_it_exports_as_one_file_that_agrees(made, mnist, tmp_path: Path, monkeypatch):
    root, run = made
    monkeypatch.setenv("DIGITLAB_STORE_DIR", str(root))  # the export child reads this store
    images = mnist.x_test[:300] / np.float32(255)
    expected = members_probabilities(images[..., None])
    tflite = export.export_model(run, "tflite", tmp_path / "ensemble.tflite")
    predictor = export.TFLitePredictor(tflite, run.spec)
    answered = np.array([softmax(predictor.raw_outputs(image)) for image in images])
    np.testing.assert_allclose(answered, expected, atol=1e-4)
    assert (answered.argmax(1) == expected.argmax(1)).all()

    import tensorflow as tf

    saved = export.export_model(run, "savedmodel", tmp_path / "savedmodel")
    signature = tf.saved_model.load(str(saved)).signatures["serving_default"]
    probabilities = signature(images=tf.constant(images))["probabilities"].numpy()
    np.testing.assert_allclose(probabilities, expected, atol=1e-5)

    # ONNX in this process (the file is the same; a child would only add seconds).
    onnx_file = export.write_format(run, "onnx", tmp_path / "ensemble.onnx")
    onnx_probabilities = export.OnnxPredictor(onnx_file, run.spec).outputs(images)
    np.testing.assert_allclose(softmax(onnx_probabilities), expected, atol=1e-5)


def test_the_cli_makes_lists_and_refuses(tmp_path: Path):
    made = cli("ensemble", "mlp_small", "mlp", "--json", store=tmp_path)
    assert made.returncode == 0, made.stderr
    row = json.loads(made.stdout)
    assert row["model"] == ENSEMBLE and [m["id"] for m in row["members"]] == ["mlp_small", "mlp"]
    listed = cli("runs", "list", "--model", ENSEMBLE, "--json", store=tmp_path)
    assert [r["id"] for r in json.loads(listed.stdout)] == [row["id"]]
    refused = cli("ensemble", "mlp", "regression", store=tmp_path)
    assert refused.returncode == 1 and "predicts a number" in refused.stderr
    none_yet = run_cli("predict", "--model", ENSEMBLE, "x.png", store=tmp_path / "empty")
    assert none_yet.returncode == 1 and "No ensemble yet" in none_yet.stderr


def test_the_pages_show_the_members(made, monkeypatch):
    root, run = made
    monkeypatch.setenv("DIGITLAB_STORE_DIR", str(root))
    app = new_app(ENSEMBLE, drawn_seven())
    app.session_state["session_owner"] = "ensembler"  # a workspace would start from its own
    app.session_state[f"run_for_{ENSEMBLE}"] = run.id
    app.session_state[MEMBERS_KEY] = True  # "Each member's answer" opened: its table is built
    app.run()
    assert not app.exception
    assert metric(app, "Prediction") == "7"
    agreement = next(c.value for c in app.caption if "members say" in c.value)
    assert agreement.startswith("2 of 2 members say 7")
    members_table = app.dataframe[-1].value
    assert list(members_table["says"]) == [7, 7]

    # The first evaluation on a fresh machine also draws the held-out pen digits (minutes).
    app.switch_page(PAGES["evaluate"]).run(timeout=600)
    assert not app.exception
    table = next(df.value for df in app.dataframe if "run" in df.value.columns)
    assert list(table["run"]) == [run.id, *MEMBERS]


def test_a_session_without_an_ensemble_is_told_how_to_make_one():
    app = new_app(ENSEMBLE).run()
    assert not app.exception
    assert "No ensemble yet" in app.error[0].value


def test_the_api_answers_with_an_ensemble(made, mnist, tmp_path: Path):
    root, run = made
    image = tmp_path / "seven.png"
    Image.fromarray(mnist.x_test[0]).save(image)
    with api_server(root) as base, image.open("rb") as file:
        answer = requests.post(
            f"{base}/predict", params={"run": run.id}, files={"file": file}, timeout=60
        ).json()
    assert answer["label"] == 7
    expected = members_probabilities((mnist.x_test[:1] / np.float32(255))[..., None])[0]
    np.testing.assert_allclose(answer["probabilities"], expected, atol=1e-3)


def test_the_runs_page_makes_one_that_then_answers_this_session(private_store):
    app = new_app()
    app.switch_page(PAGES["runs"]).run()
    app.multiselect(key="ensemble_members").set_value(MEMBERS).run()
    app.button(key="make_ensemble").click().run(timeout=300)  # made in a child process
    assert not app.exception
    made = next(s.value for s in app.success if "Made ensemble run" in s.value)
    assert made.startswith("Made ensemble run 1:") and "It answers your drawings now" in made
    [run] = store.list_runs(ENSEMBLE, root=private_store)
    assert run.owner is not None and [m["id"] for m in ensemble.members(run)] == MEMBERS

    app.session_state[INJECTED_IMAGE] = drawn_seven()
    app.switch_page(PAGES["draw"]).run()
    assert any("members say" in c.value for c in app.caption)  # the ensemble answers here
    assert new_app(ENSEMBLE).run().error  # and no other session has it

    # Back goes to a model that answers, and choosing "ensemble" again finds this one.
    app.button(key="back_to_shipped").click().run()
    assert not app.error and app.selectbox(key=MODEL_KEY).value == DEFAULT_MODEL
    assert any(": shipped" in c.value for c in app.caption if "Answered by" in c.value)
    app.selectbox(key=MODEL_KEY).set_value(ENSEMBLE).run()
    assert not app.error and any("members say" in c.value for c in app.caption)
    assert app.selectbox(key=f"version_{ENSEMBLE}").value == run.id
