"""The Streamlit app under AppTest: renders, the temperature reshapes, training completes."""

import json
import time

import pytest
from streamlit.testing.v1 import AppTest

from digitlab.data.pendigits import (
    default_pendigits_path,
    parse_pendigits,
    rasterize,
    sample_balanced,
)
from digitlab.ui.state import INJECTED_IMAGE

from helpers import metric, new_app


@pytest.fixture(scope="module")
def handwritten_seven():
    path = default_pendigits_path()
    if path is None:
        pytest.skip("the pendigits file is not available")
    digit = next(d for d in sample_balanced(parse_pendigits(path), 1) if d.label == 7)
    return rasterize(digit)


def bar_heights(app: AppTest) -> list[float]:
    chart = app.get("plotly_chart")[0]
    return json.loads(chart.proto.spec)["data"][0]["y"]


def answered_by(app: AppTest) -> str:
    return next(c.value for c in app.caption if c.value.startswith("Answered by"))


def test_the_app_starts_and_asks_for_a_drawing():
    app = new_app().run()
    assert not app.exception
    assert metric(app, "Prediction") == "—"
    assert any("Draw a digit" in info.value for info in app.info)


def test_a_drawing_is_predicted_and_temperature_reshapes_the_bars(handwritten_seven):
    app = new_app(drawing=handwritten_seven).run()
    assert not app.exception
    assert metric(app, "Prediction") == "7"
    sharp = bar_heights(app)
    app.select_slider(key="temperature").set_value(5.01).run()
    flat = bar_heights(app)
    assert metric(app, "Prediction") == "7"  # the ranking never changes
    assert max(flat) < max(sharp) and min(flat) > min(sharp)
    assert sum(flat) == pytest.approx(1.0, abs=1e-6)


def test_the_regression_model_shows_a_number(handwritten_seven):
    app = new_app("regression", handwritten_seven).run()
    assert not app.exception
    assert any("Predicted value" in caption.value for caption in app.caption)


def train_from_the_sidebar(
    app: AppTest, model: str, samples: int = 500, learning_rate: float | None = None
) -> None:
    """Fill the sidebar form as a user does, press Train and poll until the job ends."""
    app.sidebar.selectbox(key="train_model").set_value(model).run()  # fills in its recipe
    app.sidebar.number_input(key="train_epochs").set_value(1)
    app.sidebar.number_input(key="train_samples").set_value(samples)
    if learning_rate is not None:
        app.sidebar.select_slider(key="train_lr").set_value(learning_rate)
    app.sidebar.button[0].click().run()  # the form's Train button
    assert not app.exception
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:  # the job runs in the background: poll as a browser does
        if any(model in s.value for s in app.sidebar.success):
            break
        time.sleep(0.5)
        app.run()
    assert any("Trained and stored" in s.value for s in app.sidebar.success)


def test_a_sessions_run_answers_only_that_session_until_it_goes_back(mnist, handwritten_seven):
    mine = new_app("tiny20", handwritten_seven).run()
    other = new_app("tiny20", handwritten_seven).run()
    before = (answered_by(other), bar_heights(other))
    assert answered_by(mine) == answered_by(other) and ": shipped" in answered_by(mine)

    train_from_the_sidebar(mine, "tiny20", samples=3000)  # 500 would score under 50%: held back
    charts = mine.sidebar.get("plotly_chart")
    assert [chart.key for chart in charts] == ["curve-loss", "curve-accuracy", "curve-digits"]
    assert "validation accuracy per digit" in charts[2].proto.spec  # the live heat strip
    for chart in charts:  # no toolbar over the labels, and a legend clear of the axis title
        assert json.loads(chart.proto.config)["displayModeBar"] is False
    legend = json.loads(charts[0].proto.spec)["layout"]["legend"]
    assert legend["y"] > 1 and legend["yanchor"] == "bottom"
    mine.run()
    assert "your run 1," in answered_by(mine)  # the new run is the one in use here...
    assert any(
        "Your new tiny20 answers now" in s.value and "(before: shipped, 93.02%" in s.value
        for s in mine.success
    )
    assert mine.selectbox(key="version_tiny20").value == "1"

    other.run()
    assert (answered_by(other), bar_heights(other)) == before  # ...and nowhere else
    assert other.selectbox(key="version_tiny20").options == [
        "shipped, 93.02% on MNIST test (server default)"
    ]
    assert new_app("tiny20").run().selectbox(key="version_tiny20").value == "tiny20"

    mine.button(key="back_to_shipped").click().run()
    assert answered_by(mine) == before[0] and bar_heights(mine) == before[1]
    assert not [b for b in mine.button if b.key == "back_to_shipped"]  # the shipped one answers
    mine.selectbox(key="version_tiny20").set_value("1").run()  # and forth again, by hand
    assert "your run 1," in answered_by(mine)
    assert not any("Your new tiny20" in s.value for s in mine.success)  # no notice now,
    mine.button(key="back_to_shipped").click().run()  # but the way back is still there
    assert answered_by(mine) == before[0]


def test_a_run_that_learned_nothing_is_offered_not_used(mnist, handwritten_seven):
    """Learning rate 1.0: the run ends at chance level; the shipped model keeps answering,
    the notice says why, and "Use it anyway" is there for a learner who wants to see it."""
    app = new_app("tiny20", handwritten_seven).run()
    before = answered_by(app)
    train_from_the_sidebar(app, "tiny20", learning_rate=1.0)
    app.run()
    assert answered_by(app) == before  # not replaced
    [warning] = [w.value for w in app.warning if "Your tiny20 run 1 got" in w.value]
    assert "learning rate was likely too high" in warning and "answered as before" in warning
    assert any("chance level" in i.value for i in app.sidebar.info)  # the curve hint too
    app.button(key="use_offered_run").click().run()
    assert "your run 1," in answered_by(app)


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


def test_the_sidebar_starts_from_each_models_recipe():
    app = new_app().run()
    assert app.sidebar.selectbox(key="train_model").value == "digitnet"
    assert app.sidebar.number_input(key="train_epochs").value == 2  # digitnet's quick preset
    assert app.sidebar.select_slider(key="train_batch").value == 256
    assert app.sidebar.select_slider(key="train_lr").value == 0.01
    assert app.sidebar.selectbox(key="train_schedule").value == "onecycle"
    # The Recipe box: the command line's --preset choices, each filling the form.
    recipe_box = app.sidebar.selectbox(key="train_preset")
    assert recipe_box.value == "quick" and {"default", "quick", "long"} <= set(recipe_box.options)
    recipe_box.set_value("default").run()
    assert app.sidebar.number_input(key="train_epochs").value == 5  # the shipped recipe
    assert app.sidebar.checkbox(key="train_pen_digits").value
    app.sidebar.selectbox(key="train_model").set_value("mlp").run()
    assert app.sidebar.selectbox(key="train_preset").value == "default"
    assert app.sidebar.number_input(key="train_epochs").value == 3  # mlp's recipe
    assert app.sidebar.select_slider(key="train_batch").value == 384
    assert app.sidebar.slider(key="train_dropout").value == 0.0
    app.sidebar.selectbox(key="train_model").set_value("tiny20").run()
    assert app.sidebar.number_input(key="train_epochs").value == 40
    assert app.sidebar.select_slider(key="train_batch").value == 32
