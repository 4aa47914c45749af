"""Hostile input against a real `python -m digitlab serve`: bombs, bad run ids, foreign
formats, slow bodies, odd content types, clients that leave, and a seeded fuzz.

One server for the module; its log is kept, to check that nothing in it is a traceback.
"""

from __future__ import annotations

import io
import socket
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests
from bombs import all_bombs
from fuzz_cases import CATEGORIES, hostile_cases
from memory import peak_rss
from PIL import Image

from helpers import api_server_process, drawn_seven

START_TIMEOUT_S = 120
BOMB_MEMORY_LIMIT_MB = 300
FUZZ_SEED, FUZZ_COUNT, FUZZ_THREADS = 25, 1000, 6


@dataclass(frozen=True)
class Server:
    url: str
    pid: int
    log: Path

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory):
    """A real server, warmed by one prediction (its model loaded, as a live server's is)."""
    folder = tmp_path_factory.mktemp("hostile")
    log = folder / "server.log"
    with api_server_process(folder / "store", START_TIMEOUT_S, log) as (url, process):
        assert requests.post(f"{url}/predict", data=seven_png(), timeout=60).status_code == 200
        yield Server(url, process.pid, log)


@pytest.fixture(scope="module")
def bombs() -> dict[str, bytes]:
    return all_bombs()


def seven_png() -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(drawn_seven()).save(buffer, format="PNG")
    return buffer.getvalue()


def post(server: Server, body: bytes, query: str = "", **options) -> requests.Response:
    return requests.post(f"{server.url}/predict{query}", data=body, timeout=60, **options)


def healthy(server: Server) -> bool:
    answer = requests.get(f"{server.url}/health", timeout=10)
    return answer.status_code == 200 and answer.json()["status"] == "ok"


def raw_connection(server: Server) -> socket.socket:
    parts = urlsplit(server.url)
    return socket.create_connection((parts.hostname, parts.port), timeout=15)


def head(length: int) -> bytes:
    return (
        f"POST /predict HTTP/1.1\r\nHost: test\r\nContent-Type: image/png\r\n"
        f"Content-Length: {length}\r\n\r\n"
    ).encode()


def test_every_bomb_is_refused_before_decoding(server, bombs):
    for name, data in bombs.items():
        answer = post(server, data)
        if name == "png_text":  # fine pixels, 40 MB of text: not read at all
            assert answer.status_code == 400, answer.text
        else:
            assert answer.status_code == 413, (name, answer.text)
            assert "pixels" in answer.json()["error"] or "too large" in answer.json()["error"]
    form = requests.post(f"{server.url}/predict", files={"file": bombs["png_16bit"]}, timeout=60)
    assert form.status_code == 413 and "6000x6000" in form.json()["error"]


def test_eight_bombs_at_once_keep_the_server_small(server, bombs):
    kinds = ["webp_lossless", "png_gray", "png_16bit", "png_rgba", "png_tall", "png_text",
             "gif", "tiff_deflate"]  # fmt: skip
    with peak_rss(server.pid) as memory, ThreadPoolExecutor(len(kinds)) as pool:
        answers = list(pool.map(lambda kind: post(server, bombs[kind]), kinds))
    assert [answer.status_code for answer in answers] == [413] * 5 + [400] + [413] * 2
    grown = memory["peak"] - memory["before"]
    print(f"8 bombs at once: {memory['before']:.0f} MB before, +{grown:.0f} MB at the peak")
    assert grown < BOMB_MEMORY_LIMIT_MB
    assert healthy(server)


@pytest.mark.parametrize(
    "run_id",
    ["9223372036854775808", "9223372036854775807", "99999999999999999999999", "9" * 5000,
     "²", "①", "１２", "-1", "1e3", "0x10", "", "mlp\x00", "../../etc"],
)  # fmt: skip
def test_hostile_run_ids_are_404_never_500(server, run_id):
    answer = post(server, seven_png(), params={"run": run_id})
    assert answer.status_code == 404, answer.text
    assert answer.json()["error"].startswith("No run")


def test_query_numbers_are_parsed_strictly(server):
    for text in ["1_0", "inf", "١", "0x1", " 1", "1e999"]:
        answer = post(server, seven_png(), params={"temperature": text})
        assert answer.status_code == 400, text
    for text in ["2", "2.5", ".5", "1e0", "+3"]:
        assert post(server, seven_png(), params={"temperature": text}).status_code == 200


def short_body(server: Server) -> tuple[float, bytes]:
    """Declare 1000 bytes, send 10 and wait: seconds until the server answers, and what."""
    with raw_connection(server) as connection:
        connection.sendall(head(1000) + b"\x89PNG\r\n\x1a\n\x00\x00")
        return _answer(connection)


