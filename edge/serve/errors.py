"""An EdgeError that carries the HTTP status it answers with (one line of JSON, never a traceback)."""

from __future__ import annotations

from edge.errors import EdgeError


class HttpError(EdgeError):
    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status = status
        self.headers = headers or {}


def busy(message: str, retry_after_s: int = 1) -> HttpError:
    return HttpError(503, message, {"Retry-After": str(retry_after_s)})
