"""Which model a (re)start of `edge-infer ... --update-from` runs: always a complete version.

After a kill or a power cut: downloads in progress are deleted; a version that was still in its first
minute (`trial` = `current`) is rolled back, as the process ended with it; `current` is checked file by
file against its export report, then `previous`, then the ARTIFACT on the command line. Each step that
changes what runs is said in one line.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from edge.errors import EdgeError
from edge.export_dir import MANIFEST_FILE
from edge.manifest import Manifest
from edge.runtime.updates.check import check_complete
from edge.runtime.updates.files import manifest_version
from edge.runtime.updates.store import LINKS, VersionStore, default_state_dir


def state_dir(opts) -> Path:
    return Path(opts.state_dir).expanduser() if opts.state_dir else default_state_dir(opts.artifact)


def version_at(path: Path) -> str | None:
    """The version of an export folder or artifact file by its manifest.json (None when it has none)."""
    path = Path(path)
    for folder in ((path,) if path.is_dir() else (path.parent, path.parent.parent)):
        try:
            return manifest_version(Manifest.from_json((folder / MANIFEST_FILE).read_text(encoding="utf-8")))
        except (OSError, UnicodeDecodeError, EdgeError):
            continue
    return None


def baseline_record(artifact: Path) -> dict:
    base = Path(artifact).expanduser().resolve()
    return {"path": str(base), "version": version_at(base)}


def startup_artifact(opts, report: Callable[[str], None]) -> Path:
    """The artifact or folder to run: the store's current version when it is complete, else the fallbacks."""
    if opts.update_from is None:
        return opts.artifact
    store = VersionStore(state_dir(opts))
    if not store.root.is_dir():
        return opts.artifact
    store.clean_downloads()
    saved = store.state().get("baseline")
    if saved and saved != baseline_record(opts.artifact):
        for name in LINKS:
            store.drop_link(name)
        report(f"updates: {opts.artifact} is not the model the updates in {store.root} started from; "
               "running it, and updating from it")
        return opts.artifact
    _end_interrupted_trial(store, opts.artifact, report)
    for name in ("current", "previous"):
        target = store.link(name)
        if target is None:
            continue
        problem = _problem(store, target)
        if problem is None:
            if name == "previous":
                store.set_link("current", target)
            report(f"updates: running version {version_at(target) or target.name} ({target})"
                   + (", the previous one: the current one is not complete" if name == "previous" else ""))
            return target
        report(f"updates: {name} version {target.name} in {store.root} is not complete ({problem}); not running it")
    store.drop_link("current")
    return opts.artifact


def _end_interrupted_trial(store: VersionStore, artifact: Path, report: Callable[[str], None]) -> None:
    """The process ended while `current` was on trial: roll back to `previous` and refuse it from now on."""
    trial, current = store.link("trial"), store.link("current")
    if trial is None:
        store.drop_link("trial")
        return
    if current is None or current.resolve() != trial.resolve():
        store.drop_link("trial")  # killed before current was switched: nothing ran it
        return
    previous = store.link("previous") or Path(artifact)
    version = version_at(trial) or trial.name
    reason = "ended the process in its first minute (a crash, a kill or a power cut)"
    store.roll_back(previous)
    store.refuse(version, reason)
    report(f"model update rolled back to {version_at(previous) or previous.name}: version {version} {reason}")


def _problem(store: VersionStore, target: Path) -> str | None:
    """Why a version in the store cannot run (None: it can). The ARTIFACT itself is the user's: trusted."""
    if not target.resolve().is_relative_to(store.versions.resolve()):
        return None
    try:
        check_complete(target)
    except EdgeError as exc:
        return str(exc)
    return None
