"""`edge-infer ... --update-from`: the swappable classifier and its update thread, built from the options."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path

from edge.errors import EdgeError
from edge.runtime.sources import LIVE_KINDS
from edge.runtime.updates.startup import baseline_record, state_dir
from edge.runtime.updates.store import VersionStore
from edge.runtime.updates.swap import SwappableClassifier
from edge.runtime.updates.updater import Updater, UpdateSettings


def settings_for(opts) -> UpdateSettings:
    return UpdateSettings(source=opts.update_from, state_dir=state_dir(opts), baseline=Path(opts.artifact),
                          every_s=opts.update_every, keep=opts.keep_versions, allow_new_labels=opts.allow_new_labels,
                          backend=opts.backend)


def start_updates(opts, clf, kind: str | None, report: Callable[[str], None]):
    """`clf` as it is without --update-from; else a SwappableClassifier whose Updater has started."""
    if opts.update_from is None:
        return clf
    if kind not in LIVE_KINDS and opts.serve is None:
        raise EdgeError("--update-from swaps the model of a live run: give a camera, 'picam', a video or a stream, "
                        "or --serve")
    from edge.runtime.classifier import Classifier

    settings = settings_for(opts)
    store = VersionStore(settings.state_dir)
    try:
        store.versions.mkdir(parents=True, exist_ok=True)
        if store.state().get("baseline") != baseline_record(opts.artifact):
            store.save(baseline=baseline_record(opts.artifact))
    except OSError as exc:
        raise EdgeError(f"--state-dir {settings.state_dir}: cannot write there ({exc.strerror or exc}); pass "
                        "--state-dir a folder edge-infer may write (a service: one under /var/lib)") from None
    holder = SwappableClassifier(clf)
    backend = clf.backend

    def load(artifact: Path):
        return Classifier(artifact, backend=opts.backend, threads=backend.threads, spin_wait=backend.spin_wait,
                          unknown=opts.unknown, keep=opts.keep)

    Updater(holder, settings, load, report).start()
    report(f"updates: from {opts.update_from}"
           + (f" every {opts.update_every:g} s" if opts.update_every > 0 else " at start and when asked")
           + f"; versions in {settings.state_dir}")
    return holder


def stop_updates(clf) -> None:
    updater = clf.updater if isinstance(clf, SwappableClassifier) else None
    if updater is not None:
        updater.close()


def between_frames(clf, frames: Iterable) -> Iterable:
    """The live loop's frames; with updates on, a swap lands between two of them."""
    return clf.frames(frames) if isinstance(clf, SwappableClassifier) else frames
