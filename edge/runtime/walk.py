"""Walk folders and globs without looping: every real folder is entered once, links included.

`Path.rglob` and `glob.glob("**")` follow a `loop -> .` link again and again (two such links made
a glob hang); here each directory is identified by its (device, inode) and never entered twice.
"""

from __future__ import annotations

import fnmatch
import glob
import os
from collections.abc import Iterator
from pathlib import Path


def _dir_key(path: str) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_dev, st.st_ino


def walk_files(root: str | Path) -> Iterator[Path]:
    """Every file below `root` (links followed, each real folder once), hidden names skipped, sorted."""
    seen: set[tuple[int, int]] = set()
    stack = [str(root)]
    while stack:
        folder = stack.pop()
        key = _dir_key(folder)
        if key is None or key in seen:
            continue
        seen.add(key)
        try:
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except OSError:
            continue
        subdirs = []
        for entry in entries:
            if entry.name.startswith("."):
                continue
            try:
                if entry.is_dir():
                    subdirs.append(entry.path)
                elif entry.is_file():
                    yield Path(entry.path)
            except OSError:  # a dangling or unreadable link
                continue
        stack.extend(reversed(subdirs))  # depth-first, in name order


def glob_files(pattern: str) -> list[Path]:
    """Files matching a glob; `**` walks with `walk_files`, so link loops cannot repeat or hang it."""
    if "**" not in pattern:
        return sorted(Path(p) for p in glob.glob(pattern) if os.path.isfile(p))
    base, _, rest = pattern.partition("**")
    base_dir = base.rstrip("/\\") or "."
    rest = rest.lstrip("/\\") or "*"
    depth = rest.count("/") + 1  # `**/a/*.jpg`: the last two parts of a path must match `a/*.jpg`
    found = set()
    for path in walk_files(base_dir):
        parts = path.relative_to(base_dir).parts
        if len(parts) >= depth and fnmatch.fnmatch("/".join(parts[-depth:]), rest):
            found.add(path)
    return sorted(found)


def is_link_into(path: Path, root: Path) -> bool:
    """True for a link that points at `root` itself, inside it, or above it (a dataset loop)."""
    if not path.is_symlink():
        return False
    target, root = path.resolve(), root.resolve()
    return target == root or root in target.parents or target in root.parents
