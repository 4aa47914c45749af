"""What the browser tests share: a page driver, and the helpers for DigitLab's own controls
(Clear, a selectbox, the sidebar's training form). The server they drive: server.py.

Kept out of conftest.py so the tests can import the driver by name for their type hints;
test modules import from here, never from one another.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from playwright.sync_api import Locator, Page, expect
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

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

# A stroke as page events rather than browser input (see StreamlitPage's `scripted_pen`):
# the canvas's drawing library starts a path on mousedown on the canvas, extends it on each
# mousemove and ends it on a mouseup anywhere in the document. Points are canvas pixels.
SCRIPTED_PEN_JS = """
(canvas, [kind, points]) => {
  const box = canvas.getBoundingClientRect();
  const fire = (target, type, [x, y], buttons) => target.dispatchEvent(new MouseEvent(type, {
    bubbles: true, cancelable: true, composed: true, view: window, button: 0, buttons,
    clientX: box.left + x, clientY: box.top + y,
  }));
  if (kind === 'up') { fire(document, 'mouseup', points[0], 0); return; }
  fire(canvas, 'mousedown', points[0], 1);
  for (const point of points.slice(1)) fire(canvas, 'mousemove', point, 1);
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


class StreamlitPage:
    """Drives one browser tab of a Streamlit app that has a canvas and a Prediction metric.

    The pen is the browser's own mouse input by default: each point a separate input event,
    about one a frame (~19 ms). With `scripted_pen`, a stroke is dispatched as page events in
    one go (~40 ms for 40 points): the canvas draws the same path and the app gets the same
    message, but the browser's input routing is skipped. The long handwriting replay uses
    it; the tests about the canvas itself keep the real mouse.
    """

    def __init__(self, page: Page, scripted_pen: bool = False) -> None:
        self.page = page
        self.scripted_pen = scripted_pen
        self._pen_at: list[float] = [0.0, 0.0]
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
        # Playwright wants plain floats, not numpy scalars.
        points = [[float(x), float(y)] for x, y in points]
        self._pen_at = points[-1]
        if self.scripted_pen:
            canvas.evaluate(SCRIPTED_PEN_JS, ["down", points])
            return
        box = canvas.bounding_box()
        assert box is not None, "the canvas is not visible"
        left, top = box["x"], box["y"]
        self.page.mouse.move(left + points[0][0], top + points[0][1])
        self.page.mouse.down()
        for x, y in points[1:]:
            self.page.mouse.move(left + x, top + y, steps=steps)

    def lift_pen(self) -> None:
        """End the stroke that draw_stroke left going."""
        if self.scripted_pen:
            self.canvas().evaluate(SCRIPTED_PEN_JS, ["up", [self._pen_at]])
        else:
            self.page.mouse.up()

    def draw_stroke(self, points: Sequence[Sequence[float]], steps: int = 1) -> None:
        """Press at the first point, move through the rest, and keep the pen down.

        The caller lifts the pen (lift_pen()), so it can arm a probe just before.
        A canvas that has just appeared can take a moment before it draws; a stroke
        that left no ink is lifted and drawn again, as a person would.
        """
        for _ in range(3):
            self._trace(points, steps)
            if self.ink_while_drawing() > 0:
                return
            self.lift_pen()
            print("e2e: the canvas took no ink from a stroke; drawing it again")
            self.page.wait_for_timeout(100)
        raise AssertionError("the canvas takes no strokes")

    def stroke(self, points: Sequence[Sequence[float]]) -> int:
        """Draw one stroke and lift the pen, without waiting for the app.

        Returns how many messages the tab had sent just before the pen-up: the canvas holds
        each stroke back for 200 ms and sends only the newest, so the next message after
        that carries this stroke; wait_until_settled(the count) waits for its run.
        """
        self.draw_stroke(points)
        sent = self.messages_sent()
        self.lift_pen()
        return sent

    def stroke_and_wait(self, points: Sequence[Sequence[float]]) -> None:
        """Draw one stroke, lift the pen and wait for the run it starts to end."""
        self.wait_until_settled(self.stroke(points))

    def stroke_with_latency(self, points: Sequence[Sequence[float]]) -> float | None:
        """Draw one stroke; return the ms from pen-up until the Prediction changed.

        None when it did not change (the stroke alone reads as blank, or as the same
        digit as before): start from a blank canvas to be sure of a change.
        """
        previous = self.read_metric("Prediction")
        self.draw_stroke(points)
        self.page.evaluate(LATENCY_PROBE_JS, previous)
        self.lift_pen()
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

    def wait_for_blank(self) -> None:
        """Wait until the Prediction reads "—" (the run that cleared it may go on)."""
        # Polled every frame: expect() backs off to checks a second apart, which would
        # cost more than the run itself 50 times over in the handwriting replay.
        self.page.wait_for_function(
            f"(blank) => ({READ_METRIC_JS})('Prediction') === blank",
            arg=BLANK,
            timeout=RUN_TIMEOUT_MS,
        )

    def expect_blank(self) -> None:
        """Wait until the Prediction reads "—" and the app is still."""
        self.wait_for_blank()
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
