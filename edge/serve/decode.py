"""A request body -> image bytes -> model input, with the status each kind of bad body gets.

Multipart bodies are parsed in memory (the body is already bounded by --max-body-mb): nothing is
spooled to disk, unlike Starlette's form parser.
"""

from __future__ import annotations

import io
import time
import warnings

import numpy as np

from edge.errors import EdgeError
from edge.serve.errors import HttpError

IMAGE_MAGIC = (b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n", b"GIF87a", b"GIF89a", b"BM", b"II*\x00", b"MM\x00*")
MAX_PARTS = 64  # a form with more parts is refused while it is parsed
IMAGE_FIELDS = ("image", "file", "photo")  # multipart field names taken first; else the first file part


def image_bytes(body: bytes, content_type: str) -> tuple[str, bytes]:
    """(name the answer reports as its source, the image's bytes)."""
    if content_type.lower().startswith("multipart/form-data"):
        return _from_multipart(body, content_type)
    sent_as_text = content_type.lower().startswith(("application/x-www-form-urlencoded", "text/", "application/json"))
    if sent_as_text and not looks_like_image(body):  # `curl --data-binary @rose.jpg` says form-urlencoded: sniff
        raise HttpError(415, f"Content-Type {content_type.split(';')[0]}: send the image bytes as the body "
                             "(e.g. image/jpeg) or as a multipart/form-data field 'image'")
    if not body:
        raise HttpError(400, "empty body: send an image (JPEG, PNG, WebP, BMP, TIFF ...) as the request body")
    return "request", body


def _from_multipart(body: bytes, content_type: str) -> tuple[str, bytes]:
    from python_multipart.multipart import parse_options_header

    _, params = parse_options_header(content_type)
    boundary = params.get(b"boundary")
    if not boundary or len(boundary) > 200:
        raise HttpError(400, "multipart/form-data without a boundary; let your HTTP client build the form")
    parts = _parts(body, boundary)
    if not parts:
        raise HttpError(400, "multipart body has no parts; send the image as field 'image'")
    named = {name: (filename, data) for name, filename, data in parts}
    for field in IMAGE_FIELDS:
        if field in named:
            filename, data = named[field]
            return filename or field, data
    for _, filename, data in parts:
        if filename:
            return filename, data
    raise HttpError(400, f"multipart body has no file part; send the image as field 'image' (got {sorted(named)[:5]})")


def _parts(body: bytes, boundary: bytes) -> list[tuple[str, str, bytes]]:
    """[(field name, filename, data)] of a multipart body; malformed -> 400."""
    from python_multipart.multipart import MultipartParser, parse_options_header

    parts: list[tuple[str, str, bytes]] = []
    state: dict = {"headers": {}, "field": b"", "value": b"", "data": []}

    def header_end() -> None:
        state["headers"][state["field"].lower()] = state["value"]
        state["field"], state["value"] = b"", b""

    def part_end() -> None:
        if len(parts) >= MAX_PARTS:
            raise HttpError(400, f"multipart body with more than {MAX_PARTS} parts; send one image per request")
        _, disposition = parse_options_header(state["headers"].get(b"content-disposition", b""))
        name = disposition.get(b"name", b"").decode("utf-8", "replace")
        filename = disposition.get(b"filename", b"").decode("utf-8", "replace")
        parts.append((name, filename[:200], b"".join(state["data"])))
        state["headers"], state["data"] = {}, []

    callbacks = {
        "on_header_field": lambda d, s, e: state.__setitem__("field", state["field"] + d[s:e]),
        "on_header_value": lambda d, s, e: state.__setitem__("value", state["value"] + d[s:e]),
        "on_header_end": header_end,
        "on_part_data": lambda d, s, e: state["data"].append(bytes(d[s:e])),
        "on_part_end": part_end,
    }
    try:
        parser = MultipartParser(boundary, callbacks, max_header_count=16)
        parser.write(body)
        parser.finalize()
    except HttpError:
        raise
    except Exception as exc:  # python-multipart raises its own MultipartParseError and ValueError types
        raise HttpError(400, f"malformed multipart body ({type(exc).__name__}); let your HTTP client build the form") from None
    return parts


def check_is_image(data: bytes) -> None:
    """415 for bytes no decoder recognises, before the decode that enforces edge's bounds (400)."""
    from PIL import Image, UnidentifiedImageError

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with Image.open(io.BytesIO(data)):
                pass
    except UnidentifiedImageError:
        if looks_like_image(data):
            raise HttpError(400, "broken image: its header is cut short or invalid; send a complete image file") from None
        raise HttpError(415, "the body is not an image this runtime can read (JPEG, PNG, WebP, BMP, GIF, TIFF)") from None
    except Exception as exc:  # a recognised format whose header is broken
        raise HttpError(400, f"the upload is not a readable image ({type(exc).__name__}: cut short or damaged?); "
                             "send a complete image file") from None


def looks_like_image(data: bytes) -> bool:
    """The first bytes of a format we read: a broken image (400), not another kind of file (415)."""
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return True
    return data.startswith(IMAGE_MAGIC) or (data[:1] == b"P" and data[1:2] in b"123456" and len(data) > 1)


def decode_request(preprocess, body: bytes, content_type: str) -> tuple[str, np.ndarray, float, float]:
    """Runs on a decode thread (a hostile multipart body costs that thread, not the event loop):
    (source name, model input, decode ms, preprocess ms)."""
    start = time.perf_counter()
    source, data = image_bytes(body, content_type)
    check_is_image(data)
    try:
        name = "upload" if source == "request" else f"upload {source}"  # its advice: send again, not remove a file
        img = preprocess.load(data, name=name)  # the manifest's decode, as edge-infer does for a file
    except EdgeError as exc:
        raise HttpError(400, str(exc)) from None
    mid = time.perf_counter()
    x = preprocess(img)
    return source, x, (mid - start) * 1000, (time.perf_counter() - mid) * 1000
