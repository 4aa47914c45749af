"""Which workspace a browser works in, and how the browser remembers it.

The workspace key lives in a first-party cookie, written by a tiny components-v2 component
(a few lines of JavaScript, no iframe) and read on the server with `st.context.cookies`,
which Streamlit fills from the page's WebSocket request. So the very first script run of a
reloaded tab, or of a new tab at the plain address, already knows the workspace: nothing
flashes with the shipped model first, and no round trip through the browser is needed (as
local storage would: the page can read it only after the first run, then rerun). The
cookie is SameSite=Strict (another site's page can't make the browser send it) and lives
400 days, the most browsers allow, renewed on each visit.

The address carries the key only when the person asks for "Open my workspace on another
device": `?workspace=KEY`, taken out of the address bar as soon as it is read. A key that
opens nothing (mistyped, forged, malformed, or a workspace removed) never opens another
one: the browser keeps its own workspace, or gets a fresh one.
"""

from __future__ import annotations

import streamlit as st

from digitlab.store import workspaces
from digitlab.ui import state

COOKIE = "digitlab_workspace"
LINK_PARAM = "workspace"  # ?workspace=KEY: the link to open a workspace on another device
COOKIE_DAYS = 400  # browsers cap a cookie's life at 400 days
COOKIE_WRITTEN_KEY = "workspace_cookie_written"  # the key the browser said it now keeps
LINK_REFUSED_KEY = "workspace_link_refused"  # a ?workspace= link opened nothing: say so once
APP_URL_KEY = "app_url"  # the app's address without a page, for links

# Writes the cookie, then says so for a new key (one rerun): until it has, every run renders
# it again, so a rerun that came first can't lose the write. A renewal is not answered.
_COOKIE_JS = """
export default function ({ data, setStateValue }) {
  const secure = window.location.protocol === "https:" ? "; Secure" : "";
  document.cookie = `${data.name}=${data.value}; Max-Age=${data.maxAge}; ` +
    `Path=${data.path}; SameSite=Strict${secure}`;
  if (data.answer) setStateValue("written", data.value);
}
"""
_cookie_writer = st.components.v2.component("digitlab.workspace_cookie", js=_COOKIE_JS)


def open_remembered(page_path: str) -> None:
    """At the top of every run: on a session's first, open the workspace that the link or
    the browser's cookie names (else a fresh one); on every run, note the app's address."""
    url = st.context.url or "http://localhost:8501"
    st.session_state[APP_URL_KEY] = url.removesuffix(f"/{page_path}" if page_path else "")
    if state.OWNER_KEY in st.session_state:
        return
    from_link = st.query_params.get(LINK_PARAM)
    if from_link is not None:
        del st.query_params[LINK_PARAM]  # out of the address bar, the history and bookmarks
    opened = workspaces.find(from_link) if from_link else None
    st.session_state[LINK_REFUSED_KEY] = from_link is not None and opened is None
    key = from_link if opened is not None else st.context.cookies.get(COOKIE)
    if opened is None:
        opened = workspaces.find(key) if key else None
    if opened is None:  # nothing remembered, or nothing it names: a fresh workspace
        opened, key = workspaces.create()
    state.enter_workspace(opened, key)
    if st.context.cookies.get(COOKIE) == st.session_state[state.WORKSPACE_KEY]:
        st.session_state[COOKIE_WRITTEN_KEY] = None  # renewed once this visit, unconfirmed


def _no_op() -> None:
    """The component's `written` value is read from its result; Streamlit keeps a value
    only for the names given a callback."""


def remember_in_browser() -> None:
    """Keep this session's workspace key in the browser's cookie (until the browser has
    said it does; a renewal on a return visit is sent once, unconfirmed)."""
    key = st.session_state.get(state.WORKSPACE_KEY)
    written = st.session_state.get(COOKIE_WRITTEN_KEY, "")
    if key is None or written == key:
        return
    renewal = written is None  # the cookie holds this key already: once, and no answer
    if renewal:
        st.session_state[COOKIE_WRITTEN_KEY] = key
    base = st.get_option("server.baseUrlPath").strip("/")
    data = {
        "name": COOKIE,
        "value": key,
        "maxAge": COOKIE_DAYS * 86_400,
        "path": f"/{base}" if base else "/",
        "answer": not renewal,
    }
    result = _cookie_writer(key="workspace_cookie", data=data, on_written_change=_no_op)
    if result.written == key:
        st.session_state[COOKIE_WRITTEN_KEY] = key


def workspace_link() -> str | None:
    """The link that opens this workspace anywhere (None when the session has no key)."""
    key = st.session_state.get(state.WORKSPACE_KEY)
    if key is None:
        return None
    return f"{st.session_state.get(APP_URL_KEY, '')}/?{LINK_PARAM}={key}"


def start_new_workspace() -> None:
    """A button callback: a fresh, empty workspace for this browser from now on."""
    state.enter_workspace(*workspaces.create())
    for key in (state.JOB_KEY, state.FINE_TUNE_JOB_KEY, state.NOTICE_KEY, state.SHARED_KEY):
        st.session_state.pop(key, None)
    st.session_state[state.PENDING_MODEL_KEY] = st.session_state.get(state.MODEL_KEY)


def show_workspace() -> None:
    """The sidebar's Workspace section: what it is, the link to it, and a new one."""
    remember_in_browser()
    if st.session_state.pop(LINK_REFUSED_KEY, False):
        st.warning(
            "That workspace link opens nothing: it was mistyped, or its workspace was "
            "removed. You are in this browser's own workspace.",
            icon=":material/link_off:",
        )
    with st.expander("Workspace", icon=":material/work:"):
        st.caption(
            "Your runs, drawings, searches and choices live in your workspace. This browser "
            "remembers it (a cookie), so a reload or a visit next week finds them again."
        )
        if st.toggle("Open my workspace on another device", key="workspace_show_link"):
            link = workspace_link()
            if link is not None:
                st.code(link, language=None, wrap_lines=True)
                st.caption(
                    "This link carries your workspace's key: whoever has it can see and change "
                    "everything in it. Keep it to yourself; to show one model, share that run "
                    "instead (Runs page)."
                )
        st.button(
            "Start a new workspace",
            on_click=start_new_workspace,
            key="workspace_new",
            icon=":material/add:",
            help="An empty workspace for this browser. The one you leave stays on the server, "
            "but only its link opens it again: copy that first.",
        )
