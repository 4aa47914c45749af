"""The sidebar's Augmentation panel under AppTest: its strengths fill from the recipe, its
preview redraws when a slider moves, and Train reads what it holds."""

from __future__ import annotations

import time

from streamlit.testing.v1 import AppTest

from digitlab.ui.state import AUG_PREVIEW_KEY, TRAIN_FORM_KEYS
from digitlab.zoo.config import AUGMENT_STRENGTHS, recipe

from helpers import new_app


def preview(app: AppTest) -> str:
    (image,) = app.sidebar.image  # one picture: every digit and its draws
    return image.proto.imgs[0].url


def test_the_preview_redraws_when_a_strength_moves(mnist):
    app = new_app().run()
    assert not app.exception
    digitnet = recipe("digitnet", "quick")  # the form starts from it
    for name in AUGMENT_STRENGTHS:
        assert app.sidebar.slider(key=TRAIN_FORM_KEYS[name]).value == getattr(digitnet, name)
    assert not app.sidebar.image  # no preview (nor TensorFlow) until asked for

    app.sidebar.toggle(key=AUG_PREVIEW_KEY).set_value(True).run()
    assert not app.exception
    first = preview(app)
    assert first.startswith("data:image/png;base64,")

    app.sidebar.slider(key=TRAIN_FORM_KEYS["aug_rotation"]).set_value(170.0).run()
    turned = preview(app)
    assert turned != first
    start = time.perf_counter()
    app.sidebar.slider(key=TRAIN_FORM_KEYS["aug_elastic_alpha"]).set_value(40.0).run()
    assert time.perf_counter() - start < 5  # a whole AppTest rerun; the browser test times it
    assert preview(app) not in (first, turned)

    app.sidebar.slider(key=TRAIN_FORM_KEYS["aug_rotation"]).set_value(12.0).run()
    app.sidebar.slider(key=TRAIN_FORM_KEYS["aug_elastic_alpha"]).set_value(0.0).run()
    assert preview(app) == first  # the same draws: back at the same strengths, the same grid
