"""One export at a time per destination: two `edge export --out X` at once would both say done while the
second silently replaced the first. The first takes an exclusive lock on `X.lock` beside X; the other
refuses in one line. The lock file is removed when the export ends (an unlink under the lock, after
which a waiting process re-checks that it locked the file that is still there)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from edge.errors import EdgeError


def lock_path(out: Path) -> Path:
    return out.with_name(f"{out.name}.lock")


@contextmanager
def destination_lock(out: Path) -> Iterator[Path]:
    """Hold `out`'s lock for the block, or raise EdgeError when another export holds it (never waits)."""
    try:
        import fcntl
    except ImportError:  # Windows: no flock; exports there are not guarded against each other
        yield lock_path(out)
        return
    path = lock_path(out)
    path.parent.mkdir(parents=True, exist_ok=True)
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:  # BlockingIOError: held by another process
            os.close(fd)
            raise EdgeError(f"{out}: another edge export is writing this folder now (lock {path}); wait for it "
                            "to finish, or choose another --out") from None
        try:
            current = os.stat(path).st_ino == os.fstat(fd).st_ino
        except FileNotFoundError:
            current = False
        if current:
            break
        os.close(fd)  # the holder removed the file between our open and our lock: lock the new one
    try:
        yield path
    finally:
        path.unlink(missing_ok=True)
        os.close(fd)
