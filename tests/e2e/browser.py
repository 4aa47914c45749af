"""What the browser tests share: a Streamlit server in a subprocess, a page driver, and the
helpers for DigitLab's own controls (Clear, a selectbox, the sidebar's training form).

Kept out of conftest.py so the tests can import the driver by name for their type hints;
test modules import from here, never from one another.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from playwright.sync_api import Browser, Locator, Page, expect
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from helpers import free_port, wait_until_healthy

REPO_ROOT = Path(__file__).resolve().parents[2]
SERVER_START_TIMEOUT_S = 60.0
RUN_TIMEOUT_MS = 30_000  # one script run; the first one loads TensorFlow and a model
QUIET_MS = 150  # nothing sent or received for this long after a run: the app has settled
BLANK = "—"  # what the Prediction metric reads before anything is drawn
# A plain "1": a straight down-stroke in the middle of the 280x280 canvas.
ONE = [[[140.0, 50.0 + 20.0 * step] for step in range(10)]]
# Wide enough for the sidebar and the Draw page's three columns side by side: at 1400 px
# the canvas column is narrower than the 280-px canvas, which then loses its right edge.
VIEWPORT = {"width": 1600, "height": 1000}

# Installed before any page script: watches the app's traffic, to tell when it has settled.
# - Every message over Streamlit's WebSocket, both ways: an action (a stroke, a click) sends
#   one, and the script run it starts answers with several, the last when the run ends.
# - The script-state attribute that Streamlit keeps on its root element for its own
#   end-to-end tests; it covers a long run that goes quiet for a while, but a fast run may
#   start and end within one render and never show in it.
# The "running" status widget alone is not enough: Streamlit shows it only after a delay.
RUN_WATCHER_JS = """
(() => {
  const watch = { sent: 0, lastSent: 0, received: 0, lastReceived: 0, busy: true };
  window.__runWatch = watch;
  const NativeWebSocket = window.WebSocket;
  window.WebSocket = class extends NativeWebSocket {
    constructor(...args) {
      super(...args);
      this.addEventListener('message', () => {
        watch.received += 1;
        watch.lastReceived = performance.now();
      });
    }
    send(data) {
      watch.sent += 1;
      watch.lastSent = performance.now();
      return super.send(data);
    }
  };
  const attach = () => {
    const app = document.querySelector('[data-testid="stApp"]');
    if (!app) { setTimeout(attach, 10); return; }
    const update = () => {
      watch.busy = app.getAttribute('data-test-script-state') !== 'notRunning';
    };
    new MutationObserver(update).observe(app, {
      attributes: true, attributeFilter: ['data-test-script-state'],
    });
    update();
  };
  attach();
})();
"""

# Settled: what the page last sent has been answered, nothing has come or gone for quietMs,
# no run is showing as going, and no status widget is up.
SETTLED_JS = """
([sentBefore, quietMs]) => {
  const watch = window.__runWatch;
  const now = performance.now();
  return watch.sent > sentBefore && watch.lastReceived > watch.lastSent
    && now - watch.lastReceived > quietMs && now - watch.lastSent > quietMs
    && !watch.busy && !document.querySelector('[data-testid="stStatusWidget"]');
}
"""

# Pixels with any alpha on a canvas: the drawing is black on a transparent background.
COUNT_INK_JS = """
canvas => {
  const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
  let inked = 0;
  for (let i = 3; i < data.length; i += 4) if (data[i] !== 0) inked += 1;
  return inked;
}
"""

READ_METRIC_JS = """
(label) => {
  for (const metric of document.querySelectorAll('[data-testid="stMetric"]')) {
    const name = metric.querySelector('[data-testid="stMetricLabel"]');
    if (name && name.innerText.trim() === label) {
      const value = metric.querySelector('[data-testid="stMetricValue"]');
      return value ? value.innerText.trim() : null;
    }
  }
  return null;
}
"""

# Armed while the pen is still down: notes the time of the real mouseup event in the page,
# then watches the DOM and records how long the Prediction metric took to show a value
# different from `previous`. A MutationObserver fires on the DOM change itself, finer than
# polling once a frame; the paint follows within a frame. If the app settles without a new
# value (a stroke too small to count as a drawing), it gives up with ms = null.
LATENCY_PROBE_JS = f"""
(previous) => {{
  const read = () => ({READ_METRIC_JS})('Prediction');
  const watch = window.__runWatch;
  const sentBefore = watch.sent;
  window.__latency = undefined;
  let penUp = null;
  window.addEventListener('mouseup', () => {{ penUp = performance.now(); }},
                          {{ capture: true, once: true }});
  const finish = (ms) => {{
    observer.disconnect();
    clearInterval(poll);
    clearTimeout(timer);
    window.__latency = {{ ms, value: read() }};
  }};
  const check = () => {{
    if (penUp === null || window.__latency !== undefined) return;
    const value = read();
    if (value !== null && value !== previous) {{
      finish(performance.now() - penUp);
    }} else if (watch.sent > sentBefore && watch.lastReceived > watch.lastSent
               && performance.now() - watch.lastReceived > 500 && !watch.busy) {{
      finish(null);
    }}
  }};
  const observer = new MutationObserver(check);
  observer.observe(document.body, {{ subtree: true, childList: true, characterData: true }});
  const poll = setInterval(check, 50);  // for the give-up case, which changes no DOM
  const timer = setTimeout(() => finish(null), {RUN_TIMEOUT_MS});
}}
"""


@contextmanager
def streamlit_server(script: Path, work_dir: Path) -> Iterator[str]:
    """Run `streamlit run script` from the repo root on a free port; yield its URL.

    The server gets its own model store under work_dir, so training in a test never
    touches the user's ~/.digitlab; its output goes to a file there (a pipe nobody reads
    would fill up and stall the server).
    """
    store = work_dir / "store"
    store.mkdir(parents=True, exist_ok=True)
    log_path = work_dir / "server.log"
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {**os.environ, "DIGITLAB_STORE_DIR": str(store), "PYTHONUNBUFFERED": "1"}
    command = [
        sys.executable, "-m", "streamlit", "run", str(script),
        "--server.headless", "true",
        "--server.address", "127.0.0.1",
        "--server.port", str(port),
        "--server.fileWatcherType", "none",
        "--browser.gatherUsageStats", "false",
    ]  # fmt: skip
    with open(log_path, "wb") as log:
        process = subprocess.Popen(command, cwd=REPO_ROOT, env=env, stdout=log, stderr=log)
    try:
        wait_until_healthy(
            f"{url}/_stcore/health",
            process,
            SERVER_START_TIMEOUT_S,
            log=lambda: log_path.read_text(errors="replace"),
        )
        yield url
    finally:
        process.terminate()
        try:
            # The app stops a running training job on exit, which can take a few seconds.
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def new_tab(browser: Browser) -> Page:
    """A tab in a context of its own: a fresh Streamlit session with no shared state."""
    return browser.new_context(viewport=VIEWPORT).new_page()


class StreamlitPage:
    """Drives one browser tab of a Streamlit app that has a canvas and a Prediction metric."""

    def __init__(self, page: Page) -> None:
        self.page = page
        page.add_init_script(RUN_WATCHER_JS)

    # --- waiting for the app -------------------------------------------------------------

    def open(self, url: str) -> None:
        self.page.goto(url)
        expect(self.metric_value("Prediction")).to_be_visible(timeout=60_000)
        self.wait_until_quiet()

    def messages_sent(self) -> int:
        """How many messages this tab has sent its server: take it before an action."""
        return int(self.page.evaluate("window.__runWatch.sent"))

    def wait_until_settled(
        self,
        sent_before: int = 0,
        quiet_ms: float = QUIET_MS,
        timeout_ms: float = RUN_TIMEOUT_MS,
    ) -> None:
        """Wait until the tab has sent a message after `sent_before` and the app is still.

        Still: every message sent was answered, and nothing came or went for quiet_ms.
        """
        try:
            self.page.wait_for_function(SETTLED_JS, arg=[sent_before, quiet_ms], timeout=timeout_ms)
        except PlaywrightTimeoutError:
            state = self.page.evaluate(
                """() => ({ ...window.__runWatch, now: performance.now(),
                    status: !!document.querySelector('[data-testid="stStatusWidget"]') })"""
            )
            raise AssertionError(
                f"the app did not settle within {timeout_ms:.0f} ms after message "
                f"{sent_before}: {state}"
            ) from None

    def wait_until_quiet(
        self, quiet_ms: float = QUIET_MS, timeout_ms: float = RUN_TIMEOUT_MS
    ) -> None:
        """Wait until the app has been still for quiet_ms (after whatever happened last)."""
        self.wait_until_settled(0, quiet_ms, timeout_ms)

    # --- reading ---------------------------------------------------------------------------

    def metric_value(self, label: str) -> Locator:
        label_locator = self.page.get_by_test_id("stMetricLabel").get_by_text(label, exact=True)
        return (
            self.page.get_by_test_id("stMetric")
            .filter(has=label_locator)
            .get_by_test_id("stMetricValue")
        )

    def read_metric(self, label: str) -> str | None:
        """The metric's value text now, or None when the page does not show it."""
        return self.page.evaluate(READ_METRIC_JS, label)

    def prediction(self) -> str:
        """The Prediction metric's value once the app has settled."""
        self.wait_until_quiet()
        value = self.read_metric("Prediction")
        assert value is not None, "the page shows no Prediction metric"
        return value

    # --- drawing ---------------------------------------------------------------------------

    def canvas(self) -> Locator:
        # Playwright's CSS engine pierces the component's open shadow root.
        return self.page.locator("canvas.upper-canvas")

    def ink_while_drawing(self) -> int:
        """Inked pixels on the canvas that shows a stroke while the pen is still down."""
        return int(self.canvas().evaluate(COUNT_INK_JS))

    def ink_pixels(self) -> int:
        """Inked pixels on all of the component's canvases (drawn strokes and the one going)."""
        canvases = self.page.locator("canvas.lower-canvas, canvas.upper-canvas")
        counts = canvases.evaluate_all(f"canvases => canvases.map({COUNT_INK_JS})")
        assert counts, "no canvas found"
        return int(sum(counts))

    def _trace(self, points: Sequence[Sequence[float]], steps: int) -> None:
        canvas = self.canvas()
        # Under load the canvas can take a moment to appear after a page switch.
        canvas.wait_for(state="visible", timeout=RUN_TIMEOUT_MS)
        box = canvas.bounding_box()
        assert box is not None, "the canvas is not visible"
        left, top = box["x"], box["y"]
        # Playwright wants plain floats, not numpy scalars.
        first_x, first_y = (float(value) for value in points[0])
        self.page.mouse.move(left + first_x, top + first_y)
        self.page.mouse.down()
        for x, y in points[1:]:
            self.page.mouse.move(left + float(x), top + float(y), steps=steps)

    def draw_stroke(self, points: Sequence[Sequence[float]], steps: int = 1) -> None:
        """Press at the first point, move through the rest, and keep the pen down.

        The caller lifts the pen (page.mouse.up()), so it can arm a probe just before.
        A canvas that has just appeared can take a moment before it draws; a stroke
        that left no ink is lifted and drawn again, as a person would.
        """
        for _ in range(3):
            self._trace(points, steps)
            if self.ink_while_drawing() > 0:
                return
            self.page.mouse.up()
            print("e2e: the canvas took no ink from a stroke; drawing it again")
            self.page.wait_for_timeout(100)
        raise AssertionError("the canvas takes no strokes")

    def stroke_and_wait(self, points: Sequence[Sequence[float]]) -> None:
        """Draw one stroke, lift the pen and wait for the run it starts to end."""
        self.draw_stroke(points)
        # Counted at the last moment: the canvas holds each stroke back for 200 ms and
        # sends only the newest, so the next message it sends carries this stroke.
        sent = self.messages_sent()
        self.page.mouse.up()
        self.wait_until_settled(sent)

    def stroke_with_latency(self, points: Sequence[Sequence[float]]) -> float | None:
        """Draw one stroke; return the ms from pen-up until the Prediction changed.

        None when it did not change (the stroke alone reads as blank, or as the same
        digit as before): start from a blank canvas to be sure of a change.
        """
        previous = self.read_metric("Prediction")
        self.draw_stroke(points)
        self.page.evaluate(LATENCY_PROBE_JS, previous)
        self.page.mouse.up()
        self.page.wait_for_function(
            "() => window.__latency !== undefined", timeout=RUN_TIMEOUT_MS + 5_000
        )
        milliseconds = self.page.evaluate("window.__latency.ms")
        return None if milliseconds is None else float(milliseconds)

    def draw(self, strokes: Sequence[Sequence[Sequence[float]]]) -> None:
        """Draw a whole digit, one stroke after another, each one's run finished."""
        for stroke in strokes:
            self.stroke_and_wait(stroke)
        self.wait_until_quiet()
        # The component shows its toolbar while hovered, over the widgets above the canvas.
        self.page.mouse.move(0, 0)

    def click_and_wait(self, target: Locator) -> None:
        """Click something that reruns the app and wait for the run to end."""
        sent = self.messages_sent()
        target.click()
        self.wait_until_settled(sent)

    def expect_blank(self) -> None:
        """Wait until the Prediction reads "—" and the app is still."""
        # Polled every frame: expect() backs off to checks a second apart, which would
        # cost more than the run itself 50 times over in the handwriting replay.
        self.page.wait_for_function(
            f"(blank) => ({READ_METRIC_JS})('Prediction') === blank",
            arg=BLANK,
            timeout=RUN_TIMEOUT_MS,
        )
        self.wait_until_quiet()


