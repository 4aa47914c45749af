"""The Build page in a real browser: a network built by clicking, its summary following each
change, and the sidebar's form training it as model custom."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from .browser import StreamlitPage, choose_option, set_number


def test_build_a_network_by_clicking_and_train_it(app: StreamlitPage) -> None:
    page = app.page
    app.click_and_wait(page.get_by_test_id("stSidebarNav").get_by_role("link", name="Build"))
    parameters = app.metric_value("Parameters")
    expect(parameters).to_have_text("121,930")  # cnn_small, where every session starts

    choose_option(page, page.get_by_role("combobox", name="Start from"), re.compile("^empty"))
    app.wait_until_quiet()
    app.click_and_wait(page.get_by_role("button", name="Load", exact=True))
    expect(parameters).to_have_text(f"{784 * 10 + 10:,}")  # Flatten, Dense 10

    # A hidden layer: Dense, added where the box offers (before the output layer).
    choose_option(page, page.get_by_role("combobox", name="Layer type"), re.compile("^Dense$"))
    app.wait_until_quiet()
    app.click_and_wait(page.get_by_role("button", name="Add", exact=True))
    expect(parameters).to_have_text(f"{784 * 64 + 64 + 64 * 10 + 10:,}")
    units = page.get_by_role("spinbutton", name="units").first  # the new layer's
    sent = app.messages_sent()
    set_number(units, 16)
    app.wait_until_settled(sent)
    expect(parameters).to_have_text(f"{784 * 16 + 16 + 16 * 10 + 10:,}")
    table = page.get_by_test_id("stDataFrame")
    expect(table).to_be_visible()

    # Train it with the sidebar's form: one epoch on a few hundred images.
    app.click_and_wait(page.get_by_role("button", name=re.compile("^Train it")))
    sidebar = page.get_by_test_id("stSidebar")
    expect(sidebar.get_by_role("combobox", name="Model to train")).to_have_value(
        re.compile("^custom")
    )
    expect(
        sidebar.get_by_text("Your network from the Build page: 12,730 parameters")
    ).to_be_visible()
    set_number(sidebar.get_by_role("spinbutton", name="Epochs"), 1)
    set_number(sidebar.get_by_role("spinbutton", name="Training images"), 300)
    sidebar.get_by_role("button", name="Train", exact=True).click()
    done = sidebar.get_by_test_id("stAlert").filter(has_text="custom: Trained and stored.")
    expect(done).to_be_visible(timeout=180_000)
    app.wait_until_quiet()  # the app reruns once when a job ends
    expect(page.get_by_test_id("stException")).to_have_count(0)
