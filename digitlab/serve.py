"""A small HTTP API over the zoo, on Starlette and uvicorn (both come with Streamlit).

    POST /predict?model=NAME&temperature=T   an image as the form field `file`, or as the body
                                             (or run=ID for one run instead of NAME's default)
    GET  /models                             the zoo, and which models are loaded
    GET  /health                             200 while the server is up

/predict decodes and preprocesses the image as the app does and answers with the line that
`python -m digitlab predict --json` prints. A model name answers with the server's default
run for it (shipped, or promoted with `runs promote`); runs are loaded lazily, once per
process; names and ids are looked up in the store, so a request can never name a path.

Hostile input is refused with a 4xx and its reason, never a 5xx (see the README's "What
the API refuses"): images by digitlab.data.decode (formats, bytes, pixels), bodies that
stall or drip (408), ids and numbers that aren't plain ASCII.
"""

from __future__ import annotations

import logging
import re
from typing import Any

import anyio
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from digitlab import store
from digitlab.data.decode import MAX_UPLOAD_BYTES, ImageError, ImageTooLarge, load_image
from digitlab.inference.predict import (
    MAX_TEMPERATURE,
    MIN_TEMPERATURE,
    Predictor,
    is_loaded,
    load_predictor,
    loaded_runs,
    prediction_line,
)
from digitlab.zoo.registry import DEFAULT_MODEL, ZOO

FORM_FIELD = "file"
MULTIPART_OVERHEAD = 64 * 1024  # boundaries and part headers around the image in a form
# A body that stops arriving for BODY_IDLE_S is abandoned (408), and so is one slower than
# MIN_BODY_RATE overall: otherwise a client that declares 1000 bytes and sends 10 holds a
# connection and a server slot for as long as it likes.
BODY_IDLE_S = 8.0
MIN_BODY_RATE = 50_000  # bytes a second: a 5 MB photo over a poor mobile link still arrives
# A plain decimal number, ASCII only: float() would also take "1_0", "١", " 1" and "inf".
_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d{1,3})?", re.ASCII)

log = logging.getLogger("uvicorn.error")  # uvicorn's own log: one format, one place


def _run(request: Request) -> store.Run:
    """The run that answers: `run=ID`, else the server's default for `model=NAME`."""
    run_id = request.query_params.get("run")
    try:
        if run_id is not None:
            return store.get_run(run_id)
        return store.default_run(_model_name(request))
    except store.StoreError as error:
        raise HTTPException(404 if run_id is not None else 503, str(error)) from error


def _model_name(request: Request) -> str:
    name = request.query_params.get("model", DEFAULT_MODEL)
    if name not in ZOO:
        raise HTTPException(404, f"Unknown model {name!r}; choose one of {', '.join(ZOO)}.")
    return name


def _temperature(request: Request) -> float:
    text = request.query_params.get("temperature", "1")
    value = float(text) if _NUMBER.fullmatch(text) else float("nan")
    if not MIN_TEMPERATURE <= value <= MAX_TEMPERATURE:  # NaN fails this too
        raise HTTPException(
            400, f"temperature must be between {MIN_TEMPERATURE} and {MAX_TEMPERATURE}: {text!r}"
        )
    return value


def _too_large(size: int | str) -> HTTPException:
    limit = MAX_UPLOAD_BYTES / 2**20
    return HTTPException(413, f"The request holds {size} bytes; the limit is {limit:.0f} MB.")


async def _capped_body(request: Request, limit: int) -> bytes:
    """The request body, refused with 413 as soon as it passes `limit` bytes, and with 408
    when it stalls for BODY_IDLE_S or arrives slower than MIN_BODY_RATE."""
    declared = request.headers.get("content-length", "")
    # (int() of a 5,000-digit length would raise: anything over 12 digits is over the limit)
    plain = declared.isascii() and declared.isdigit()
    expected = (int(declared) if len(declared) <= 12 else limit + 1) if plain else limit
    if expected > limit:
        raise _too_large(declared)
    start = anyio.current_time()
    deadline = start + BODY_IDLE_S + expected / MIN_BODY_RATE
    chunks, size = [], 0
    stream = request.stream()
    while True:
        try:
            with anyio.fail_after(max(0.0, min(BODY_IDLE_S, deadline - anyio.current_time()))):
                chunk = await anext(stream, None)
        except TimeoutError:
            seconds = anyio.current_time() - start
            raise HTTPException(
                408,
                f"The body came too slowly: {size} bytes in {seconds:.0f} s.",
                headers={"Connection": "close"},  # the rest of it is not waited for
            ) from None
        except ClientDisconnect:
            # Nobody is left to answer: one line in the log, not a traceback.
            log.info("Client left %s mid-body, after %d bytes.", request.url.path, size)
            raise HTTPException(400, "The client left mid-body.") from None
        if chunk is None:
            return b"".join(chunks)
        size += len(chunk)
        if size > limit:
            raise _too_large(f"more than {limit}")
        chunks.append(chunk)


