"""Bearer-token check for every route but /healthz (a probe needs no secret, and it tells nothing)."""

from __future__ import annotations

import hmac
import json
from urllib.parse import parse_qs

OPEN_PATHS = ("/healthz",)


def _token_of(scope) -> str | None:
    for name, value in scope.get("headers", []):
        if name == b"authorization":
            scheme, _, token = value.decode("latin-1").partition(" ")
            if scheme.lower() == "bearer":
                return token.strip()
    query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
    return query.get("token", [None])[0]


class TokenMiddleware:
    """Pure ASGI: 401 with a one-line JSON error unless the request carries the token."""

    def __init__(self, app, token: str):
        self.app, self.token = app, token.encode()

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["path"] in OPEN_PATHS:
            return await self.app(scope, receive, send)
        given = _token_of(scope)
        if given is not None and hmac.compare_digest(given.encode("utf-8", "replace"), self.token):
            return await self.app(scope, receive, send)
        body = json.dumps({"error": "missing or wrong token: send 'Authorization: Bearer SECRET' "
                                    "or add ?token=SECRET to the page address", "status": 401}).encode()
        await send({"type": "http.response.start", "status": 401,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                                (b"www-authenticate", b'Bearer realm="edge"')]})
        await send({"type": "http.response.body", "body": body})
