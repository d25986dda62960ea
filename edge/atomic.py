"""Atomic writes: a crash or Ctrl-C never leaves a half-written file or folder behind."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from edge.errors import EdgeError


@contextmanager
def atomic_path(dest: str | Path, mode: int | None = None) -> Iterator[Path]:
    """Yield a temp path beside `dest`; rename it onto `dest` only if the block succeeds.
    `mode`: the file's permissions (0o600 for a secret: it is never readable by others, not even half-written)."""
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".tmp", dir=dest.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        os.chmod(tmp_path, 0o666 & ~_umask() if mode is None else mode)  # mkstemp makes 0600; give the usual file mode
        os.replace(tmp_path, dest)
    finally:
        tmp_path.unlink(missing_ok=True)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_text(dest: str | Path, text: str, mode: int | None = None) -> Path:
    with atomic_path(dest, mode) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(dest)


def write_json(dest: str | Path, data: object) -> Path:
    return write_text(dest, json.dumps(data, indent=2, sort_keys=False) + "\n")


def link_new(data: bytes, dest: Path) -> Path:
    """Write `data` to a temp file beside `dest`, then link it in under the first free name (dest, dest-1, ...):
    a name that exists is never replaced, and no reader ever sees a half-written file."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".tmp", dir=dest.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        for n in range(1000):
            target = dest if n == 0 else dest.with_name(f"{dest.stem}-{n}{dest.suffix}")
            try:
                os.link(tmp, target)  # fails if the name exists: nothing is ever replaced
                return target
            except FileExistsError:
                continue
        raise EdgeError(f"{dest}: 1000 files of this name already exist")
    finally:
        os.unlink(tmp)


@contextmanager
def atomic_dir(dest: str | Path) -> Iterator[Path]:
    """Build a folder in a temp sibling; swap it in for `dest` only when complete.

    The old `dest` (if any) is kept until the new one is ready, so a failure never loses it.
    """
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{dest.name}.", suffix=".tmp", dir=dest.parent))
    try:
        yield tmp
        os.chmod(tmp, 0o777 & ~_umask())
        old = None
        if dest.exists():
            old = dest.with_name(f".{dest.name}.old")
            shutil.rmtree(old, ignore_errors=True)
            os.replace(dest, old)
        os.replace(tmp, dest)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