async def _form_file(request: Request, body: bytes) -> tuple[bytes, str]:
    """The `file` field of a multipart body that was already read (and size-checked)."""

    async def replay() -> dict[str, Any]:
        return {"type": "http.request", "body": body, "more_body": False}

    try:
        form = await Request(request.scope, replay).form(max_files=1, max_fields=10)
    except HTTPException:
        raise
    except Exception as error:  # the multipart parser's own errors: a malformed form
        raise HTTPException(400, f"Cannot read the form: {error}") from error
    upload = form.get(FORM_FIELD)
    if upload is None or isinstance(upload, str):
        raise HTTPException(400, f"The form has no file field named {FORM_FIELD!r}.")
    return await upload.read(), upload.filename or FORM_FIELD


async def _image_bytes(request: Request) -> tuple[bytes, str | None]:
    """The image and its file name (None for a raw body), from a form or the body."""
    # Media types are case-insensitive (RFC 9110): "Multipart/Form-Data" is a form too.
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    is_form = media_type == "multipart/form-data"
    body = await _capped_body(request, MAX_UPLOAD_BYTES + (MULTIPART_OVERHEAD if is_form else 0))
    data, filename = await _form_file(request, body) if is_form else (body, None)
    if not data:
        raise HTTPException(400, "No image: send it as the form field 'file' or as the body.")
    if len(data) > MAX_UPLOAD_BYTES:
        raise _too_large(len(data))
    return data, filename


def _predict_line(predictor: Predictor, data: bytes, path: str | None, temperature: float):
    """The JSON line of `predict --json` for one image, and the HTTP status."""
    try:
        prediction = predictor.predict_image(load_image(data, name=path or "body"), temperature)
    except ImageError as error:
        status = 413 if isinstance(error, ImageTooLarge) else 400
        return prediction_line(path, None, str(error)), status
    return prediction_line(path, prediction), 200


async def predict(request: Request) -> JSONResponse:
    temperature = _temperature(request)
    run = await run_in_threadpool(_run, request)
    data, path = await _image_bytes(request)
    try:
        predictor = await run_in_threadpool(load_predictor, run)
    except store.StoreError as error:
        raise HTTPException(503, str(error)) from error
    line, status = await run_in_threadpool(_predict_line, predictor, data, path, temperature)
    return JSONResponse(line, status_code=status)


def _model_rows() -> list[dict[str, Any]]:
    rows = []
    for name, run in store.default_runs().items():
        spec = ZOO[name]
        rows.append(
            {
                "name": name,
                "title": spec.title,
                "task": spec.task,
                "input_size": spec.input_size,
                "default": name == DEFAULT_MODEL,
                "available": run is not None,
                "run": run.id if run else None,
                "loaded": run is not None and is_loaded(run),
            }
        )
    return rows


async def models(request: Request) -> JSONResponse:
    return JSONResponse(await run_in_threadpool(_model_rows))


async def health(request: Request) -> JSONResponse:
    return JSONResponse({"status": "ok", "loaded": loaded_runs()})


async def _error(request: Request, error: HTTPException) -> JSONResponse:
    """Every HTTP error, 404 for an unknown route included, as {"error": message}."""
    return JSONResponse(
        {"error": error.detail}, status_code=error.status_code, headers=error.headers
    )


def create_app() -> Starlette:
    """The ASGI application (uvicorn builds one per worker process)."""
    app = Starlette(
        routes=[
            Route("/predict", predict, methods=["POST"]),
            Route("/models", models, methods=["GET"]),
            Route("/health", health, methods=["GET"]),
        ],
        exception_handlers={HTTPException: _error},
    )
    return app


def run(host: str = "127.0.0.1", port: int = 8000, workers: int = 1) -> None:
    """Serve until interrupted; each worker process loads its own models."""
    import uvicorn

    uvicorn.run(
        "digitlab.serve:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        # uvicorn's own limits, set rather than left to its defaults: each connection may
        # hold a 5 MB body, so at most 32 at once (more get 503) bound them to ~160 MB; a
        # request's headers may take 16 KB; an idle keep-alive connection closes after 5 s.
        limit_concurrency=32,
        h11_max_incomplete_event_size=16 * 1024,
        timeout_keep_alive=5,
        timeout_graceful_shutdown=10,
    )
