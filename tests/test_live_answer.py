"""The live answer's server side: what the browser is sent to run a model, and how often.

Its JavaScript is checked by node (tests/js/forward.test.mjs) and in a real browser
(tests/e2e/test_live_answer.py); here, with AppTest, what the component is handed.
"""

import base64
import json

import numpy as np
from streamlit.testing.v1 import AppTest

from digitlab import store
from digitlab.inference.browser_model import browser_model, model_version
from digitlab.ui.live_answer import AFTER_PEN_UP, COMPONENT_KEY
from digitlab.zoo.numpy_net import read_steps

from helpers import new_app


def live_data(app: AppTest) -> dict:
    [live] = [
        e for e in app.get("bidi_component") if e.proto.component_name.endswith("live_answer")
    ]
    return json.loads(live.proto.json)


def test_the_browser_gets_the_numpy_passs_own_steps_and_weights():
    run = store.shipped_run("digitnet")
    packed = browser_model(run)
    weights = np.frombuffer(base64.b64decode(packed["weights"]), "<f4")
    [steps] = packed["members"]
    expected = read_steps(run.model_file)
    assert [step["op"] for step in steps] == [step.op for step in expected]
    for sent, step in zip(steps, expected, strict=True):
        for name, array in step.arrays.items():
            start, shape = sent[name]["offset"], sent[name]["shape"]
            np.testing.assert_array_equal(weights[start : start + array.size].reshape(shape), array)
    assert packed["abstainBelow"] == run.metrics["abstain_below"]
    assert packed["resize"] is None and packed["inputSize"] == 28
    assert browser_model(store.shipped_run("tiny20"))["resize"]["shape"] == [20, 28]


def ask(app: AppTest, version: str, number: int) -> AppTest:
    """What the page's script does for a model it lacks (a rerun, with the request)."""
    app.session_state[COMPONENT_KEY] = {"missing": {"version": version, "ask": number}}
    return app.run()


def test_the_model_goes_to_the_page_once_when_it_asks():
    app = new_app().run()
    first = live_data(app)
    version = model_version(store.shipped_run("digitnet"))
    assert first["version"] == version
    assert "model" not in first, "the first run waits for no weights"
    assert "model" in live_data(ask(app, version, 1))
    app.select_slider(key="temperature").set_value(2.0).run()  # a rerun, as a pen-up is
    again = live_data(app)
    assert "model" not in again and again["version"] == version and again["temperature"] == 2.0
    app.selectbox(key="model_name").select("tiny20").run()  # another model: only its name
    tiny = live_data(app)
    assert "model" not in tiny and tiny["version"] != version
    assert live_data(ask(app, version, 2)).get("model") is None, "not the model it shows"
    assert live_data(ask(app, tiny["version"], 3))["model"]["inputSize"] == 20


def test_an_exported_file_answers_after_the_pen_lifts():
    app = new_app().run()
    app.radio(key="runtime").set_value("tflite").run()
    assert live_data(app)["unsupported"] == AFTER_PEN_UP
