"""Workspaces and share links in the app, under AppTest: a link opens a workspace with its
choices, a forged one a fresh workspace; a shared run answers a visitor read-only until its
link is withdrawn; a limit reached says which. (The cookie needs a browser: tests/e2e.)"""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from digitlab.store import drawings, shares, workspaces
from digitlab.store.limits import DRAWINGS_ENV, RUNS_ENV
from digitlab.ui.state import INJECTED_IMAGE, OWNER_KEY, correction_button_key
from digitlab.ui.workspace import LINK_PARAM

from helpers import APP, TINY, drawn_seven, open_page


def opened(query: dict[str, str], drawing=None) -> AppTest:
    """The app as a browser opens it at an address with these query parameters."""
    app = AppTest.from_file(APP, default_timeout=120)
    app.query_params.update(query)
    if drawing is not None:
        app.session_state[INJECTED_IMAGE] = drawing
    app.run()
    assert not app.exception, app.exception
    return app


def answered_by(app: AppTest) -> str:
    return next(c.value for c in app.caption if c.value.startswith("Answered by"))


def workspace_link_shown(app: AppTest) -> str:
    app.sidebar.toggle(key="workspace_show_link").set_value(True).run()
    return next(code.value for code in app.sidebar.code)


def test_a_link_opens_its_workspace_with_its_choices_and_a_forged_one_does_not(trained_once):
    workspace, key = workspaces.create()
    run = trained_once.copy(TINY, owner=workspace.id)
    workspaces.choose(workspace.id, "tiny20", run.id)
    workspaces.show_model(workspace.id, "tiny20")

    app = opened({LINK_PARAM: key})
    assert app.session_state[OWNER_KEY] == workspace.id
    assert LINK_PARAM not in app.query_params  # the key leaves the address at once
    assert app.selectbox(key="model_name").value == "tiny20"  # where it was last
    assert app.selectbox(key="version_tiny20").value == run.id  # the run it chose answers
    assert f"your run {run.id}," in answered_by(app)
    assert workspace_link_shown(app).endswith(f"/?{LINK_PARAM}={key}")

    forged = key[:-2] + ("xy" if not key.endswith("xy") else "yz")
    stranger = opened({LINK_PARAM: forged})
    assert stranger.session_state[OWNER_KEY] != workspace.id
    assert any("opens nothing" in warning.value for warning in stranger.sidebar.warning)
    assert stranger.selectbox(key="model_name").value == "digitnet"
    assert key not in workspace_link_shown(stranger)
    stranger = open_page(stranger, "runs")
    assert run.id not in list(stranger.dataframe[0].value["run"])

    # Start a new workspace: empty, with a key of its own.
    app.sidebar.button(key="workspace_new").click().run()
    assert app.session_state[OWNER_KEY] != workspace.id
    assert key not in workspace_link_shown(app)


def test_a_shared_run_answers_a_visitor_read_only_until_its_link_is_withdrawn(trained_once):
    owner, key = workspaces.create()
    run = trained_once.copy(TINY, owner=owner.id)
    token = shares.share_run(run, owner.id)

    visitor = opened({"share": token}, drawn_seven())
    assert f"shared run {run.id}," in answered_by(visitor)
    assert any("Shared with you, read-only" in info.value for info in visitor.info)
    assert workspaces.choices(visitor.session_state[OWNER_KEY]) == {}  # not made theirs
    visitor = open_page(visitor, "runs")
    visitor.selectbox(key="runs_model").set_value("tiny20").run()
    table = visitor.dataframe[0].value
    assert list(table["origin"]) == ["shared with you", "shipped"]
    visitor.selectbox(key="runs_pick").set_value(run.id).run()
    assert visitor.button(key="delete_run").disabled  # no delete, no share, no withdraw
    assert not [b for b in visitor.button if b.key in ("share_run",) or "revoke" in b.key]

    # The owner shares it again from the Runs page, then withdraws the first link.
    mine = open_page(opened({LINK_PARAM: key}), "runs")
    mine.selectbox(key="runs_pick").set_value(run.id).run()
    mine.button(key="share_run").click().run()
    link = next(code.value for code in mine.code if "?share=" in code.value)
    assert token not in link and key not in link
    withdraw = [b for b in mine.button if b.key.startswith("revoke_share_")]
    assert len(withdraw) == 2
    withdraw[0].click().run()
    assert len([b for b in mine.button if b.key.startswith("revoke_share_")]) == 1

    visitor = open_page(visitor, "draw")
    assert ": shipped" in answered_by(visitor)  # back on the shipped model
    assert any("opens nothing" in warning.value for warning in visitor.warning)
    new_visitor = opened({"share": link.split("?share=")[1]}, drawn_seven())
    assert f"shared run {run.id}," in answered_by(new_visitor)  # the second link still works


def test_a_limit_reached_says_which_and_how_to_make_room(trained_once, monkeypatch):
    workspace, key = workspaces.create()
    trained_once.copy(TINY, owner=workspace.id)
    monkeypatch.setenv(RUNS_ENV, "1")
    monkeypatch.setenv(DRAWINGS_ENV, "1")
    drawings.save(drawn_seven()[..., 3][::10, ::10], 1, workspace.id)
    app = opened({LINK_PARAM: key}, drawn_seven())
    app.button(key=correction_button_key(7)).click().run()
    assert any("keeps 1 drawings" in error.value for error in app.error)
    assert len(drawings.list_drawings(workspace.id)) == 1

    app.sidebar.number_input(key="train_epochs").set_value(1)
    next(b for b in app.sidebar.button if b.label == "Train").click().run()
    assert any("keeps 1 runs" in error.value for error in app.sidebar.error)
