"""Reading a request: its body within a size and a time, its ?k=, a slot for a long-lived stream."""

from __future__ import annotations

import asyncio
import json

from edge.serve.errors import HttpError, busy


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
    if not (len(value) <= 6 and value.isascii() and value.isdigit() and 1 <= int(value) <= labels):  # '²'.isdigit()
        raise HttpError(400, f"k={value[:20]}: give a whole number from 1 to {labels} (this model has {labels} labels)")
    return int(value)


def stream_slot(count: int, limit: int, kind: str) -> None:
    if count >= limit:
        raise busy(f"{limit} {kind} connections are open already (the most this server keeps); close one", 5)


def json_line(data: dict) -> bytes:
    return json.dumps(data, separators=(",", ":")).encode()


def json_response(data: dict, status: int = 200, headers: dict | None = None):
    from starlette.responses import Response

    return Response(json_line(data), status_code=status, media_type="application/json", headers=headers)
