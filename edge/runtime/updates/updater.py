"""The update thread: ask the source, fetch a new version into its own folder, check every file, check
the manifest, load it, self-test it, swap it in between two frames, watch it for a minute, and roll
back by itself when it fails. Each refusal or rollback is said once, in one line.

The thread runs at the process's own priority: a nicer one would hand its niceness on to the threads
ONNX Runtime and OpenVINO start when the new model loads, and they go on to run the live loop's model.
"""

from __future__ import annotations

import concurrent.futures
import queue
import shutil
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from edge.errors import EdgeError
from edge.export_dir import MANIFEST_FILE, REPORT_FILE
from edge.manifest import Manifest
from edge.runtime.updates.check import check_complete, check_labels, files_to_fetch, pick_artifact
from edge.runtime.updates.fetch import Origin, Unreachable, Validators, origin_for
from edge.runtime.updates.files import Damaged, manifest_version
from edge.runtime.updates.self_test import LATENCY_FACTOR, LATENCY_SLACK_MS, self_test
from edge.runtime.updates.store import VersionStore
from edge.runtime.updates.swap import SwappableClassifier

TRIAL_CHECK_S = 0.25
TRIAL_MIN_FRAMES = 10  # frames of the new model before its latency is judged


@dataclass(frozen=True, kw_only=True)
class UpdateSettings:
    source: str | None  # --update-from: an export folder or its URL (None: only POST /v1/model and MQTT name one)
    state_dir: Path  # --state-dir: where versions are kept (edge.runtime.updates.store)
    baseline: Path  # the ARTIFACT edge-infer was started with: what runs when the store has nothing
    every_s: float = 600.0  # --update-every: seconds between checks; 0: at start and when asked only
    keep: int = 2  # --keep-versions: version folders kept on disk (current and previous always are)
    allow_new_labels: bool = False  # --allow-new-labels
    backend: str | None = None  # --backend: only artifacts for it are fetched
    trial_s: float = 60.0  # the first minute: a failure or a latency over budget rolls back


@dataclass(frozen=True)
class Outcome:
    status: str  # unchanged | current | updated | refused | unreachable | rolled_back | confirmed
    version: str  # the version that runs after this
    new_version: str | None = None  # the version this was about
    message: str = ""
    self_test: dict | None = None

    def to_dict(self) -> dict:
        return {"status": self.status, "version": self.version, "new_version": self.new_version,
                "message": self.message or None, "self_test": self.self_test}


@dataclass
class Trial:
    version: str
    since: float  # time.time()
    before_ms: list[float] = field(default_factory=list)  # the previous model's times in the live loop