def dripping_body(server: Server) -> tuple[float, bytes]:
    """Declare 1000 bytes and send one every half second."""
    with raw_connection(server) as connection:
        connection.sendall(head(1000))
        connection.settimeout(0.5)
        start = time.monotonic()
        for _ in range(30):
            try:
                connection.sendall(b"x")
                received = connection.recv(65536)
            except TimeoutError:
                continue
            except OSError:  # closed on us: an answer too
                return time.monotonic() - start, b""
            return time.monotonic() - start, received
        return time.monotonic() - start, b"no answer"


def _answer(connection: socket.socket) -> tuple[float, bytes]:
    start = time.monotonic()
    try:
        received = connection.recv(65536)
    except OSError:
        received = b""
    return time.monotonic() - start, received


def test_a_slow_or_short_body_gets_408_within_ten_seconds(server):
    with ThreadPoolExecutor(2) as pool:
        waits = [pool.submit(short_body, server), pool.submit(dripping_body, server)]
        time.sleep(1)
        started = time.monotonic()
        assert healthy(server)  # the stalled bodies hold no slot that others need
        assert time.monotonic() - started < 2
        answers = [wait.result() for wait in waits]
    for seconds, received in answers:
        assert seconds < 11, seconds
        assert received == b"" or received.startswith(b"HTTP/1.1 408"), received[:200]
    assert any(received.startswith(b"HTTP/1.1 408") for _, received in answers)


@pytest.mark.parametrize("fmt", ["EPS", "PDF"])
def test_eps_and_pdf_never_reach_a_reader(server, fmt):
    buffer = io.BytesIO()
    Image.fromarray(drawn_seven()).convert("RGB").save(buffer, format=fmt)
    answer = post(server, buffer.getvalue())
    assert answer.status_code == 400
    assert "accepted: PNG, JPEG, GIF, BMP, WEBP, TIFF" in answer.json()["error"]


def test_a_capitalised_multipart_type_is_a_form(server):
    prepared = requests.Request(
        "POST", f"{server.url}/predict", files={"file": ("seven.png", seven_png())}
    ).prepare()
    content_type = prepared.headers["Content-Type"].replace("multipart/form", "Multipart/Form")
    answer = requests.post(
        prepared.url, data=prepared.body, headers={"Content-Type": content_type}, timeout=60
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["path"] == "seven.png" and answer.json()["label"] == 7


def test_a_client_leaving_mid_body_is_one_line_in_the_log(server):
    before = server.log_text().count("mid-body")
    with raw_connection(server) as connection:
        connection.sendall(head(100_000) + bytes(1000))
    deadline = time.monotonic() + 10
    while server.log_text().count("mid-body") == before and time.monotonic() < deadline:
        time.sleep(0.1)
    log = server.log_text()
    assert log.count("mid-body") == before + 1
    assert "Traceback" not in log and "Exception in ASGI application" not in log


def send(server: Server, case, session: requests.Session) -> int:
    answer = session.request(
        case.method, f"{server.url}{case.path}", data=case.body, headers=case.headers, timeout=60
    )
    return answer.status_code


def test_a_thousand_hostile_requests_get_no_5xx(server, bombs):
    """1,000 seeded cases from every category, from a few threads at once; every answer is
    one its case allows (none a 5xx), and /health answers ok throughout."""
    cases = hostile_cases(FUZZ_SEED, FUZZ_COUNT, bombs)
    sessions = [requests.Session() for _ in range(FUZZ_THREADS)]
    start = time.monotonic()
    with ThreadPoolExecutor(FUZZ_THREADS) as pool:
        statuses = list(
            pool.map(
                lambda item: send(server, item[1], sessions[item[0] % FUZZ_THREADS]),
                enumerate(cases),
            )  # fmt: skip
        )
        health = [pool.submit(healthy, server) for _ in range(20)]
    seconds = time.monotonic() - start
    tally = Counter((case.category, status) for case, status in zip(cases, statuses, strict=True))
    print(f"\n{FUZZ_COUNT} hostile requests in {seconds:.1f} s:")
    for category in sorted({case.category for case in cases}):
        counts = {status: n for (name, status), n in sorted(tally.items()) if name == category}
        print(f"  {category:22} {counts}")
    unexpected = [
        (case.category, case.path[:80], status, case.body[:40])
        for case, status in zip(cases, statuses, strict=True)
        if status not in case.expect
    ]
    assert not unexpected, unexpected[:10]
    assert all(status < 500 for status in statuses)
    assert all(check.result() for check in health) and healthy(server)
    assert len({case.category for case in cases}) == len(CATEGORIES)
    assert "Traceback" not in server.log_text()
