"""The Starlette app: the page, the live streams, and the JSON API. `build_app` joins the parts."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass

from edge.runtime.classifier import Classifier
from edge.serve.errors import HttpError, busy
from edge.serve.live import LiveHub
from edge.serve.options import ServeOptions
from edge.serve.worker import InferenceWorker

PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' blob: data:; style-src 'unsafe-inline'; "
                               "script-src 'unsafe-inline'; connect-src 'self'; frame-ancestors 'none'",
    "Referrer-Policy": "no-referrer",  # the page address may carry ?token=
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-store",
}


@dataclass
class Parts:
    clf: Classifier
    options: ServeOptions
    hub: LiveHub
    worker: InferenceWorker
    metrics: object


def error_response(status: int, message: str, headers: dict | None = None):
    from starlette.responses import JSONResponse

    return JSONResponse({"error": message.splitlines()[0] if message else "error", "status": status},
                        status_code=status, headers=headers)


def build_app(parts: Parts):
    from starlette.applications import Starlette
    from starlette.exceptions import HTTPException
    from starlette.routing import Route

    from edge.serve import handlers
    from edge.serve.auth import TokenMiddleware
    from edge.serve.metrics import MetricsMiddleware

    async def http_error(request, exc):
        return error_response(exc.status, str(exc), exc.headers)

    async def starlette_error(request, exc: HTTPException):
        reason = {404: "no such page: see GET /v1/info for what this server answers", 405: "method not allowed"}
        return error_response(exc.status_code, reason.get(exc.status_code, str(exc.detail)), exc.headers)

    async def server_error(request, exc: Exception):
        return error_response(500, f"internal error ({type(exc).__name__}); the server keeps running")

    routes = [Route(path, handlers.bind(func, parts), methods=methods) for path, func, methods in handlers.ROUTES]
    app = Starlette(routes=routes, exception_handlers={HttpError: http_error, HTTPException: starlette_error,
                                                       Exception: server_error})
    asgi = app
    if parts.options.token:
        asgi = TokenMiddleware(asgi, parts.options.token)
    return MetricsMiddleware(asgi, parts.metrics)


def check_length(request, limit: int) -> None:
    """413 from the Content-Length header alone, before the request takes a queue slot."""
    length = request.headers.get("content-length")
    if length is None:
        return
    if not length.isdigit():
        raise HttpError(400, "bad Content-Length header")
    if int(length) > limit:
        raise HttpError(413, f"body of {int(length):,} bytes is over the {limit / 1048576:g} MB limit (--max-body-mb)")


async def read_body(request, limit: int, timeout_s: float) -> bytes:
    """The request body, at most `limit` bytes (413 beyond), received within `timeout_s` (408)."""
    from starlette.requests import ClientDisconnect

    async def read() -> bytes:
        chunks, size = [], 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise HttpError(413, f"body over the {limit / 1048576:g} MB limit (--max-body-mb)")
            chunks.append(chunk)
        return b"".join(chunks)

    try:
        return await asyncio.wait_for(read(), timeout_s)
    except asyncio.TimeoutError:
        raise HttpError(408, f"the body did not arrive within {timeout_s:g} s", {"Connection": "close"}) from None
    except ClientDisconnect:
        raise HttpError(400, "client disconnected before sending the whole body") from None


def parse_k(value: str | None, default: int, labels: int) -> int:
    if value is None:
        return min(default, labels)
    if not value.isdigit() or not 1 <= int(value) <= 1000:
        raise HttpError(400, f"k={value[:20]}: give a whole number of labels, 1 to {labels}")
    return min(int(value), labels)


def stream_slot(count: int, limit: int, kind: str) -> None:
    if count >= limit:
        raise busy(f"{limit} {kind} connections are open already (the most this server keeps); close one", 5)


def json_line(data: dict) -> bytes:
    return json.dumps(data, separators=(",", ":")).encode()
