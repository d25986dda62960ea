"""Model updates over a real HTTP server on 127.0.0.1: a good version is fetched, checked, self-tested and
swapped in between two frames without a restart; a truncated or altered file, or other labels, are
refused in one line while the old model keeps answering; a failure in the first minute rolls back."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import pytest

from edge.export_dir import REPORT_FILE
from edge.hashing import file_sha256
from edge.runtime.classifier import Classifier
from edge.runtime.pipeline import run_frames
from edge.runtime.timing import Summary
from edge.runtime.updates.files import model_version
from edge.runtime.updates.store import VersionStore
from edge.runtime.updates.swap import SwappableClassifier
from edge.runtime.updates.updater import Updater, UpdateSettings
from tests.runtime.update_fixtures import frames, publish, static_server

OLD, NEW, OTHER = "a" * 64, "b" * 64, "c" * 64


@pytest.fixture
def baseline(tiny_export, tmp_path) -> Path:
    return publish(tiny_export, tmp_path / "baseline", sha=OLD)


class Live:
    """A live loop on a thread: pipeline.run_frames over a fake camera, through the swappable classifier."""

    def __init__(self, holder: SwappableClassifier, n: int = 100_000, fps: float = 60.0):
        self.holder, self.rows, self.stop = holder, [], threading.Event()

        def source():
            for frame in frames(n, fps):
                if self.stop.is_set():
                    return
                yield frame

        def emit(p):
            self.rows.append((p.frame, model_version(holder), p.label))

        self.thread = threading.Thread(target=run_frames, daemon=True, kwargs=dict(
            clf=holder, frames=holder.frames(source()), k=3, emit=emit, summary=Summary()))
        self.thread.start()
        assert wait(lambda: len(holder.samples) >= 4, 20), "the live loop did not start"

    def close(self) -> None:
        self.stop.set()
        self.thread.join(timeout=10)
        assert not self.thread.is_alive()


def wait(check, seconds: float = 20.0):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.05)
    return None


def make_updater(baseline: Path, source: str, tmp_path: Path, load=None, **settings) -> tuple[Updater, list[str]]:
    holder = SwappableClassifier(Classifier(baseline / "model.onnx", threads=1))
    lines: list[str] = []
    fields = dict(source=source, state_dir=tmp_path / "state", baseline=baseline, every_s=0, trial_s=1.0) | settings
    updater = Updater(holder, UpdateSettings(**fields), load or (lambda p: Classifier(p, threads=1)), lines.append)
    return updater, lines


def test_the_export_report_lists_every_file_with_its_hash_and_size(tiny_export):
    files = json.loads((tiny_export / REPORT_FILE).read_text())["files"]
    on_disk = sorted(p.relative_to(tiny_export).as_posix() for p in tiny_export.rglob("*")
                     if p.is_file() and not p.name.startswith(".") and p.name != REPORT_FILE)
    assert sorted(files) == on_disk and {"manifest.json", "labels.txt", "model.onnx", "openvino/model.bin"} <= set(files)
    for path, row in files.items():
        assert row == {"sha256": file_sha256(tiny_export / path), "bytes": (tiny_export / path).stat().st_size}


def test_a_good_version_is_served_without_a_restart_and_no_frame_is_lost(baseline, tmp_path):
    publish(baseline, tmp_path / "pub" / "door", sha=NEW, bias=0.3)
    with static_server(tmp_path / "pub") as (url, log):
        updater, lines = make_updater(baseline, url + "door/", tmp_path)
        live = Live(updater.holder)
        try:
            outcome = updater.check()
            assert outcome.status == "confirmed", lines  # swapped in, then its first minute (1 s here) passed
            assert wait(lambda: sum(r[1] == NEW[:12] for r in live.rows) >= 10)
            assert updater.check().status == "unchanged"  # asked again with If-None-Match: 304
        finally:
            live.close()
    versions = [r[1] for r in live.rows]
    assert [r[0] for r in live.rows] == list(range(len(live.rows)))  # every frame answered, in order
    assert versions[0] == OLD[:12] and versions[-1] == NEW[:12]
    assert sum(a != b for a, b in zip(versions, versions[1:])) == 1  # one switch, between two frames
    assert updater.holder.swapped_at_frame == versions.index(NEW[:12])
    assert log[-1] == ("/door/export_report.json", 304)
    fetched = {path for path, code in log if code == 200}
    assert fetched == {"/door/export_report.json", "/door/manifest.json", "/door/labels.txt", "/door/model.onnx"}
    assert "agreement with the running model" in lines[0] and "frames the device saw" in lines[0]
    assert "confirmed" in lines[-1] and len(lines) == 2
    store = VersionStore(tmp_path / "state")
    assert store.link("current") == store.folder(NEW[:12]) and store.link("previous") == baseline
    assert store.link("trial") is None and not list(store.versions.glob(".tmp-*"))


@pytest.mark.parametrize("damage", ["truncated", "altered"])
def test_a_damaged_artifact_is_refused_in_one_line_and_the_old_model_keeps_answering(baseline, tmp_path, damage):
    door = publish(baseline, tmp_path / "pub" / "door", sha=NEW)
    data = (door / "model.onnx").read_bytes()
    if damage == "truncated":
        (door / "model.onnx").write_bytes(data[: len(data) // 2])
    else:
        (door / "model.onnx").write_bytes(data[:-100] + bytes(b ^ 0xFF for b in data[-100:]))
    with static_server(tmp_path / "pub") as (url, log):
        updater, lines = make_updater(baseline, url + "door/", tmp_path)
        live = Live(updater.holder)
        try:
            for _ in range(2):  # said once; fetched again at the next check (an upload may still be under way)
                assert updater._guarded(None, None).status == "refused"
            served = len(live.rows)
            assert wait(lambda: len(live.rows) > served + 10)  # the old model keeps answering
        finally:
            live.close()
        assert [path for path, _ in log].count("/door/model.onnx") == 2
        store = VersionStore(tmp_path / "state")
        assert not store.has(NEW[:12]) and not list(store.versions.glob(".tmp-*")) and store.link("current") is None
        (door / "model.onnx").write_bytes(data)  # the upload completed
        assert updater._guarded(None, None).status == "confirmed"
    assert "\n" not in lines[0] and lines[0].startswith("model update refused:")
    assert ("truncated" if damage == "truncated" else "does not match its SHA-256") in lines[0]
    assert lines[0].endswith(f"still running {OLD[:12]}") and len(lines) == 3  # refused once, updated, confirmed
    assert {r[1] for r in live.rows} == {OLD[:12]}


def test_other_labels_are_refused_without_the_flag_and_taken_with_it(baseline, tmp_path):
    labels = json.loads((baseline / "manifest.json").read_text())["labels"]
    publish(baseline, tmp_path / "pub" / "door", sha=OTHER, labels=[*labels[:-1], "sunflowers"])
    with static_server(tmp_path / "pub") as (url, log):
        updater, lines = make_updater(baseline, url + "door/", tmp_path)
        assert updater._guarded(None, None).status == "refused"
        assert f"other labels (without {labels[-1]}; with sunflowers)" in lines[0] and "--allow-new-labels" in lines[0]
        assert "/door/model.onnx" not in {path for path, _ in log}  # refused on the manifest alone
        assert updater.check().status == "unchanged"  # the refused publication is not fetched again
        allowed, lines = make_updater(baseline, url + "door/", tmp_path, allow_new_labels=True)
        allowed.start()  # its first check finds the report unchanged; a request asks again, without the ETag
        try:
            assert allowed.request().result(timeout=60).status == "updated"  # asked: tried again, and taken
        finally:
            allowed.close()
    assert allowed.holder.labels[-1] == "sunflowers" and allowed.holder.version == OTHER[:12]


class FailsLater:
    """A model that answers its self-test, then fails (or slows down) in the live loop."""

    def __init__(self, clf, after: int, slow_s: float = 0.0):
        self.clf, self.after, self.slow_s, self.calls = clf, after, slow_s, 0

    def __getattr__(self, name):
        return getattr(self.clf, name)

    def answers(self, batch, k):
        self.calls += 1
        if self.calls > self.after:
            if not self.slow_s:
                raise RuntimeError("ONNX Runtime: node Conv_12 failed")
            time.sleep(self.slow_s)
        return self.clf.answers(batch, k)


@pytest.mark.parametrize("failure", ["crash", "latency"])
def test_a_version_that_fails_in_its_first_minute_is_rolled_back_by_itself(baseline, tmp_path, failure):
    publish(baseline, tmp_path / "pub" / "door", sha=NEW)
    slow = 0.0 if failure == "crash" else 0.08
    with static_server(tmp_path / "pub") as (url, _log):
        updater, lines = make_updater(baseline, url + "door/", tmp_path, trial_s=10.0,
                                      load=lambda p: FailsLater(Classifier(p, threads=1), after=30, slow_s=slow))
        live = Live(updater.holder, fps=30.0)
        try:
            outcome = updater.check()
            served = len(live.rows)
            assert wait(lambda: len(live.rows) > served + 10)
        finally:
            live.close()
        assert updater.check().status == "unchanged"
        report = tmp_path / "pub" / "door" / REPORT_FILE
        report.write_text(report.read_text() + "\n")  # republished, the same version: still refused, said once
        assert updater._guarded(None, None).status == "refused" and "refused before" in lines[-1]
    assert outcome.status == "rolled_back" and updater.holder.version == OLD[:12]
    assert len([line for line in lines if "rolled back" in line]) == 1
    said = next(line for line in lines if "rolled back" in line)
    assert said.startswith(f"model update rolled back to {OLD[:12]}: version {NEW[:12]} ")
    assert ("failed in the live loop (RuntimeError: ONNX Runtime: node Conv_12 failed)" in said if failure == "crash"
            else "went over its latency budget" in said)
    rows = live.rows
    assert [r[0] for r in rows] == list(range(len(rows)))  # the failing frame was answered by the old model
    versions = [r[1] for r in rows]
    assert versions[0] == versions[-1] == OLD[:12] and NEW[:12] in versions
    store = VersionStore(tmp_path / "state")
    assert store.link("current") == baseline and store.link("trial") is None
    assert NEW[:12] in store.state()["refused"]


def test_a_folder_on_disk_is_a_source_too_and_old_versions_are_pruned(baseline, tmp_path):
    share = tmp_path / "share"
    updater, lines = make_updater(baseline, str(share), tmp_path, keep=1, trial_s=0.2)
    for sha in (NEW, OTHER, "d" * 64):
        publish(baseline, share, sha=sha)
        assert updater.check().status == "confirmed", lines
        assert updater.check().status == "unchanged"  # the report's mtime and size: not read again
    store = VersionStore(tmp_path / "state")
    kept = sorted(p.name for p in store.versions.iterdir())
    assert kept == sorted([OTHER[:12], "d" * 12])  # keep 1, and never the previous one
    assert store.link("current") == store.folder("d" * 12) and store.link("previous") == store.folder(OTHER[:12])


def test_an_unreachable_source_is_said_once_and_tried_again(baseline, tmp_path):
    publish(baseline, tmp_path / "pub" / "door", sha=NEW)
    with static_server(tmp_path / "pub") as (url, _log):
        pass  # the port is closed again
    updater, lines = make_updater(baseline, url + "door/", tmp_path)
    for _ in range(3):
        assert updater._guarded(None, None).status == "unreachable"
    assert len(lines) == 1 and "cannot reach it" in lines[0]
    assert updater.holder.version == OLD[:12]


def test_update_options_are_checked_before_anything_loads(baseline, tmp_path):
    from edge.errors import EdgeError
    from edge.runtime.options import InferOptions
    from edge.runtime.updates.start import start_updates

    with pytest.raises(EdgeError, match="go with --update-from"):
        InferOptions(artifact=baseline, source="0", allow_new_labels=True).check()
    with pytest.raises(EdgeError, match="--update-every -1"):
        InferOptions(artifact=baseline, source="0", update_from="http://h/x/", update_every=-1).check()
    opts = InferOptions(artifact=baseline, source=str(tmp_path), update_from=str(tmp_path))
    with pytest.raises(EdgeError, match="swaps the model of a live run"):
        start_updates(opts, Classifier(baseline / "model.onnx", threads=1), "images", lambda m: None)
    with pytest.raises(EdgeError, match="give an export folder or an http"):
        make_updater(baseline, "ftp://h/door/", tmp_path)[0].check()
    locked = tmp_path / "locked"
    locked.write_text("a file, not a folder")
    opts = InferOptions(artifact=baseline, source="0", update_from=str(tmp_path), state_dir=locked)
    with pytest.raises(EdgeError, match="cannot write there"):
        start_updates(opts, Classifier(baseline / "model.onnx", threads=1), "camera", lambda m: None)
