"""The Build page under AppTest: a network built with the page's widgets, its summary, its
refusals, and its training through the sidebar's form into a run like any other."""

from __future__ import annotations

import time

from streamlit.testing.v1 import AppTest

from digitlab.zoo import arch_edit
from digitlab.zoo.arch import check, loads, pretty
from digitlab.zoo.config import recipe
from digitlab.zoo.networks import zoo_spec

from helpers import drawn_seven, metric, new_app, open_page


def layer_key(app: AppTest, position: str, name: str) -> str:
    """A layer row's widget key, as the page makes it now (ui/state.layer_widget_key)."""
    version = app.session_state["build_version"] if "build_version" in app.session_state else 0  # noqa: SIM401 (no .get)
    return f"build-{version}-{position}-{name}"


def add(app: AppTest, kind: str, where: str) -> None:
    app.selectbox(key="build_add_type").set_value(kind)
    version = app.session_state["build_version"] if "build_version" in app.session_state else 0  # noqa: SIM401 (no .get)
    app.selectbox(key=f"build_add_at-{version}").set_value(where)
    app.button(key="build_add").click().run()
    assert not app.exception


def built_spec(app: AppTest) -> dict:
    return app.session_state["build_spec"]


def build_two_convs_with_a_residual_block(app: AppTest) -> None:
    """From empty: Conv2D 8, then Conv2D 8 wrapped in a residual block, then a pool."""
    app.selectbox(key="build_start").set_value("empty")
    app.button(key="build_load").click().run()
    add(app, "Conv2D", "1")  # before Flatten
    app.number_input(key=layer_key(app, "1", "filters")).set_value(8).run()
    add(app, "Conv2D", "2")
    app.number_input(key=layer_key(app, "2", "filters")).set_value(8).run()
    version = app.session_state["build_version"]
    app.selectbox(key=f"build_wrap_first-{version}").set_value(2)
    app.selectbox(key=f"build_wrap_last-{version}").set_value(2)
    app.button(key="build_wrap").click().run()
    add(app, "MaxPooling2D", "3")  # after the block, before Flatten
    assert not app.exception


def test_build_see_the_summary_refuse_and_fix():
    app = open_page(new_app().run(), "build")
    assert not app.exception
    assert built_spec(app) == zoo_spec("cnn_small")  # every session starts from a known one
    assert metric(app, "Parameters") == f"{check(zoo_spec('cnn_small')).params:,}"

    build_two_convs_with_a_residual_block(app)
    spec = built_spec(app)
    conv = {"type": "Conv2D", "filters": 8, "kernel_size": 3, "activation": "relu"}
    conv["padding"] = "same"
    assert spec["layers"] == [
        conv,
        {"type": "Residual", "layers": [conv]},
        {"type": "MaxPooling2D"},
        {"type": "Flatten"},
        {"type": "Dense", "units": 10},
    ]
    network = check(spec)
    table = app.dataframe[0].value
    assert list(table["position"]) == ["1", "2.1", "2", "3", "4", "5"]
    assert list(table["output shape"])[:3] == ["28x28x8", "28x28x8", "28x28x8"]
    assert table["parameters"].sum() == network.params == 80 + 584 + 14 * 14 * 8 * 10 + 10
    assert metric(app, "Parameters") == f"{network.params:,}"
    assert metric(app, "Forward FLOPs per image") == f"{network.flops / 1e6:.2f} M"

    # A 5x5 kernel inside the block: the summary says what it costs at once.
    app.number_input(key=layer_key(app, "2.1", "kernel_size")).set_value(5).run()
    assert metric(app, "Parameters") == f"{network.params + 16 * 8 * 8:,}"

    # Flatten moved above the block: the block's row and the summary say why; no Train.
    for position in ("4", "3"):
        app.button(key=layer_key(app, position, "up")).click().run()
    assert [layer["type"] for layer in built_spec(app)["layers"]][:3] == [
        "Conv2D",
        "Flatten",
        "Residual",
    ]
    reason = "it needs an image (height x width x channels) but gets a flat vector"
    assert any(reason in error.value for error in app.error)  # beside layer 3.1 ...
    assert any("can't be built: layer 3.1 (Conv2D)" in error.value for error in app.error)
    app.button(key="build_to_sidebar").click().run()
    assert app.sidebar.selectbox(key="train_model").value == "custom"
    train = app.sidebar.button[0]
    assert train.disabled and reason in train.help
    assert any(reason in error.value for error in app.sidebar.error)

    for position in ("2", "3"):  # Flatten back where it was
        app.button(key=layer_key(app, position, "down")).click().run()
    assert not app.sidebar.button[0].disabled and not app.error


def test_a_preset_fills_the_sidebar_and_a_bad_upload_keeps_the_network():
    app = open_page(new_app().run(), "build")
    app.selectbox(key="build_start").set_value("preset:residual_cnn")
    app.button(key="build_load").click().run()
    assert built_spec(app) == loads(recipe("custom", "residual_cnn").arch)
    assert app.sidebar.selectbox(key="train_model").value == "custom"
    assert app.sidebar.select_slider(key="train_batch").value == 128  # the tutorial's
    assert app.sidebar.slider(key="train_val_split").value == 0.0
    assert any("residual_cnn preset" in caption.value for caption in app.sidebar.caption)

    before = built_spec(app)
    uploader = app.file_uploader(key="build_upload")
    uploader.set_value(("net.json", b'{"layers": [{"type": "Lambda"}]}', "application/json")).run()
    assert built_spec(app) == before  # refused, with its reason; the network stays
    assert any("net.json: layer 1 (Lambda): unknown layer type" in e.value for e in app.error)
    good = pretty(arch_edit.EMPTY).encode()
    app.file_uploader(key="build_upload").set_value(("e.json", good, "application/json")).run()
    assert built_spec(app) == arch_edit.EMPTY and not app.error
    assert metric(app, "Parameters") == "7,850"


def poll_until_trained(app: AppTest, seconds: float = 180) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:  # the job runs in the background: poll as a browser does
        if any("custom:" in s.value for s in [*app.sidebar.success, *app.sidebar.warning]):
            break
        time.sleep(0.5)
        app.run()
    assert any("Trained and stored" in s.value for s in app.sidebar.success), [
        s.value for s in app.sidebar.warning
    ]


def test_a_built_network_trains_and_is_a_run_like_any_other(mnist):
    app = new_app()
    app.session_state["session_owner"] = "builder"
    app = open_page(app.run(), "build")
    build_two_convs_with_a_residual_block(app)
    app.button(key="build_to_sidebar").click().run()
    app.sidebar.number_input(key="train_epochs").set_value(1)
    app.sidebar.number_input(key="train_samples").set_value(3000)  # 300: under 50%, held back
    app.sidebar.button[0].click().run()  # the form's Train button
    assert not app.exception
    poll_until_trained(app)  # about 30 s: a fresh process imports TensorFlow, trains, tests

    app = open_page(app, "runs")
    app.selectbox(key="runs_model").set_value("custom").run()
    table = app.dataframe[0].value
    assert list(table["model"]) == ["custom"] and list(table["origin"]) == ["yours"]
    assert bool(table["in use"].iloc[0])

    app.session_state["digitlab_injected_canvas"] = drawn_seven()
    app = open_page(app, "draw")  # Keras answers (the numpy pass has no residual blocks)
    assert not app.exception
    assert app.selectbox(key="model_name").value == "custom"
    assert metric(app, "Prediction") != "—"
    answered = next(c.value for c in app.caption if c.value.startswith("Answered by"))
    assert "your run 1" in answered
