"""Model versions on disk, laid out so that a kill or a power cut at any moment leaves a version to run.

    STATE/versions/<version>/   complete, checked export folders: made only by renaming a finished download
    STATE/versions/.tmp-*/      downloads in progress (deleted at the next start)
    STATE/current  -> ...       the version that runs (absent: the ARTIFACT edge-infer was started with)
    STATE/previous -> ...       the one before it, kept for a rollback
    STATE/trial    -> ...       present while `current` is in its first minute
    STATE/state.json            the baseline ARTIFACT, the source's ETag, versions refused and why

Every link is switched by renaming a new symlink over it, and the folder is synced after each step,
so a reader always finds the old link or the new one, never neither.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path

from edge.atomic import write_json

LINKS = ("current", "previous", "trial")
TMP_PREFIX = ".tmp-"


def default_state_dir(artifact: Path) -> Path:
    """<state>/edge/<export name>-<hash of its path>: <state> is systemd's $STATE_DIRECTORY (a unit with
    StateDirectory=), else $XDG_STATE_HOME, else ~/.local/state."""
    base = Path(os.environ.get("STATE_DIRECTORY", "").split(":")[0] or os.environ.get("XDG_STATE_HOME")
                or Path.home() / ".local" / "state")
    where = str(Path(artifact).expanduser().resolve())
    name = Path(where).name if Path(where).is_dir() else Path(where).parent.name
    return base / "edge" / f"{name or 'model'}-{hashlib.sha256(where.encode()).hexdigest()[:8]}"


def fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def sync_tree(root: Path) -> None:
    """Every file and folder under `root` on disk before it is renamed into place."""
    for path in sorted(root.rglob("*"), reverse=True):
        if path.is_file():
            with open(path, "rb") as f:
                os.fsync(f.fileno())
        elif path.is_dir():
            fsync_dir(path)
    fsync_dir(root)


class VersionStore:
    def __init__(self, root: Path):
        self.root = Path(root)
        self.versions = self.root / "versions"
        self.state_path = self.root / "state.json"

    # -- links -------------------------------------------------------------------------------------
    def link(self, name: str) -> Path | None:
        """Where link `name` points, or None when it is absent or dangling."""
        path = self.root / name
        if not path.is_symlink():
            return None
        target = Path(os.readlink(path))
        target = target if target.is_absolute() else self.root / target
        return target if target.exists() else None

    def set_link(self, name: str, target: Path) -> None:
        target = Path(target)
        if target.is_relative_to(self.root):
            target = target.relative_to(self.root)  # the state folder can move
        tmp = self.root / f".{name}.{os.getpid()}.tmp"
        tmp.unlink(missing_ok=True)
        os.symlink(target, tmp)
        os.replace(tmp, self.root / name)
        fsync_dir(self.root)

    def drop_link(self, name: str) -> None:
        (self.root / name).unlink(missing_ok=True)
        fsync_dir(self.root)

    # -- versions ----------------------------------------------------------------------------------
    def folder(self, version: str) -> Path:
        return self.versions / version

    def has(self, version: str) -> bool:
        return self.folder(version).is_dir()

    def new_download(self) -> Path:
        self.versions.mkdir(parents=True, exist_ok=True)
        return Path(tempfile.mkdtemp(prefix=TMP_PREFIX, dir=self.versions))

    def install(self, download: Path, version: str) -> Path:
        """The finished, checked download becomes versions/<version> in one rename."""
        sync_tree(download)
        dest = self.folder(version)
        if dest.exists():  # already there (complete: only renames make these)
            shutil.rmtree(download, ignore_errors=True)
            return dest
        os.chmod(download, 0o755)
        os.replace(download, dest)
        fsync_dir(self.versions)
        return dest

    def clean_downloads(self) -> None:
        if self.versions.is_dir():
            for tmp in self.versions.glob(TMP_PREFIX + "*"):
                shutil.rmtree(tmp, ignore_errors=True)

    def prune(self, keep: int) -> list[str]:
        """Delete all but the newest `keep` versions; never one a link points to. -> the names deleted."""
        held = {t.resolve() for t in (self.link(n) for n in LINKS) if t is not None}
        folders = sorted((p for p in self.versions.iterdir() if p.is_dir() and not p.name.startswith(".")),
                         key=lambda p: p.stat().st_mtime, reverse=True)
        deleted = []
        for folder in folders[keep:]:
            if folder.resolve() not in held:
                shutil.rmtree(folder, ignore_errors=True)
                deleted.append(folder.name)
        return deleted

    # -- a swap, its trial, a rollback -------------------------------------------------------------
    def begin_trial(self, running: Path, new: Path) -> None:
        """previous := what runs now; trial := new; current := new (in that order: a kill between any
        two steps leaves current on a complete version, and a trial equal to current means 'undecided')."""
        self.set_link("previous", running)
        self.set_link("trial", new)
        self.set_link("current", new)

    def confirm(self) -> None:
        self.drop_link("trial")

    def roll_back(self, to: Path) -> None:
        self.set_link("current", to)
        self.drop_link("trial")

    # -- state.json --------------------------------------------------------------------------------
    def state(self) -> dict:
        try:
            data = json.loads(self.state_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def save(self, **changes) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        write_json(self.state_path, {**self.state(), **changes})
        fsync_dir(self.root)

    def refuse(self, version: str, reason: str) -> None:
        """Remember a version that failed (its check, self-test or first minute): not tried again unasked."""
        self.save(refused={**self.state().get("refused", {}), version: reason})
