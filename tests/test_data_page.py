"""The Data page under AppTest: the grid filtered by source and digit and paged, a run's hard
ones (computed once, kept in the store), and the charts below them."""

from __future__ import annotations

import numpy as np
from streamlit.testing.v1 import AppTest

from digitlab import store
from digitlab.analysis import hard_examples
from digitlab.data import browse
from digitlab.data.batch import model_batch
from digitlab.ui import data_page
from digitlab.zoo import numpy_net

from helpers import new_app, open_page

PER_PAGE = 48


def grid_captions(app: AppTest) -> list[str]:
    return app.image[0].captions  # the grid is the page's first images


def caption(app: AppTest, start: str) -> str:
    return next(c.value for c in app.caption if c.value.startswith(start))


def test_the_data_page_filters_by_digit_and_source_and_pages(mnist):
    app = open_page(new_app(), "data")
    assert not app.exception
    assert app.title[0].value == "The training data"
    labels = mnist.y_train
    assert grid_captions(app) == [f"{labels[i]} · #{i}" for i in range(PER_PAGE)]

    sevens = np.flatnonzero(labels == 7)
    app.selectbox(key="data_digit").set_value(7).run()
    assert grid_captions(app) == [f"7 · #{i}" for i in sevens[:PER_PAGE]]
    assert caption(app, "MNIST training set:").startswith(f"MNIST training set: {len(sevens):,} of")

    app.number_input(key="data_page").set_value(2).run()
    assert grid_captions(app) == [f"7 · #{i}" for i in sevens[PER_PAGE : 2 * PER_PAGE]]
    last = browse.page_count(len(sevens), PER_PAGE)
    assert app.number_input(key="data_page").label == f"Page (of {last:,})"
    app.number_input(key="data_page").set_value(last).run()
    assert grid_captions(app) == [f"7 · #{i}" for i in sevens[(last - 1) * PER_PAGE :]]

    # Another digit, or another source, starts again at the first page.
    app.selectbox(key="data_digit").set_value(3).run()
    assert app.number_input(key="data_page").value == 1
    app.selectbox(key="data_source").set_value(browse.PEN_DIGITS).run()
    assert not app.exception
    assert app.number_input(key="data_page").value == 1
    pen = browse.load_source(browse.PEN_DIGITS)
    pen_threes = np.flatnonzero(pen.labels == 3)[:PER_PAGE]
    assert grid_captions(app) == [f"3 · #{i}" for i in pen_threes]

    app.selectbox(key="data_source").set_value(browse.NOT_DIGITS).run()
    assert app.selectbox(key="data_digit").disabled  # drawings that aren't digits have none
    assert grid_captions(app) == [f"not a digit · #{i}" for i in range(PER_PAGE)]
    assert caption(app, "Not-a-digit drawings:").startswith("Not-a-digit drawings: 12,000 images")


def test_the_data_page_shows_balance_means_normalisation_and_activations(mnist):
    app = open_page(new_app("cnn"), "data")
    assert not app.exception
    assert app.subheader.values == [
        "Hard ones",
        "Class balance",
        "The mean image of each digit",
        "Normalisation, on one image",
        "Activation functions",
    ]
    # Three sources' balance, three normalisation steps, the activations.
    assert len(app.get("plotly_chart")) == 7
    assert app.image[1].captions == [str(d) for d in range(10)]  # MNIST's mean digits
    assert app.image[2].captions == [str(d) for d in range(10)]  # the pen digits'
    ranges = [m.value for m in app.markdown if m.value.startswith("`")]
    assert "min **0**, max **255**" in ranges[0] and "max **1**" in ranges[1]
    assert "min **-0.4242**, max **2.821**" in ranges[2]
    assert caption(app, "cnn (shipped").endswith(
        "uses relu in 4 layers. Bold: in this network; dotted: the others a network here may use."
    )


def test_the_hard_ones_list_a_runs_misreads_once_computed(mnist, monkeypatch):
    app = open_page(new_app("tiny20"), "data")
    assert app.selectbox(key="data_model_name").value == "tiny20"
    app.button(key="data_hard_start").click().run()
    assert not app.exception
    wrong = caption(app, "It gets ")
    shown = app.dataframe[0].value
    assert len(shown) == 24 and wrong.endswith("(its validation split is among them).")
    # Each row is a true misread: its label is MNIST's, and the numpy forward pass (not the
    # Keras model the page ran) reads the image as the page says.
    run = store.default_run("tiny20")
    net = numpy_net.load(run.model_file)
    images = mnist.x_train[shown["image"].to_numpy()]
    said = net(model_batch(images, 20)).argmax(axis=-1)
    assert shown["label"].tolist() == mnist.y_train[shown["image"]].tolist()
    assert shown["said"].tolist() == said.tolist()
    assert (shown["said"] != shown["label"]).all()
    assert shown["confidence"].is_monotonic_decreasing
    hard_images = next(image for image in app.image if "said" in image.captions[0])
    label, said_first, confidence = shown.iloc[0][["label", "said", "confidence"]]
    assert hard_images.captions[0] == f"a {label:.0f}, said {said_first:.0f} ({confidence:.0%})"

    app.button_group(key="data_hard_kind").set_value("unsure").run()
    assert caption(app, "The 24 of the 60,000").endswith("least sure of.")
    assert app.dataframe[0].value["confidence"].is_monotonic_increasing

    # The outputs were kept with the run: another session (this process's cache emptied)
    # lists them without running the model.
    assert hard_examples.cached_outputs(run) is not None
    data_page._train_outputs.clear()

    def no_model(self):
        raise AssertionError("the model was run again")

    monkeypatch.setattr(store.Run, "load", no_model)
    again = open_page(new_app("tiny20"), "data")
    assert not again.exception
    assert not [b for b in again.button if b.key == "data_hard_start"]
    assert caption(again, "It gets ") == wrong


def test_the_regression_models_hard_ones_are_its_farthest_misses(mnist):
    app = open_page(new_app("regression"), "data")
    app.button(key="data_hard_start").click().run()
    assert not app.exception
    assert "farthest off first" in caption(app, "It gets ")
    shown = app.dataframe[0].value
    assert shown["confidence"].isna().all()  # no probabilities to be sure with
    hard_images = next(image for image in app.image if "said" in image.captions[0])
    assert all(c.startswith("a ") and ", said " in c for c in hard_images.captions)
