"""A workspace in a real browser: what one person trains and saves survives a reload and a
new tab (the cookie), stays out of another person's browser, and a share link shows that
person the run, read-only. The unit and AppTests cover keys, links, limits and prune."""

from __future__ import annotations

import re
import time

from playwright.sync_api import Browser, expect

from .browser import ONE, VIEWPORT, StreamlitPage, choose_model_to_train, clear_button, set_number

# A 7 in canvas pixels: the bar, then the down-stroke (another drawing than ONE).
SEVEN = [[[80.0, 60.0], [200.0, 60.0]], [[200.0, 60.0], [160.0, 140.0], [120.0, 230.0]]]
YOUR_RUN = re.compile(r"Answered by .*: your run \d+,")


def open_tab(context, url: str) -> StreamlitPage:
    tab = StreamlitPage(context.new_page())
    tab.open(url)
    return tab


def answered_by(tab: StreamlitPage):
    return tab.page.get_by_test_id("stCaptionContainer").filter(has_text="Answered by")


def go_to(tab: StreamlitPage, name: str) -> None:
    tab.click_and_wait(tab.page.get_by_test_id("stSidebarNav").get_by_role("link", name=name))


def saved_drawings(tab: StreamlitPage):
    go_to(tab, "My digits")
    return tab.page.locator("[class*='st-key-drawing_']")


def draw_and_save(tab: StreamlitPage, strokes, label: str) -> None:
    tab.click_and_wait(clear_button(tab))
    tab.draw(strokes)
    tab.click_and_wait(tab.page.get_by_role("button", name=label, exact=True))
    expect(tab.page.get_by_text(re.compile(f"Saved as {label} \\(your drawing"))).to_be_visible()


def test_a_workspace_survives_a_reload_stays_private_and_shares_a_run(
    browser: Browser, app_url: str
):
    started = time.monotonic()
    mine = browser.new_context(viewport=VIEWPORT)
    me = open_tab(mine, app_url)
    sidebar = me.page.get_by_test_id("stSidebar")
    choose_model_to_train(me, "tiny20")
    set_number(sidebar.get_by_role("spinbutton", name="Epochs"), 1)
    set_number(sidebar.get_by_role("spinbutton", name="Training images"), 3000)
    sidebar.get_by_role("button", name="Train", exact=True).click()
    done = sidebar.get_by_test_id("stAlert").filter(has_text="tiny20: Trained and stored")
    expect(done).to_be_visible(timeout=120_000)
    me.wait_until_quiet()
    expect(answered_by(me)).to_have_text(YOUR_RUN)
    draw_and_save(me, ONE, "1")
    draw_and_save(me, SEVEN, "7")
    trained = time.monotonic()

    me.page.reload()  # a new Streamlit session: only the cookie remembers the workspace
    expect(me.metric_value("Prediction")).to_be_visible(timeout=60_000)
    me.wait_until_quiet()
    expect(answered_by(me)).to_have_text(YOUR_RUN)
    me.draw(ONE)
    assert me.prediction() not in ("—", "?")
    expect(saved_drawings(me)).to_have_count(2)

    again = open_tab(mine, app_url)  # a new tab of the same browser, at the plain address
    expect(answered_by(again)).to_have_text(YOUR_RUN)
    expect(saved_drawings(again)).to_have_count(2)
    go_to(again, "Draw")
    again.click_and_wait(again.page.get_by_role("button", name="Share this run"))
    link = again.page.get_by_test_id("stCode").filter(has_text="?share=").inner_text().strip()
    mine.close()

    theirs = browser.new_context(viewport=VIEWPORT)  # another person
    them = open_tab(theirs, app_url)
    expect(answered_by(them)).to_contain_text(": shipped")
    expect(saved_drawings(them)).to_have_count(0)
    go_to(them, "Runs")
    them.page.get_by_role("combobox", name="Run", exact=True).click()
    options = them.page.get_by_role("option")
    expect(options.first).to_be_visible()
    assert not [text for text in options.all_inner_texts() if "run " in text], "someone's run"
    them.page.keyboard.press("Escape")

    them.open(link)  # the share link: the run answers them, read-only
    expect(answered_by(them)).to_contain_text("shared run")
    them.draw(ONE)
    assert them.prediction() not in ("—", "?")
    expect(them.page.get_by_role("button", name="Share this run")).to_have_count(0)
    go_to(them, "Runs")
    picked = them.page.get_by_role("combobox", name="Run", exact=True)
    expect(picked).to_have_value(re.compile("shared run"))
    expect(them.page.get_by_role("button", name="Delete", exact=True)).to_be_disabled()
    theirs.close()
    print(
        f"\nworkspace e2e: {trained - started:.0f} s to train and save, "
        f"{time.monotonic() - trained:.0f} s for the rest"
    )
