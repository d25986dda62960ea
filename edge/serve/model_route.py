"""`/v1/model`: GET the version that answers and the update status; POST to look for a new version now
(`edge-infer ... --update-from`; the server must have a --token). The body may name another source:
{"from": "https://.../door/"} (JSON) or the URL or path as plain text; empty: the --update-from source."""

from __future__ import annotations

import asyncio
import json

from edge.runtime.updates.files import model_version
from edge.serve.bodies import json_response, read_body
from edge.serve.errors import HttpError
from edge.serve.parts import Parts

MAX_BODY = 4096
WAIT_S = 60.0  # an answer once the new version is swapped in or refused; longer: 202, see GET /v1/model
STATUS = {"refused": 422, "unreachable": 502}  # every other outcome: 200



def updater_of(parts: Parts):
    return getattr(parts.clf, "updater", None)  # a SwappableClassifier has one; a plain Classifier does not


async def model(request, parts: Parts):
    updater = updater_of(parts)
    if request.method == "GET":
        return json_response({"model_version": model_version(parts.clf), "updates": updater.status() if updater else None})
    if updater is None:
        raise HttpError(404, "model updates are off: start edge-infer with --update-from PATH|URL "
                             "(with --update-every 0 it updates only when asked)")
    if not parts.options.token:
        raise HttpError(403, "POST /v1/model needs a server started with --token SECRET")
    source = parse_source(await read_body(request, MAX_BODY, parts.options.request_timeout_s))
    future = asyncio.wrap_future(updater.request(source))
    try:
        outcome = await asyncio.wait_for(asyncio.shield(future), WAIT_S)
    except asyncio.TimeoutError:
        return json_response({"status": "checking", "model_version": model_version(parts.clf)}, 202)
    code = STATUS.get(outcome.status, 200)
    return json_response({**outcome.to_dict(), **({"error": outcome.message} if code != 200 else {})}, code)


def parse_source(body: bytes) -> str | None:
    text = body.decode("utf-8", "replace").strip()
    if not text:
        return None
    if text.startswith("{"):
        try:
            data = json.loads(text)
        except json.JSONDecodeError:
            raise HttpError(400, 'give {"from": "URL or path"} as JSON, or the URL as plain text') from None
        source = data.get("from") if isinstance(data, dict) else None
        if source is not None and not isinstance(source, str):
            raise HttpError(400, '"from": give the URL or path of an export folder as a string')
        return source or None
    return text
