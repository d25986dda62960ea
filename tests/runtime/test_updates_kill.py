"""`kill -9` at each step of an update leaves a device that starts with a complete version.

A child process runs the real update (fetch over HTTP from 127.0.0.1, check, install, links, swap) and
SIGKILLs itself at one step; then `edge-infer --update-from` starts on what it left, in a fresh
interpreter without torch, and must run a whole version: the old one until the new one was confirmed
(a version killed in its first minute is rolled back and refused), the new one after.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from edge.runtime.updates.check import check_complete
from edge.runtime.updates.store import VersionStore
from tests.conftest import BLOCK_TORCH
from tests.runtime.update_fixtures import publish, static_server

ROOT = Path(__file__).resolve().parents[2]
OLD, NEW = "a" * 64, "b" * 64

CHILD = r"""
import os, signal, sys
from pathlib import Path
from edge.runtime.classifier import Classifier
from edge.runtime.updates import fetch
from edge.runtime.updates.startup import baseline_record
from edge.runtime.updates.store import VersionStore
from edge.runtime.updates.swap import SwappableClassifier
from edge.runtime.updates.updater import Updater, UpdateSettings

baseline, url, state, step = Path(sys.argv[1]), sys.argv[2], Path(sys.argv[3]), sys.argv[4]
die = lambda: os.kill(os.getpid(), signal.SIGKILL)

def after(cls, name, nth=1):
    original, calls = getattr(cls, name), []
    def wrapped(*args, **kwargs):
        result = original(*args, **kwargs)
        calls.append(1)
        if len(calls) == nth:
            die()
        return result
    setattr(cls, name, wrapped)

if step == "download":  # half of model.onnx written, then killed
    original = fetch._write_checked
    def half(stream, entry, dest, where):
        if entry.path == "model.onnx":
            dest.write_bytes(stream.read(entry.size // 2))
            die()
        return original(stream, entry, dest, where)
    fetch._write_checked = half
elif step == "installed":
    after(VersionStore, "install")
elif step.startswith("link"):  # previous, trial, current: the three links of a swap
    after(VersionStore, "set_link", int(step[-1]))
elif step == "swapped":  # the new model answers, in its first minute
    after(SwappableClassifier, "swap")
elif step == "confirmed":
    after(VersionStore, "confirm")
store = VersionStore(state)
store.save(baseline=baseline_record(baseline))
holder = SwappableClassifier(Classifier(baseline, threads=1))
settings = UpdateSettings(source=url, state_dir=state, baseline=baseline, every_s=0, trial_s=0.5)
print(Updater(holder, settings, lambda p: Classifier(p, threads=1), print).check())
"""

# step -> (the version a restart runs, what it says)
STEPS = {
    "download": (OLD, None),
    "installed": (OLD, None),
    "link1": (OLD, None),
    "link2": (OLD, None),
    "link3": (OLD, "rolled back"),
    "swapped": (OLD, "rolled back"),
    "confirmed": (NEW, "running version " + NEW[:12]),
}


def env() -> dict:
    return dict(os.environ, PYTHONPATH=os.pathsep.join([str(BLOCK_TORCH), str(ROOT)]))


def video(path: Path) -> Path:
    cv2 = pytest.importorskip("cv2")
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 30.0, (96, 72))
    rng = np.random.default_rng(0)
    for _ in range(8):
        writer.write(rng.integers(0, 255, (72, 96, 3), dtype=np.uint8))
    writer.release()
    return path


def restart(baseline: Path, clip: Path, source: str, state: Path) -> tuple[list[dict], str]:
    """edge-infer as systemd would start it again (the source is down now: what runs is what the disk holds)."""
    code = "import sys; from edge.cli.infer import main; main(); assert 'torch' not in sys.modules"
    args = [str(baseline / "model.onnx"), str(clip), "--json", "--max-frames", "3", "--update-from", source,
            "--update-every", "0", "--state-dir", str(state)]
    result = subprocess.run([sys.executable, "-c", code, *args], env=env(), capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return [json.loads(line) for line in result.stdout.splitlines()], result.stderr


@pytest.mark.parametrize("step", list(STEPS))
def test_kill_9_at_each_step_leaves_a_device_that_starts_with_a_complete_version(tiny_export, tmp_path, step):
    baseline = publish(tiny_export, tmp_path / "baseline", sha=OLD)
    publish(baseline, tmp_path / "pub" / "door", sha=NEW, bias=0.2)
    state, clip = tmp_path / "state", video(tmp_path / "clip.mp4")
    with static_server(tmp_path / "pub") as (url, _log):
        child = subprocess.run([sys.executable, "-c", CHILD, str(baseline / "model.onnx"), url + "door/", str(state),
                                step], env=env(), capture_output=True, text=True, timeout=120)
    assert child.returncode == -9, child.stdout + child.stderr  # SIGKILL, at that step
    expected, said = STEPS[step]
    rows, stderr = restart(baseline, clip, url + "door/", state)  # the server is gone: no new update
    assert len(rows) == 3 and {row["model_version"] for row in rows} == {expected[:12]}, stderr
    assert "Traceback" not in stderr and (said is None or said in stderr), stderr
    store = VersionStore(state)
    assert not list(store.versions.glob(".tmp-*")) and store.link("trial") is None
    current = store.link("current")
    if current is not None and current.is_relative_to(store.versions):
        check_complete(current)  # every file it holds matches the export report
    if said == "rolled back":
        assert NEW[:12] in store.state()["refused"] and current == baseline / "model.onnx"


def test_a_damaged_current_version_falls_back_to_the_previous_one(tiny_export, tmp_path):
    """A power cut (or an SD card) that damaged a file of the current version: the previous one runs."""
    baseline = publish(tiny_export, tmp_path / "baseline", sha=OLD)
    state, clip = tmp_path / "state", video(tmp_path / "clip.mp4")
    store = VersionStore(state)
    store.versions.mkdir(parents=True)
    new = publish(baseline, store.folder(NEW[:12]), sha=NEW)
    store.set_link("previous", baseline)
    store.set_link("current", new)
    (new / "model.onnx").write_bytes((new / "model.onnx").read_bytes()[:1000])
    rows, stderr = restart(baseline, clip, "http://127.0.0.1:9/none/", state)
    assert {row["model_version"] for row in rows} == {OLD[:12]}
    assert f"current version {NEW[:12]}" in stderr and "is not complete" in stderr and "truncated" in stderr
    assert store.link("current") == baseline
