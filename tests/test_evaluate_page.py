"""The Evaluate page and the Draw page's explanations under AppTest."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from digitlab import store
from digitlab.analysis.evaluate import evaluate_run
from digitlab.data.pendigits import PENDIGITS_ENV
from digitlab.ui import explain as explain_ui
from digitlab.ui.explain import VIEWS
from digitlab.ui.temperature import DEFAULT_TEMPERATURE, nearest_stop

from helpers import TINY, drawn_seven, open_page
from helpers import new_app as unstarted_app


def new_app(model: str, drawing=None) -> AppTest:
    return unstarted_app(model, drawing).run()


def metrics(app: AppTest) -> dict[str, str]:
    return {metric.label: metric.value for metric in app.metric}


# --- the Evaluate page ---------------------------------------------------------------------


def test_the_evaluate_page_shows_a_classifier(mnist):
    app = open_page(new_app("cnn"), "evaluate")
    assert not app.exception
    assert app.title[0].value == "Evaluate a model"
    assert app.selectbox(key="evaluate_model_name").value == "cnn"  # the Draw page's model
    shown = metrics(app)
    assert {"Accuracy", "Loss", "ECE", "ECE calibrated", "Fitted temperature"} <= shown.keys()
    # Confusion matrix, two reliability diagrams, loss and accuracy curves.
    assert len(app.get("plotly_chart")) == 5
    # Per-class scores on MNIST; then real handwriting per class, per writer, confusions.
    assert len(app.dataframe) == 4
    assert app.subheader.values[-2:] == ["Real handwriting", "Training curves"]
    held_out = metrics(app)
    assert {"Right, as drawn", "Right, ink on paper", "Abstained on non-digits"} <= held_out.keys()
    assert any("misread" in caption.value.lower() for caption in app.caption)

    app.selectbox(key="gallery_true_cnn").set_value(4)
    app.selectbox(key="gallery_predicted_cnn").set_value(9).run()
    assert not app.exception
    assert any("of a 4 predicted as 9" in caption.value for caption in app.caption)

    app.toggle(key="grid_mistakes_only").set_value(True).run()
    assert not app.exception
    assert sum("true" in markdown.value for markdown in app.markdown) == 25  # all wrong


def test_the_evaluate_page_shows_each_way_of_writing_and_the_worst_ones_misreads(mnist):
    from digitlab.data import devices, styles

    app = open_page(new_app("digitnet"), "evaluate")  # shipped with its per-style figures
    assert not app.exception
    tables = {t.value.columns[0]: t.value for t in app.dataframe}
    by_style, by_device = tables["style"], tables["device"]
    assert list(by_style["style"]) == [s.name for s in styles.MADE]
    assert len(by_device) == len(devices.DEVICES) + 1  # and the digits as written
    assert {"right", "refused", "misread most as"} <= set(by_style.columns)
    assert by_style["right"].between(0, 1).all() and by_style["refused"].between(0, 1).all()
    worst = by_style.loc[by_style["right"].idxmin(), "style"]
    assert any(f"Read worst: {worst}." in caption.value for caption in app.caption)
    # Its gallery (up to 24 of its digits not read right) after the pen digits' misreads.
    misread = evaluate_run(store.shipped_run("digitnet")).summary["handwriting"]["misread"]
    galleries = [i for i in app.image if any("→" in caption for caption in i.captions)]
    assert 0 < len(galleries) - len(misread) <= 24
    assert not [b for b in app.button if b.key and b.key.startswith("measure_styles")]


def test_without_the_pen_digits_file_the_shipped_figures_stay_and_the_galleries_say_why(
    mnist, private_store, monkeypatch, tmp_path
):
    monkeypatch.setenv(PENDIGITS_ENV, str(tmp_path / "no-pendigits.txt"))
    app = open_page(new_app("digitnet"), "evaluate")
    assert not app.exception
    assert {"Right, as drawn", "Right, ink on paper"} <= metrics(app).keys()
    assert {t.value.columns[0] for t in app.dataframe} >= {"style", "device"}
    why = [c.value for c in app.caption if c.value.startswith("The drawings themselves can't")]
    assert len(why) == 2  # the pen digits' misreads and the worst style's
    assert not [i for i in app.image if any("→" in caption for caption in i.captions)]


def test_the_evaluate_page_shows_the_regression_model(mnist):
    app = open_page(new_app("regression"), "evaluate")
    assert not app.exception
    assert {"MSE", "MAE", "Accuracy (rounded)"} <= metrics(app).keys()
    assert any("closest to" in caption.value for caption in app.caption)


def test_the_evaluate_page_follows_the_sessions_chosen_run(mnist, trained_once):
    run = trained_once.copy(TINY)
    app = unstarted_app("tiny20")
    app.session_state["session_owner"] = "evaluator"  # a workspace would start from its own
    app.session_state["run_for_tiny20"] = run.id
    app = open_page(app.run(), "evaluate")
    assert not app.exception
    assert app.selectbox(key="version_tiny20").value == run.id
    assert metrics(app)["Accuracy"] == f"{run.accuracy:.2%}"


def test_the_draw_page_keeps_its_model_across_a_visit_to_evaluate(mnist):
    app = open_page(new_app("mlp"), "evaluate")
    app.selectbox(key="evaluate_model_name").set_value("tiny20").run()
    assert not app.exception
    app = open_page(app, "draw")
    assert app.selectbox(key="model_name").value == "mlp"


# --- the Draw page's additions -------------------------------------------------------------


def test_use_calibrated_temperature_uses_the_value_the_caption_shows(mnist):
    app = new_app("cnn")
    fitted = evaluate_run(store.shipped_run("cnn")).summary["temperature"]
    shown = f"{fitted:.2f}".rstrip("0").rstrip(".")
    assert any(f"Calibrated T = {shown} " in caption.value for caption in app.caption)
    assert app.select_slider(key="temperature").value == DEFAULT_TEMPERATURE
    app.button(key="use_calibrated_temperature").click().run()
    assert not app.exception
    assert app.select_slider(key="temperature").value == pytest.approx(fitted, abs=0.005)
    assert app.button(key="use_calibrated_temperature").disabled

    app.selectbox(key="model_name").set_value("mlp").run()  # cnn's own stop is gone there
    assert not app.exception
    assert app.select_slider(key="temperature").value == nearest_stop(round(fitted, 2))


def test_the_regression_model_has_the_slider_disabled_with_a_reason():
    app = new_app("regression")
    assert not app.exception
    assert app.select_slider(key="temperature").disabled
    assert any("not ten probabilities" in caption.value for caption in app.caption)
    assert not [button for button in app.button if button.key == "use_calibrated_temperature"]


def test_a_run_without_a_fitted_temperature_says_where_to_fit_it(mnist, trained_once):
    run = trained_once.copy(TINY)
    app = unstarted_app("tiny20")
    app.session_state["session_owner"] = "evaluator"  # a workspace would start from its own
    app.session_state["run_for_tiny20"] = run.id
    app.run()
    assert not app.exception
    assert any("not fitted for this run yet" in caption.value for caption in app.caption)
    assert not app.select_slider(key="temperature").disabled


@pytest.mark.parametrize("model", ["cnn", "tiny20", "regression"])
def test_every_explanation_view_renders(mnist, model):
    app = new_app(model, drawn_seven())
    assert not app.exception
    for view in VIEWS:
        app.session_state["explain_view"] = view
        app.run()
        assert not app.exception, (view, app.exception)
        if view == "Feature maps" and model != "cnn":
            assert "No convolutions" in app.info[0].value
        if view == "Compare":  # one row per zoo model (the softmax-by-hand table has ten)
            compared = [t.value for t in app.dataframe if "model" in t.value.columns]
            assert len(compared) == 1 and len(compared[0]) == 8
            notes = list(compared[0]["note"])  # the regression net's value, and no "None"
            assert sum(note.startswith("regression value ") for note in notes) == 1
            assert notes.count("") == 7


def test_the_invariance_probe_reacts_to_its_sliders(mnist):
    app = new_app("cnn", drawn_seven())
    app.session_state["explain_view"] = "Invariance probe"
    app.run()
    upright = app.get("plotly_chart")[-1].proto.spec
    app.slider(key="probe_rotation").set_value(30)
    app.slider(key="probe_thickness").set_value(1.0).run()
    assert not app.exception
    assert app.get("plotly_chart")[-1].proto.spec != upright
    app.button(key="probe_reset").click().run()
    assert not app.exception
    assert app.slider(key="probe_rotation").value == 0
    assert app.get("plotly_chart")[-1].proto.spec == upright


def test_a_blank_canvas_shows_no_explanations():
    app = new_app("cnn")
    assert not app.exception
    assert not [header for header in app.subheader if "Explain" in header.value]


def test_the_view_picker_says_the_first_keras_view_takes_seconds(mnist):
    """Saliency's first open loads TensorFlow and the Keras file (seconds): the picker says
    so beforehand, and stops saying it once this model's Keras model is loaded."""
    explain_ui._keras_model.clear()
    explain_ui._KERAS_LOADED.clear()
    app = new_app("tiny20", drawn_seven())
    assert any("load TensorFlow" in caption.value for caption in app.caption)
    app.session_state["explain_view"] = "Saliency"
    app.run()
    assert not app.exception
    app.session_state["explain_view"] = None
    app.run()
    assert any("Pick a view" in caption.value for caption in app.caption)
    assert not any("load TensorFlow" in caption.value for caption in app.caption)
