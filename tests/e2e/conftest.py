"""Fixtures for the browser tests: a headless Chromium and DigitLab served by Streamlit."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Error, Playwright, expect, sync_playwright

from .browser import StreamlitPage
from .server import REPO_ROOT, streamlit_server
from .tabs import is_tab_context, new_tab

SYSTEM_CHROMIUM = Path("/usr/bin/chromium")
# expect() waits 5 s by default; `make test` runs two test files at once on 2 cores, where
# an element that follows a script run (a chart, a notice) can take longer than that.
expect.set_options(timeout=15_000)
# Headless in a container: no sandbox (no user namespaces), no GPU, and none of the
# background traffic that would wait on a network this machine does not have.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="session")
def playwright_driver() -> Iterator[Playwright]:
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="session")
def browser(playwright_driver: Playwright) -> Iterator[Browser]:
    """Debian's Chromium when installed, else Playwright's own; the tests skip without one."""
    failures: list[str] = []
    launched: Browser | None = None
    if SYSTEM_CHROMIUM.exists():
        try:
            launched = playwright_driver.chromium.launch(
                executable_path=str(SYSTEM_CHROMIUM), headless=True, args=CHROMIUM_ARGS
            )
        except Error as error:
            failures.append(f"{SYSTEM_CHROMIUM}: {error.message.splitlines()[0]}")
    if launched is None:
        try:
            launched = playwright_driver.chromium.launch(headless=True, args=CHROMIUM_ARGS)
        except Error as error:
            failures.append(f"Playwright's chromium: {error.message.splitlines()[0]}")
    if launched is None:
        pytest.skip("no Chromium could be launched for the browser tests: " + "; ".join(failures))
    yield launched
    launched.close()


@pytest.fixture(scope="session")
def app_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """DigitLab served once for all browser tests, with a model store of its own."""
    with streamlit_server(REPO_ROOT / "streamlit_app.py", tmp_path_factory.mktemp("app")) as url:
        yield url


@pytest.fixture(scope="session")
def echo_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The bare canvas page: the latency baseline, started when first needed."""
    script = Path(__file__).with_name("echo_app.py")
    with streamlit_server(script, tmp_path_factory.mktemp("echo")) as url:
        yield url


@pytest.fixture
def app(browser: Browser, app_url: str) -> Iterator[StreamlitPage]:
    """A fresh tab (so a fresh Streamlit session) on DigitLab's Draw page, settled."""
    page = new_tab(browser)
    driver = StreamlitPage(page)
    driver.open(app_url)
    yield driver
    page.close()


def _close_tabs_opened_since(request: pytest.FixtureRequest, before: set[int]) -> None:
    """Contexts opened since are closed; in new_tab's reusable ones, the tabs opened since."""
    browser = request.getfixturevalue("browser")
    for context in list(browser.contexts):
        if id(context) in before or is_tab_context(context):
            for page in context.pages:
                if id(page) not in before:
                    page.close()
        else:
            context.close()


def _open_tabs(request: pytest.FixtureRequest) -> set[int] | None:
    """The browser's open contexts and tabs now, or None when this test uses no browser."""
    if "browser" not in request.fixturenames:
        return None
    contexts = request.getfixturevalue("browser").contexts
    return {id(context) for context in contexts} | {
        id(page) for context in contexts for page in context.pages
    }


# A tab left open keeps its Streamlit session alive: a websocket, reruns, and a renderer
# at a third of a core, taken from every test after it. Whatever a test (or a module's
# fixture) opened is closed when it ends.
@pytest.fixture(autouse=True)
def close_the_tests_tabs(request: pytest.FixtureRequest) -> Iterator[None]:
    before = _open_tabs(request)
    yield
    if before is not None:
        _close_tabs_opened_since(request, before)


@pytest.fixture(scope="module", autouse=True)
def close_the_modules_tabs(request: pytest.FixtureRequest) -> Iterator[None]:
    before = _open_tabs(request)
    yield
    if before is not None:
        _close_tabs_opened_since(request, before)