class Updater:
    def __init__(self, holder: SwappableClassifier, settings: UpdateSettings, load: Callable[[Path], object],
                 report: Callable[[str], None]):
        self.holder, self.settings, self.load, self.report = holder, settings, load, report
        self.store = VersionStore(settings.state_dir)
        self.listeners: list[Callable[[Outcome], None]] = []  # MQTT publishes each outcome
        self.last: Outcome | None = None
        self.trial: Trial | None = None
        self._said: set[str] = set()
        self._requests: queue.Queue = queue.Queue()
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self._loop, name="edge-updates", daemon=True)
        holder.updater = self

    # -- asked from other threads ------------------------------------------------------------------
    def start(self) -> Updater:
        self.thread.start()
        return self

    def request(self, source: str | None = None) -> concurrent.futures.Future:
        """Check now (POST /v1/model, MQTT model/set), without the ETag: resolved once it is swapped in or refused."""
        future: concurrent.futures.Future = concurrent.futures.Future()
        self._requests.put((source, future))
        return future

    def status(self) -> dict:
        trial = self.trial
        return {"version": self.holder.version, "source": self.settings.source, "every_s": self.settings.every_s,
                "state_dir": str(self.settings.state_dir), "last": self.last.to_dict() if self.last else None,
                "trial": None if trial is None else {"version": trial.version, "since": trial.since}}

    def close(self) -> None:
        self._stop.set()
        self._requests.put(None)
        self.thread.join(timeout=5)

    # -- the update thread -------------------------------------------------------------------------
    def _loop(self) -> None:
        next_check = time.monotonic() if self.settings.source else None  # once at start, then every every_s
        while not self._stop.is_set():
            wait = None if next_check is None else max(0.0, next_check - time.monotonic())
            try:
                item = self._requests.get(timeout=wait)
            except queue.Empty:
                item = (self.settings.source, None)
            if item is None:
                return
            source, future = item
            outcome = self._guarded(source, future)
            if future is not None and not future.done():
                future.set_result(outcome)
            if future is None or next_check is None:
                every = self.settings.every_s
                next_check = time.monotonic() + every if every > 0 and self.settings.source else None

    def _guarded(self, source: str | None, future) -> Outcome:
        try:
            outcome = self.check(source, force=future is not None, on_swap=future)
            self.last = outcome
            return outcome
        except Unreachable as exc:  # nothing refused: the next check tries again
            again = f"tries again in {self.settings.every_s:g} s" if self.settings.every_s > 0 else "tries again when asked"
            line = f"updates: {exc}; still running {self.holder.version}, {again}"
            return self._tell(Outcome("unreachable", self.holder.version, message=line), line)
        except EdgeError as exc:
            line = f"model update refused: {exc}; still running {self.holder.version}"
            return self._tell(Outcome("refused", self.holder.version, message=line), line)
        except Exception as exc:  # noqa: BLE001 - the update thread never dies, and never takes the run down
            message = f"model update failed ({type(exc).__name__}: {str(exc)[:160]}); still running {self.holder.version}"
            return self._tell(Outcome("refused", self.holder.version, message=message), message)

    def _tell(self, outcome: Outcome, line: str | None = None) -> Outcome:
        """Keep the outcome, give it to the listeners, say `line` (each line once)."""
        self.last = outcome
        if line and line not in self._said:
            self._said.add(line)
            self.report(line)
        for listener in list(self.listeners):
            try:
                listener(outcome)
            except Exception:  # noqa: BLE001 - a listener's trouble is its own
                pass
        return outcome

    def check(self, source: str | None = None, force: bool = False, on_swap=None) -> Outcome:
        spec = source or self.settings.source
        if not spec:
            raise EdgeError("no update source: name one, or start edge-infer with --update-from PATH|URL")
        origin = origin_for(spec)
        saved = self.store.state().get("origin") or {}
        known = None if force or saved.get("source") != spec else Validators(saved.get("etag"), saved.get("last_modified"))
        published = origin.published(known)
        if published is None:
            return Outcome("unchanged", self.holder.version)
        try:
            folder, version = self._fetch(origin, published.report, published.raw, force)
        except (Unreachable, Damaged):  # not remembered: the next check fetches again (an upload may be under way)
            raise
        except _Settled as settled:
            self._remember(spec, published.validators)
            return settled.outcome
        except EdgeError:
            self._remember(spec, published.validators)  # this publication is refused; a new one is looked at
            raise
        self._remember(spec, published.validators)
        return self._try(folder, version, on_swap)

    def _remember(self, spec: str, validators: Validators) -> None:
        self.store.save(origin={"source": spec, "etag": validators.etag, "last_modified": validators.last_modified})

    def _fetch(self, origin: Origin, report: dict, raw: bytes, force: bool) -> tuple[Path, str]:
        """Download the version into a temp folder, check every file, rename it into the store."""
        files = files_to_fetch(report, self.settings.backend, origin.spec)
        download = self.store.new_download()
        try:
            origin.download(files[0], download / MANIFEST_FILE)
            manifest = Manifest.from_json((download / MANIFEST_FILE).read_text(encoding="utf-8"), f"{origin.spec} manifest")
            version = manifest_version(manifest)
            self._settled(version, force)
            try:
                check_labels(manifest, list(self.holder.labels), self.settings.allow_new_labels, version)
            except EdgeError as exc:
                self.store.refuse(version, str(exc))
                raise
            if self.store.has(version):
                if _complete(self.store.folder(version)):  # fetched before (then rolled back, or asked again)
                    return self.store.folder(version), version
                shutil.rmtree(self.store.folder(version), ignore_errors=True)
            for entry in files[1:]:
                origin.download(entry, download / entry.path)
            (download / REPORT_FILE).write_bytes(raw)
            return self.store.install(download, version), version
        finally:
            shutil.rmtree(download, ignore_errors=True)

    def _settled(self, version: str, force: bool) -> None:
        """Stop here when the version runs already, or was refused before (unless asked again)."""
        if version == self.holder.version:
            raise _Settled(Outcome("current", version, version))
        reason = self.store.state().get("refused", {}).get(version)
        if reason and not force:
            line = f"model update: version {version} was refused before ({reason}); not tried again unless asked"
            raise _Settled(self._tell(Outcome("refused", self.holder.version, version, reason), line))

    def _try(self, folder: Path, version: str, on_swap) -> Outcome:
        """Load, self-test, swap in, then the first minute."""
        running_version, running_path = self.holder.version, self.running_path()
        try:
            new = self.load(pick_artifact(folder, self.holder.path, self.settings.backend))
            check_labels(new.manifest, list(self.holder.labels), self.settings.allow_new_labels, version)
            test = self_test(new, self.holder.model, list(self.holder.samples))
        except EdgeError as exc:
            self.store.refuse(version, str(exc))
            raise
        before = self.holder.live_ms()
        self.store.begin_trial(running_path, folder)
        self.trial = Trial(version, time.time(), before)
        self.holder.swap(new)
        line = (f"model updated: {running_version} -> {version} ({new.path.name}, {new.backend.name}); {test.line()}; "
                f"on trial for {self.settings.trial_s:g} s")
        outcome = self._tell(Outcome("updated", version, version, line, test.to_dict()), line)
        if on_swap is not None and not on_swap.done():
            on_swap.set_result(outcome)
        return self._watch(new, version, running_path, running_version)

    def running_path(self) -> Path:
        """What runs now, on disk: the store's current version, or the ARTIFACT edge-infer started with."""
        return self.store.link("current") or self.settings.baseline

    def _watch(self, new, version: str, previous: Path, previous_version: str) -> Outcome:
        """The first minute: a failure in the loop, or a median time over budget, rolls back."""
        trial, reason = self.trial, None
        deadline = time.monotonic() + self.settings.trial_s
        budget = LATENCY_FACTOR * float(np.median(trial.before_ms)) + LATENCY_SLACK_MS if trial.before_ms else None
        while time.monotonic() < deadline and not self._stop.wait(TRIAL_CHECK_S):
            if self.holder.failure is not None:
                reason = f"failed in the live loop ({self.holder.failure})"
                break
            times = self.holder.live_ms(new)
            if budget is not None and len(times) >= TRIAL_MIN_FRAMES and float(np.median(times[-30:])) > budget:
                reason = (f"went over its latency budget: median {np.median(times[-30:]):.2f} ms a frame, over "
                          f"{LATENCY_FACTOR:g}x the previous model's {np.median(trial.before_ms):.2f} ms")
                self.holder.roll_back()
                break
        self.trial = None
        if reason is None and self.holder.failure is not None:  # failed just as the run was stopping
            reason = f"failed in the live loop ({self.holder.failure})"
        if reason is not None:
            self.store.roll_back(previous)
            self.store.refuse(version, reason)
            line = f"model update rolled back to {previous_version}: version {version} {reason}"
            return self._tell(Outcome("rolled_back", previous_version, version, line), line)
        if self._stop.is_set():  # stopped inside the minute: a version that ran well stays; else the restart rolls back
            if len(self.holder.live_ms(new)) >= TRIAL_MIN_FRAMES:
                self.store.confirm()
            return Outcome("updated", version, version)
        self.store.confirm()
        self.holder.end_trial()
        deleted = self.store.prune(self.settings.keep)
        line = (f"model {version} confirmed after {self.settings.trial_s:g} s in the live loop"
                + (f"; deleted old version{'s' if len(deleted) > 1 else ''} {', '.join(deleted)}" if deleted else ""))
        return self._tell(Outcome("confirmed", version, version, line), line)


class _Settled(Exception):
    def __init__(self, outcome: Outcome):
        self.outcome = outcome


def _complete(folder: Path) -> bool:
    try:
        check_complete(folder)
        return True
    except EdgeError:
        return False
