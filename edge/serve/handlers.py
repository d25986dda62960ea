"""One function per route; each takes the request and the app's Parts."""

from __future__ import annotations

import platform
from dataclasses import asdict
from functools import lru_cache

from edge.runtime.backends import runtime_library_versions
from edge.runtime.updates.files import model_version
from edge.serve.bodies import check_length, json_response, parse_k, read_body, stream_slot
from edge.serve.errors import HttpError
from edge.serve.hub_group import source_names, stream_hub
from edge.serve.model_route import model
from edge.serve.parts import Parts

PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' blob: data:; style-src 'unsafe-inline'; "
                               "script-src 'unsafe-inline'; connect-src 'self'; frame-ancestors 'none'",
    "Referrer-Policy": "no-referrer",  # the page address may carry ?token=
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-store",
}


def bind(func, parts: Parts):
    async def endpoint(request):
        return await func(request, parts)

    endpoint.__name__ = func.__name__
    return endpoint



@lru_cache(maxsize=1)
def page_html() -> bytes:
    from importlib.resources import files

    return files("edge.serve").joinpath("static/index.html").read_bytes()


async def page(request, parts: Parts):
    from starlette.responses import Response

    return Response(page_html(), media_type="text/html; charset=utf-8", headers=PAGE_HEADERS)


async def classify(request, parts: Parts):
    k = parse_k(request.query_params.get("k"), parts.options.top_k, len(parts.clf.labels))
    limit, timeout = parts.options.max_body_bytes, parts.options.request_timeout_s
    check_length(request, limit)
    with parts.worker.admit():
        body = await read_body(request, limit, timeout)
        with parts.worker.hold(body):
            answer = await parts.worker.classify(body, request.headers.get("content-type", ""), k, timeout)
    timing = f"queue;dur={answer.queue_ms:.2f}"
    return json_response(answer.prediction.to_dict(), headers={"Server-Timing": timing})


async def stream(request, parts: Parts):
    from edge.serve.streams import TimedStream, mjpeg_chunks

    hub = stream_hub(parts.hub, request.query_params.get("source"))  # several sources: ?source=NAME, a tile each
    if request.method == "HEAD":
        return _head("multipart/x-mixed-replace; boundary=edgeframe")
    if not hub.has_source:
        raise HttpError(404, "no live source: this server answers the API only (start edge-infer MODEL SOURCE --serve)")
    stream_slot(hub.viewers, parts.options.max_viewers, "MJPEG")
    hub.viewers += 1
    hub.watch()
    _gauge(parts, "mjpeg", hub.viewers)

    def closed() -> None:
        hub.viewers -= 1
        _gauge(parts, "mjpeg", hub.viewers)

    media = "multipart/x-mixed-replace; boundary=edgeframe"
    return TimedStream(mjpeg_chunks(hub), media, parts.options.request_timeout_s, closed)


async def events(request, parts: Parts):
    from edge.serve.streams import TimedStream, sse_chunks

    hub = parts.hub
    if request.method == "HEAD":
        return _head("text/event-stream")
    stream_slot(hub.subscribers, parts.options.max_viewers * 2, "event")
    hub.subscribers += 1
    _gauge(parts, "sse", hub.subscribers)

    def closed() -> None:
        hub.subscribers -= 1
        _gauge(parts, "sse", hub.subscribers)

    return TimedStream(sse_chunks(hub), "text/event-stream", parts.options.request_timeout_s, closed)


def _head(media_type: str):
    from starlette.responses import Response

    return Response(b"", media_type=media_type)


def _gauge(parts: Parts, kind: str, value: int) -> None:
    if parts.metrics:
        parts.metrics.viewers.labels(kind).set(value)


async def info(request, parts: Parts):
    return json_response(describe(parts))


def describe(parts: Parts) -> dict:
    clf, m, o = parts.clf, parts.clf.manifest, parts.options
    return {
        "labels": list(clf.labels),
        "preprocessing": {**asdict(m.preprocessing), "channel_order": m.channel_order, "layout": m.layout,
                          "temperature": m.temperature},  # every field the manifest has: decode and frame path too
        "artifact": clf.path.name, "arch": m.arch, "backend": clf.backend.name, "precision": m.precision,
        "threads": clf.backend.threads, "unknown_threshold": clf.threshold,
        "unknown_score": m.unknown.score if clf.threshold is not None else None,
        "versions": versions(), "live": parts.hub.has_source, "sources": source_names(parts.hub),
        "model_version": model_version(clf),  # the manifest's source_sha256[:12]; changes when an update lands
        "limits": {"max_body_mb": o.max_body_mb, "queue": o.queue, "batch": o.batch, "top_k": o.top_k,
                   "request_timeout_s": o.request_timeout_s, "stream_fps": 1.0 / parts.hub.stream_period},
    }


@lru_cache(maxsize=1)
def versions() -> dict:
    """edge's and Python's versions, every runtime backend's library installed here, and the server's libraries."""
    from importlib.metadata import PackageNotFoundError, version

    from edge import __version__

    out = {"edge": __version__, "python": platform.python_version(), **runtime_library_versions()}
    for dist in ("numpy", "pillow", "starlette", "uvicorn"):
        try:
            out[dist] = version(dist)
        except PackageNotFoundError:
            pass
    return out


async def healthz(request, parts: Parts):
    status = parts.hub.status()
    status.pop("summary", None)
    ready = status["source"] not in ("failed", "lost")  # lost: a camera being reopened (since status["lost"])
    return json_response({"ready": ready, **status, "queued": parts.worker.admitted}, 200 if ready else 503)


async def metrics(request, parts: Parts):
    from starlette.responses import Response

    body, content_type = parts.metrics.text()
    return Response(body, media_type=content_type)


ROUTES = [
    ("/", page, ["GET"]),
    ("/stream.mjpg", stream, ["GET"]),
    ("/v1/events", events, ["GET"]),
    ("/v1/classify", classify, ["POST"]),
    ("/v1/info", info, ["GET"]),
    ("/v1/model", model, ["GET", "POST"]),
    ("/healthz", healthz, ["GET"]),
    ("/metrics", metrics, ["GET"]),
]
