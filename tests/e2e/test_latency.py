"""How long a drawing waits for its answer in a real browser: pen-up of the first stroke to
the new Prediction, for 20 pen-written digits, against the same strokes on the bare canvas
page (echo_app.py), whose answer costs only the component and Streamlit.

A measurement with a target, so marked `bench`: `make bench` runs it (after the training
and prediction bench), not `make test`. Alone, `python -m pytest -m bench -s
tests/e2e/test_latency.py` prints the report.
"""

from __future__ import annotations

import dataclasses
import statistics
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser

from .browser import StreamlitPage
from .handwriting import Replay, canvas_strokes, echo_latency, pendigits_sample, replay, warm_up
from .tabs import new_tab

pytestmark = [pytest.mark.slow, pytest.mark.bench]  # 20 digits on two apps: a minute

PER_CLASS = 2  # 20 digits, each drawn on the app and its first stroke on the echo app
APP_LATENCY_BOUND_MS = 3000  # a sanity bound on the app's own median
LATENCY_TARGET_MS = 100  # the goal: the app's median at most this much above the echo app's
ANSWER_TARGET_MS = 300  # issue 22: the app's own median, pen-up to answer, on this machine
# Asserted: the target plus a margin for the 2-core development machine, shared with other
# work. With the drawing in a fragment and the answer sent first, the excess measured
# +48 ms (load average 8-9; +310 ms before, in the same minutes).
LATENCY_LIMIT_MS = LATENCY_TARGET_MS + 150


def summary(latencies: list[float]) -> str:
    return f"median {statistics.median(latencies):.0f} ms, worst {max(latencies):.0f} ms"


@pytest.fixture(scope="module")
def latencies(browser: Browser, app_url: str, echo_url: str) -> Iterator[list[Replay]]:
    """20 digits replayed on the app, each first stroke also on the echo app right after,
    so that a machine that gets busier or quieter meanwhile affects both alike."""
    digits = pendigits_sample(PER_CLASS)
    app = StreamlitPage(new_tab(browser), scripted_pen=True)
    app.open(app_url)
    warm_up(app)
    echo = StreamlitPage(new_tab(browser), scripted_pen=True)
    echo.open(echo_url)
    echo_latency(echo, canvas_strokes(digits[0])[0])  # a warm-up, not counted, as for the app
    replays = []
    for digit in digits:
        app.page.bring_to_front()
        replayed = replay(app, digit, timed=True)
        echoed = echo_latency(echo, canvas_strokes(digit)[0])
        replays.append(dataclasses.replace(replayed, echo_latency_ms=echoed))
    yield replays
    app.page.close()
    echo.page.close()


def test_stroke_to_prediction_latency(latencies: list[Replay]) -> None:
    """Pen-up to new Prediction, timed in the page, for the app and the bare echo app.

    The targets (the app's median at most 100 ms above the echo app's, and at most 300 ms
    in all) are printed with their verdicts; what is asserted is the first plus a margin
    that holds on a busy shared 2-core machine (LATENCY_LIMIT_MS), and a sanity bound on
    the app's own median.
    """
    app_all = [r.latency_ms for r in latencies if r.latency_ms is not None]
    assert len(app_all) == len(latencies), "some digits' Prediction never changed"
    pairs = [
        (r.latency_ms, r.echo_latency_ms)
        for r in latencies
        if r.latency_ms is not None and r.echo_latency_ms is not None
    ]
    assert len(pairs) >= 20, f"only {len(pairs)} digits were also drawn on the echo app"
    app_paired = [app for app, _ in pairs]
    echo_paired = [echo for _, echo in pairs]

    excess = statistics.median(app_paired) - statistics.median(echo_paired)
    paired_excess = statistics.median(app - echo for app, echo in pairs)
    verdict = "MET" if excess <= LATENCY_TARGET_MS else "NOT MET"
    own_verdict = "MET" if statistics.median(app_all) <= ANSWER_TARGET_MS else "NOT MET"
    print(
        "\nStroke-to-prediction latency (pen-up to new Prediction text, timed in the page):\n"
        f"  app,  all {len(app_all)} digits:       {summary(app_all)}\n"
        f"  app,  {len(pairs)} digits also echoed: {summary(app_paired)}\n"
        f"  echo, the same {len(pairs)} strokes:    {summary(echo_paired)}\n"
        f"  app median - echo median = {excess:+.0f} ms "
        f"(median of per-digit differences {paired_excess:+.0f} ms); "
        f"target <= {LATENCY_TARGET_MS} ms: {verdict}; limit {LATENCY_LIMIT_MS} ms\n"
        f"  app median target <= {ANSWER_TARGET_MS} ms: {own_verdict}"
    )
    assert statistics.median(app_all) < APP_LATENCY_BOUND_MS
    assert excess <= LATENCY_LIMIT_MS, (
        f"the app's median answer came {excess:+.0f} ms after the echo app's "
        f"(limit {LATENCY_LIMIT_MS} ms)"
    )
