"""What `--serve` was asked for: one frozen dataclass, checked before anything starts."""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass
from urllib.parse import urlsplit

from edge.errors import EdgeError

LOOPBACK_NAMES = {"localhost", "ip6-localhost"}


@dataclass(frozen=True, kw_only=True)
class ServeOptions:
    host: str = "127.0.0.1"  # loopback unless the user names another address
    port: int = 8080  # 0: any free port (tests)
    token: str | None = None  # required for a non-loopback host unless no_auth
    no_auth: bool = False
    max_body_mb: float = 20.0  # larger request bodies get 413
    queue: int = 32  # classify requests admitted at once (decoding or waiting); more get 503
    batch: int = 8  # images per inference call the worker drains from the queue
    decode_threads: int = 0  # 0: one per core
    request_timeout_s: float = 10.0  # a body not received (or an answer not ready) by then: 408 / 503
    stream_fps: float = 15.0  # MJPEG frames per second at most (encoding costs the camera loop cores)
    max_viewers: int = 8  # MJPEG and SSE connections each; more get 503
    top_k: int = 3  # default k for /v1/classify and the live page
    on_change: str | None = None  # URL to POST a JSON event to when the live label changes
    hold: int = 5  # frames the new label must hold before --on-change fires
    min_confidence: float = 0.5  # ... at or above this top-1 probability
    sources: tuple[str, ...] = ()  # several live sources: their names (a hub, a page tile and a metrics label each)

    @property
    def max_body_bytes(self) -> int:
        return int(self.max_body_mb * 1024 * 1024)

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/"

    def threads(self) -> int:
        if self.decode_threads > 0:
            return self.decode_threads
        return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def parse_bind(spec: str) -> tuple[str, int]:
    """'8080' -> ('127.0.0.1', 8080); '0.0.0.0:8080'; '[::1]:8080'."""
    host, sep, port = spec.rpartition(":")
    if not sep:
        host, port = "127.0.0.1", spec
    host = host.strip("[]") or "127.0.0.1"
    if not port.isdigit() or not 0 <= int(port) <= 65535:
        raise EdgeError(f"--serve {spec}: give [HOST:]PORT with a port 0-65535, e.g. --serve 8080 or "
                        "--serve 0.0.0.0:8080")
    return host, int(port)


def is_loopback(host: str) -> bool:
    if host.lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise EdgeError(f"--on-change {url}: give an http:// or https:// URL, e.g. http://192.0.2.10:9000/hook")
    return url


def make_options(*, serve: str | None, token: str | None = None, no_auth: bool = False, max_body_mb: float = 20.0,
                 on_change: str | None = None, hold: int = 5, min_confidence: float = 0.5,
                 top_k: int = 3) -> ServeOptions:
    """The CLI's flags -> ServeOptions; refuses an open port on the network without a token."""
    host, port = parse_bind(serve) if serve is not None else ("127.0.0.1", 8080)
    if token is not None and len(token) < 8:
        raise EdgeError("--token: use at least 8 characters (e.g. `openssl rand -hex 16`)")
    if not is_loopback(host) and token is None and not no_auth:
        raise EdgeError(f"--serve {serve}: {host} is reachable from the network; add --token SECRET "
                        "(clients send 'Authorization: Bearer SECRET' or ?token=SECRET), or say --no-auth")
    if not 0 < max_body_mb <= 1024:
        raise EdgeError(f"--max-body-mb {max_body_mb}: give a size in MB between 0 and 1024")
    if hold < 1 or not 0.0 <= min_confidence <= 1.0:
        raise EdgeError("--hold must be at least 1 frame and --min-confidence between 0 and 1")
    return ServeOptions(host=host, port=port, token=None if no_auth else token, no_auth=no_auth,
                        max_body_mb=max_body_mb, on_change=check_url(on_change) if on_change else None,
                        hold=hold, min_confidence=min_confidence, top_k=max(1, top_k))
