"""The Starlette app: the page, the live streams and the JSON API, behind the token and metrics middleware."""

from __future__ import annotations

from edge.serve.errors import HttpError
from edge.serve.parts import Parts


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
