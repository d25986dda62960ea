"""SHA-256 of files, read in 1 MB chunks: what a run, an export, the feature cache, --collect and the tune cache record."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from pathlib import Path


def file_sha256(path: Path) -> str:
    return files_sha256([path])


def files_sha256(paths: Iterable[Path]) -> str:
    """One digest over the files' bytes, one after another (an artifact and its weight file)."""
    digest = hashlib.sha256()
    for path in paths:
        with open(path, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                digest.update(chunk)
    return digest.hexdigest()
