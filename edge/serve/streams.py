"""The two long-lived answers: MJPEG (`/stream.mjpg`) and Server-Sent Events (`/v1/events`).

Both poll the LiveHub for what is newer than what they sent, so the camera loop never waits on a
socket. A client that stops reading is dropped after `send_timeout_s`; one that disconnects ends its
stream at the next poll.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator

from edge.serve.live import LiveHub

BOUNDARY = b"edgeframe"
POLL_S = 0.02  # how often a stream looks for a newer frame or event
REPEAT_AFTER_S = 0.3  # MJPEG: no newer frame for this long: the last one again, so a browser shows it
STATS_EVERY_S = 1.0  # SSE: a named 'stats' event (fps, frames, dropped) this often
HEARTBEAT_S = 15.0  # SSE: a comment line when nothing else was sent, so proxies keep the connection


class TimedStream:
    """Pure ASGI streaming response whose every send has a deadline (Starlette's has none)."""

    def __init__(self, chunks: AsyncIterator[bytes], media_type: str, send_timeout_s: float, on_close):
        self.chunks, self.media_type, self.timeout, self.on_close = chunks, media_type, send_timeout_s, on_close

    async def __call__(self, scope, receive, send) -> None:
        gone = asyncio.Event()

        async def watch() -> None:
            while (await receive())["type"] != "http.disconnect":
                pass
            gone.set()

        watcher = asyncio.create_task(watch())
        headers = [(b"content-type", self.media_type.encode()), (b"cache-control", b"no-store"),
                   (b"x-accel-buffering", b"no")]
        try:
            await send({"type": "http.response.start", "status": 200, "headers": headers})
            async for chunk in self.chunks:
                if gone.is_set():
                    break
                await asyncio.wait_for(send({"type": "http.response.body", "body": chunk, "more_body": True}),
                                       self.timeout)
            if not gone.is_set():
                await asyncio.wait_for(send({"type": "http.response.body", "body": b""}), self.timeout)
        except (asyncio.TimeoutError, OSError):
            pass  # a client that stopped reading: let it go, the connection closes
        finally:
            watcher.cancel()
            await self.chunks.aclose()
            self.on_close()


async def mjpeg_chunks(hub: LiveHub) -> AsyncIterator[bytes]:
    """The newest JPEG whenever there is a newer one. A browser shows a part only once the next part begins,
    so a stream that goes quiet (a finished video, a paused source) sends its last frame once more."""
    sent, repeated, last = 0, True, 0.0
    while not hub.closed:
        seq, jpeg = hub.jpeg
        now = time.monotonic()
        if jpeg and (seq != sent or (not repeated and now - last >= REPEAT_AFTER_S)):
            repeated, sent, last = seq == sent, seq, now
            yield (b"--" + BOUNDARY + b"\r\nContent-Type: image/jpeg\r\nContent-Length: "
                   + str(len(jpeg)).encode() + b"\r\n\r\n" + jpeg + b"\r\n")
        else:
            await asyncio.sleep(POLL_S)


async def sse_chunks(hub: LiveHub) -> AsyncIterator[bytes]:
    """Unnamed events: one prediction each, the JSON of `edge-infer --json`; named 'stats' events."""
    seq = hub.event_seq
    latest = hub.latest_line()  # a page that connects now (or after the video ended) starts from the newest
    yield b"retry: 2000\n: edge live events\n\n" + (b"data: " + latest.encode() + b"\n\n" if latest else b"")
    last_stats = last_sent = 0.0
    while not hub.closed:
        now = time.monotonic()
        items = hub.events_after(seq)
        out = []
        if items:
            seq = items[-1][0]
            out.extend(b"data: " + line.encode() + b"\n\n" for _, line in items)
        if now - last_stats >= STATS_EVERY_S:
            last_stats = now
            out.append(b"event: stats\ndata: " + json.dumps(hub.status()).encode() + b"\n\n")
        if not out and now - last_sent >= HEARTBEAT_S:
            out.append(b": keep-alive\n\n")
        if out:
            last_sent = now
            yield b"".join(out)
        await asyncio.sleep(POLL_S * 2.5)
