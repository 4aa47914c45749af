"""The Streamlit app under AppTest: renders, the temperature reshapes, training completes."""

import json
import time
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from digitlab.models import DEFAULT_MODEL
from digitlab.pendigits import default_pendigits_path, parse_pendigits, rasterize, sample_balanced
from digitlab.ui.canvas import INJECTED_IMAGE

APP = str(Path(__file__).resolve().parents[1] / "streamlit_app.py")


@pytest.fixture(scope="module")
def handwritten_seven():
    path = default_pendigits_path()
    if path is None:
        pytest.skip("the pendigits file is not available")
    digit = next(d for d in sample_balanced(parse_pendigits(path), 1) if d.label == 7)
    return rasterize(digit)


def new_app(model: str = DEFAULT_MODEL) -> AppTest:
    app = AppTest.from_file(APP, default_timeout=120)
    app.session_state["model_name"] = model
    return app


def bar_heights(app: AppTest) -> list[float]:
    chart = app.get("plotly_chart")[0]
    return json.loads(chart.proto.spec)["data"][0]["y"]


def metric(app: AppTest, label: str):
    return next(m.value for m in app.metric if m.label == label)


def test_the_app_starts_and_asks_for_a_drawing():
    app = new_app()
    app.run()
    assert not app.exception
    assert metric(app, "Prediction") == "—"
    assert any("Draw a digit" in info.value for info in app.info)


def test_a_drawing_is_predicted_and_temperature_reshapes_the_bars(handwritten_seven):
    app = new_app()
    app.session_state[INJECTED_IMAGE] = handwritten_seven
    app.run()
    assert not app.exception
    assert metric(app, "Prediction") == "7"
    sharp = bar_heights(app)
    app.select_slider(key="temperature").set_value(5.01).run()
    flat = bar_heights(app)
    assert metric(app, "Prediction") == "7"  # the ranking never changes
    assert max(flat) < max(sharp) and min(flat) > min(sharp)
    assert sum(flat) == pytest.approx(1.0, abs=1e-6)


def test_the_regression_model_shows_a_number(handwritten_seven):
    app = new_app("regression")
    app.session_state[INJECTED_IMAGE] = handwritten_seven
    app.run()
    assert not app.exception
    assert any("Predicted value" in caption.value for caption in app.caption)


def test_the_sidebar_form_starts_a_tiny_job_that_completes(mnist):
    app = new_app("tiny20")
    app.run()
    app.sidebar.selectbox(key="train_model").set_value("tiny20")
    app.sidebar.number_input(key="train_epochs").set_value(1)
    app.sidebar.number_input(key="train_samples").set_value(500)
    app.sidebar.button[0].click().run()  # the form's Train button
    assert not app.exception
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:  # the job runs in the background: poll as a browser does
        if any("tiny20" in s.value for s in app.sidebar.success):
            break
        time.sleep(0.5)
        app.run()
    assert any("Trained and stored" in s.value for s in app.sidebar.success)
    assert len(app.sidebar.get("plotly_chart")) == 2  # loss and accuracy curves
    app.run()
    assert "trained here" in app.caption[-1].value  # the new model is the one in use


def test_script_runs_leave_the_loaded_keras_models_alone(handwritten_seven):
    """Streamlit's after-run keras clear_session is replaced: the name counter survives."""
    import keras
    from keras.src.backend.common.global_state import get_global_attribute

    app = new_app()
    app.session_state[INJECTED_IMAGE] = handwritten_seven
    keras.layers.Dense(1)  # gives the global name counter an entry
    before = dict(get_global_attribute("object_name_uids", {}))
    app.run()
    after = get_global_attribute("object_name_uids", {})
    assert before and all(after.get(name, 0) >= uid for name, uid in before.items())
