"""Where updates come from: an export folder on disk, or the same folder at an HTTP(S) URL (any static
server or bucket). The export report is asked for first, with If-None-Match / If-Modified-Since, so an
unchanged source costs one small request; then each file, streamed to disk, checked and synced.

urllib only: no new dependency on the device.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, urlsplit

from edge.errors import EdgeError, short_reason
from edge.export_dir import MANIFEST_FILE, REPORT_FILE
from edge.runtime.updates.files import Damaged, FileEntry

TIMEOUT_S = 30.0  # per request: connect, and each read
CHUNK = 1 << 16
MAX_REPORT_BYTES = 4 << 20


class Unreachable(EdgeError):
    """The source could not be asked (network, server error): try again later, nothing is refused."""


@dataclass(frozen=True)
class Validators:
    """What the source said about its report last time (HTTP ETag / Last-Modified; a file's mtime and size)."""

    etag: str | None = None
    last_modified: str | None = None


@dataclass(frozen=True)
class Published:
    report: dict  # the export report as published
    raw: bytes  # its bytes, written into the version folder as they came
    validators: Validators


class Origin:
    """An export folder somewhere: `published()` its report, `download()` one of its files."""

    def __init__(self, spec: str):
        self.spec = spec

    def published(self, known: Validators | None) -> Published | None:
        """The report, or None when it has not changed since `known` was seen."""
        raise NotImplementedError

    def download(self, entry: FileEntry, dest: Path) -> None:
        raise NotImplementedError

    def _parse(self, raw: bytes, validators: Validators) -> Published:
        try:
            report = json.loads(raw)
        except (UnicodeDecodeError, json.JSONDecodeError):
            report = None
        if not isinstance(report, dict):
            raise EdgeError(f"{self.spec}: {REPORT_FILE} is not an export report; publish an export folder")
        return Published(report, raw, validators)


class FolderOrigin(Origin):
    def __init__(self, spec: str):
        super().__init__(spec)
        self.root = Path(spec).expanduser()

    def published(self, known: Validators | None) -> Published | None:
        path = self.root / REPORT_FILE
        try:
            stat = path.stat()
            now = Validators(etag=f"{stat.st_mtime_ns}-{stat.st_size}")
            if known == now:
                return None
            return self._parse(path.read_bytes()[:MAX_REPORT_BYTES], now)
        except OSError as exc:
            raise Unreachable(f"{self.spec}: cannot read {REPORT_FILE} ({exc.strerror or type(exc).__name__})") from None

    def download(self, entry: FileEntry, dest: Path) -> None:
        try:
            with open(self.root / entry.path, "rb") as src:
                _write_checked(src, entry, dest, self.spec)
        except OSError as exc:
            raise Unreachable(f"{self.spec}: cannot read {entry.path} ({exc.strerror or type(exc).__name__})") from None


class HttpOrigin(Origin):
    def __init__(self, spec: str):
        super().__init__(spec)
        base = spec
        for name in (REPORT_FILE, MANIFEST_FILE):  # the URL of the report or manifest means its folder
            base = base.removesuffix("/" + name)
        self.base = base.rstrip("/") + "/"

    def url(self, relpath: str) -> str:
        return self.base + quote(relpath)

    def _open(self, relpath: str, headers: dict[str, str]):
        import urllib.error
        import urllib.request

        request = urllib.request.Request(self.url(relpath), headers={"User-Agent": "edge-updates", **headers})
        try:
            return urllib.request.urlopen(request, timeout=TIMEOUT_S)  # noqa: S310 - http(s) only, checked in origin_for
        except urllib.error.HTTPError as exc:
            exc.close()
            if exc.code == 304:
                return None
            message = f"{self.url(relpath)}: HTTP {exc.code} {exc.reason}"
            raise (EdgeError(message) if exc.code in (403, 404, 410) else Unreachable(message)) from None
        except (urllib.error.URLError, OSError, ValueError) as exc:
            reason = getattr(exc, "reason", exc)
            why = short_reason(reason) if isinstance(reason, BaseException) else str(reason)
            raise Unreachable(f"{self.url(relpath)}: cannot reach it ({why})") from None

    def published(self, known: Validators | None) -> Published | None:
        headers = {}
        if known is not None and known.etag:
            headers["If-None-Match"] = known.etag
        if known is not None and known.last_modified:
            headers["If-Modified-Since"] = known.last_modified
        response = self._open(REPORT_FILE, headers)
        if response is None:
            return None
        with response:
            try:
                raw = response.read(MAX_REPORT_BYTES)
            except OSError as exc:
                raise Unreachable(f"{self.url(REPORT_FILE)}: the download broke off ({short_reason(exc)})") from None
            now = Validators(response.headers.get("ETag"), response.headers.get("Last-Modified"))
        return self._parse(raw, now)

    def download(self, entry: FileEntry, dest: Path) -> None:
        response = self._open(entry.path, {})
        if response is None:
            raise Unreachable(f"{self.url(entry.path)}: the server answered 304 to a plain request")
        with response:
            try:
                _write_checked(response, entry, dest, self.base)
            except OSError as exc:  # a reset connection or a read timeout: try again later
                raise Unreachable(f"{self.url(entry.path)}: the download broke off ({short_reason(exc)})") from None


def _write_checked(stream, entry: FileEntry, dest: Path, where: str) -> None:
    """Copy at most one byte more than the report says, hashing on the way; sync it to disk."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    digest, size = hashlib.sha256(), 0
    with open(dest, "wb") as out:
        while size <= entry.size:
            chunk = stream.read(min(CHUNK, entry.size + 1 - size))
            if not chunk:
                break
            digest.update(chunk)
            out.write(chunk)
            size += len(chunk)
        out.flush()
        os.fsync(out.fileno())
    if size != entry.size:
        kind = "truncated" if size < entry.size else "longer than it should be"
        raise Damaged(f"{where}: {entry.path} is {'more than ' if size > entry.size else ''}{size:,} bytes, "
                        f"the export report says {entry.size:,} ({kind})")
    if digest.hexdigest() != entry.sha256:
        raise Damaged(f"{where}: {entry.path} does not match its SHA-256 in the export report (altered or corrupt)")


def origin_for(spec: str) -> Origin:
    scheme = urlsplit(spec).scheme.lower()
    if scheme in ("http", "https"):
        if not urlsplit(spec).hostname:
            raise EdgeError(f"--update-from {spec}: give a URL with a host, e.g. https://models.example.com/door/")
        return HttpOrigin(spec)
    if scheme and len(scheme) > 1:  # (a Windows drive letter is not a scheme)
        raise EdgeError(f"--update-from {spec}: give an export folder or an http(s):// URL of one")
    return FolderOrigin(spec)