# --- DigitLab's controls -------------------------------------------------------------------


def clear_button(app: StreamlitPage) -> Locator:
    return app.page.get_by_role("button", name="Clear", exact=True)


def choose_option(page: Page, combobox: Locator, option: re.Pattern[str]) -> None:
    """Open a selectbox and click the option whose accessible name matches."""
    for _ in range(3):
        # Right after a rerun that changed its value, the first click on a selectbox can
        # leave it closed (seen after a training job ends); a second one opens it.
        combobox.click()
        try:
            expect(combobox).to_have_attribute("aria-expanded", "true", timeout=2_000)
            break
        except AssertionError:
            continue
    page.get_by_role("option", name=option).click()


def choose_model_to_train(app: StreamlitPage, model: str) -> Locator:
    """Pick a model in the sidebar form and wait for the rerun that fills in its recipe.

    Typing into the form before that rerun lands races it: the recipe's value can be
    merged into what was typed (20 became 520 once)."""
    combobox = app.page.get_by_test_id("stSidebar").get_by_role("combobox", name="Model to train")
    choose_option(app.page, combobox, re.compile(f"^{model}$"))
    expect(combobox).to_have_value(model)
    app.wait_until_quiet()
    return combobox


def set_number(field: Locator, value: int) -> None:
    # Tab commits the value by blurring; Enter would submit the surrounding form.
    field.fill(str(value))
    field.press("Tab")
    expect(field).to_have_value(str(value))
