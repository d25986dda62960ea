"""Which folders edge may replace: only what edge itself wrote, and only when told to.

An export folder is recognised by its marker files (manifest + export report), a run folder by
its config + split. Anything else at an `--out` path belongs to the user and is never touched.
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

from edge.errors import EdgeError
from edge.export_dir import ExportDir
from edge.run_dir import CONFIG_FILE, SPLIT_FILE

RUN_MARKERS = (CONFIG_FILE, SPLIT_FILE)


def is_export_dir(path: Path) -> bool:
    return path.is_dir() and ExportDir(path).is_export() and not is_run_dir(path)


def is_run_dir(path: Path) -> bool:
    return path.is_dir() and all((path / m).is_file() for m in RUN_MARKERS)


def _is_empty_dir(path: Path) -> bool:
    return path.is_dir() and not any(path.iterdir())


def check_parent_writable(out: Path) -> None:
    """Fail before any work when the folder that will hold `out` cannot be written."""
    parent = out.absolute().parent
    if parent.exists() and not parent.is_dir():
        raise EdgeError(f"{out}: {parent} is a file, not a folder; choose another --out")
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise EdgeError(f"{out}: cannot create the output folder {parent} ({exc.strerror}); choose another --out") from None
    if not os.access(parent, os.W_OK):
        raise EdgeError(f"{out}: folder {parent} is not writable; choose another --out")


def check_new_file(path: Path, flag: str) -> None:
    """Outputs never replace a user's file; refuse before any work, not after it."""
    if path.exists():
        raise EdgeError(f"{path}: already exists; {flag} writes a new file, so delete it first or choose another path")
    check_parent_writable(path)


def claim_export_dir(out: Path, force: bool) -> None:
    """Allow writing an export to `out` or raise: a user's files and run folders are never replaced."""
    check_parent_writable(out)
    if not out.exists() or _is_empty_dir(out):
        return
    if not out.is_dir():
        raise EdgeError(f"{out}: is a file, not an export folder; choose another --out")
    if is_run_dir(out):
        raise EdgeError(f"{out}: is a training run; export to a folder of its own, e.g. --out {export_suggestion(out)}")
    if not is_export_dir(out):
        raise EdgeError(f"{out}: folder holds files edge did not write; choose an empty or new --out")
    if not force:
        raise EdgeError(f"{out}: holds an earlier export; pass --force to replace it, or choose another --out")


def export_suggestion(run: Path) -> Path:
    """Where to export instead of into the run folder `run`: exports/NAME beside its runs/ folder, never inside a
    run (runs/x/export would make x hold files edge-export owns), and not a folder that already holds files."""
    home = run.parent.parent if run.parent.name == "runs" else run.parent
    base = home / "exports" / run.name
    while any(is_run_dir(p) for p in (base, *base.parents)) and home != home.parent:
        home = home.parent
        base = home / "exports" / run.name
    return base if not base.exists() or _is_empty_dir(base) or is_export_dir(base) else next_numbered(base)


def claim_run_dir(out: Path, force: bool) -> Path | None:
    """Make `out` ready for a new training run.

    Returns the path an earlier run was moved aside to (with --force), so it can be deleted once
    the new run has finished, or restored by hand if it fails; None when nothing was moved.
    """
    check_parent_writable(out)
    if out.exists() and not out.is_dir():
        raise EdgeError(f"{out}: is a file, not a run folder; choose another --out")
    if not out.exists() or _is_empty_dir(out):
        return None
    if not is_run_dir(out):
        raise EdgeError(f"{out}: folder holds files edge did not write; choose an empty or new --out")
    if not force:
        raise EdgeError(f"{out}: holds a finished or interrupted run; continue it with --resume, "
                        "replace it with --force, or choose another --out")
    aside = out.with_name(f".{out.name}.replaced-{time.strftime('%Y%m%d-%H%M%S')}")
    os.replace(out, aside)  # one rename: the old run is either fully there or fully aside
    return aside


def drop_aside(aside: Path | None) -> None:
    if aside is not None:
        shutil.rmtree(aside, ignore_errors=True)


def next_numbered(base: Path) -> Path:
    """base, base2, base3, ...: the first that does not exist yet (Ultralytics' runs/train2)."""
    if not base.exists():
        return base
    n = 2
    while base.with_name(f"{base.name}{n}").exists():
        n += 1
    return base.with_name(f"{base.name}{n}")
