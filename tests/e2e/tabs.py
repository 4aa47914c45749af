"""Browser tabs for the tests, each a fresh Streamlit session: contexts are reused once all
their tabs are closed, which keeps Streamlit's scripts in the HTTP cache."""

from __future__ import annotations

from playwright.sync_api import Browser, BrowserContext, Page

from .browser import VIEWPORT

# Contexts that new_tab made. One whose tabs are all closed is used again, its cookies
# cleared: DigitLab's page then opens ~0.7 s sooner (Streamlit's scripts come from the
# context's HTTP cache, 3.8-4.6 s against 4.3-6.7 s under the suite's load), and the tab is
# still a new Streamlit session in a new workspace (the workspace is a cookie).
_tab_contexts: list[BrowserContext] = []


def new_tab(browser: Browser) -> Page:
    """A tab in a context no other open tab shares: a fresh Streamlit session with no shared
    state. Close it with page.close(), so its context can serve the next tab."""
    for context in _tab_contexts:
        if context.browser is browser and not context.pages:
            context.clear_cookies()
            return context.new_page()
    context = browser.new_context(viewport=VIEWPORT)
    _tab_contexts.append(context)
    context.on("close", lambda closed: _tab_contexts.remove(closed))
    return context.new_page()


def is_tab_context(context: BrowserContext) -> bool:
    """Whether new_tab made this context (it stays open between tabs)."""
    return context in _tab_contexts
