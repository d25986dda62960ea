"""--record: event clips from the live loop's frames, counted back with OpenCV; the size cap; a SIGKILL mid-clip.

Frames carry their own number in two grey blocks (bottom right, away from the drawn label), so the frames
a clip holds are read back from the MP4 itself, not trusted from the sidecar.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from edge.actions.clip_action import ClipConfig, ClipRecorder
from edge.actions.clip_files import CLIP_RE, KIND, TEMP_RE, owned_clips
from edge.actions.events import Events
from edge.runtime.classifier import Prediction
from edge.runtime.sources import Frame
from edge.runtime.timing import Summary
from tests.conftest import BLOCK_TORCH

cv2 = pytest.importorskip("cv2")
ROOT = Path(__file__).resolve().parents[2]


def image(index: int) -> np.ndarray:
    """Frame `index` (< 256): its number in base 16 as two grey levels 16 apart (MP4 shifts them by ~3)."""
    frame = np.full((96, 128, 3), 60, np.uint8)
    frame[-40:, -40:] = index % 16 * 16 + 8
    frame[-40:, -80:-40] = index // 16 * 16 + 8
    return frame


def numbers(clip: Path) -> list[int]:
    """The frame numbers an MP4 holds, in order, read from each frame's grey block."""
    capture, found = cv2.VideoCapture(str(clip)), []
    assert capture.isOpened(), clip
    while True:
        ok, frame = capture.read()
        if not ok:
            break
        low, high = (int(frame[-30:-10, x:x + 20].mean()) // 16 for x in (-30, -70))
        found.append(high * 16 + low)
    capture.release()
    return found


def run_script(folder: Path, labels: list[str], clock=None, source: str = "clip.mp4", **config) -> tuple[Events, list]:
    """Feed one frame per label through the real event core (hold 1) with a recorder; the changes it made."""
    events = Events(hold=1, min_confidence=0.0)
    cfg = {"video_fps": 10.0, "pre_s": 1.0, "post_s": 2.0, **config}
    ClipRecorder(ClipConfig(folder=folder, **cfg), clock=clock or time.monotonic).hook(events)
    changes = []
    events.watchers.append(lambda frame, p, summary, change: change and changes.append(change))
    hook, summary = events.frame_hook(), Summary()
    for index, label in enumerate(labels):
        hook(Frame(source, index, image(index), 0.0), Prediction(source, [(label, 0.9), ("x", 0.1)], index), summary)
        summary.classified += 1
    events.close(wait_s=10)
    return events, changes


def sidecar(clip: Path) -> dict:
    return json.loads(clip.with_suffix(".json").read_text())


def test_a_clip_holds_pre_seconds_before_the_change_and_post_seconds_after(tmp_path):
    # 10 fps video time: the change to "b" is frame 30; 1 s before it is frames 20-29, 2 s after is frames 30-49
    _, changes = run_script(tmp_path, ["a"] * 30 + ["b"] * 50)
    clips = sorted(tmp_path.glob("clip-*.mp4"))
    assert len(clips) == 1 and len(changes) == 2 and changes[0].clip is None  # the first state is not a change
    assert changes[1].clip == str(clips[0]) and changes[1].to_dict()["clip"] == str(clips[0])  # MQTT / webhook name it
    got = numbers(clips[0])
    assert abs(got[0] - 20) <= 1 and abs(got[-1] - 49) <= 1 and abs(len(got) - 30) <= 1, got
    assert got == list(range(got[0], got[-1] + 1))  # every frame, in order
    meta = sidecar(clips[0])
    assert meta["frames"] == len(got) and meta["fps"] == 10.0 and meta["complete"] is True
    assert (meta["label"], meta["previous"], meta["source"], meta["kind"]) == ("b", "a", "clip.mp4", KIND)
    assert meta["first_frame"] == got[0] and meta["last_frame"] == got[-1] and meta["score"] == 0.9
    assert meta["start_time"] <= meta["event_time"] <= meta["end_time"]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temp left


def test_stride_and_a_short_pre_roll_at_the_start(tmp_path):
    """--stride 2 of a 10 fps file: 5 frames a second; a change 4 frames in has only those 4 before it."""
    labels = ["a"] * 4 + ["b"] * 30
    events = Events(hold=1, min_confidence=0.0)
    ClipRecorder(ClipConfig(folder=tmp_path, video_fps=10.0, stride=2, pre_s=2.0, post_s=2.0)).hook(events)
    hook, summary = events.frame_hook(), Summary()
    for n, label in enumerate(labels):  # the file's frame numbers 0, 2, 4, ...
        hook(Frame("v.mp4", 2 * n, image(n), 0.0), Prediction("v.mp4", [(label, 0.9)], 2 * n), summary)
    events.close(wait_s=10)
    (clip,) = tmp_path.glob("clip-*.mp4")
    got = numbers(clip)
    assert got[0] == 0 and abs(len(got) - (4 + 10)) <= 1 and sidecar(clip)["fps"] == 5.0, got


def test_a_looped_video_keeps_its_time_going_forward(tmp_path):
    """--loop: the file's frame numbers start again at 0; a clip across the restart still counts on."""
    events = Events(hold=1, min_confidence=0.0)
    ClipRecorder(ClipConfig(folder=tmp_path, video_fps=10.0, pre_s=1.0, post_s=2.0)).hook(events)
    hook, summary = events.frame_hook(), Summary()
    for n in range(80):  # two passes over a 40-frame file; b from frame 5 of the second pass
        label = "b" if n >= 45 else "a"
        hook(Frame("v.mp4", n % 40, image(n), 0.0), Prediction("v.mp4", [(label, 0.9)], n % 40), summary)
    events.close(wait_s=10)
    (clip,) = tmp_path.glob("clip-*.mp4")
    assert numbers(clip) == list(range(35, 65))


def test_record_on_a_label_and_a_second_change_within_post_extends_the_clip(tmp_path):
    # b at 10 (wanted), a at 15 (not), b at 20 (wanted, inside the open clip: it now ends at 20 + 20)
    _, changes = run_script(tmp_path, ["a"] * 10 + ["b"] * 5 + ["a"] * 5 + ["b"] * 60, record_on="b")
    (clip,) = tmp_path.glob("clip-*.mp4")
    assert [c.clip for c in changes] == [None, str(clip), None, str(clip)]
    got = numbers(clip)
    assert abs(got[0] - 0) <= 1 and abs(got[-1] - 39) <= 1, got
    assert [e["label"] for e in sidecar(clip)["events"]] == ["b", "b"]


def test_a_clip_right_after_another_still_gets_its_whole_pre_roll(tmp_path):
    """b at 30 (clip 20-49), c at 52: its pre-roll 42-51 lies partly inside the first clip, and is all there."""
    run_script(tmp_path, ["a"] * 30 + ["b"] * 22 + ["c"] * 40)
    first, second = sorted(tmp_path.glob("clip-*.mp4"), key=lambda clip: sidecar(clip)["first_frame"])
    assert numbers(first)[0] in (19, 20, 21)
    got = numbers(second)
    assert abs(got[0] - 42) <= 1 and got == list(range(got[0], got[0] + len(got))), got


def test_a_roll_over_past_max_clip_length_keeps_the_new_clips_pre_roll(tmp_path, monkeypatch):
    """MAX_CLIP_S 4 s: b at 10 opens a clip from frame 0; c at 25 would make it 4.5 s long, so a new clip starts
    there, with its pre-roll from frame 15, frames inside the first clip."""
    from edge.actions import clip_action

    monkeypatch.setattr(clip_action, "MAX_CLIP_S", 4.0)
    run_script(tmp_path, ["a"] * 10 + ["b"] * 15 + ["c"] * 40)
    clips = sorted(tmp_path.glob("clip-*.mp4"), key=lambda clip: sidecar(clip)["first_frame"])
    assert len(clips) == 2
    got = numbers(clips[1])
    assert abs(got[0] - 15) <= 1 and got == list(range(got[0], got[0] + len(got))), got


def test_frames_deep_inside_an_open_clip_are_not_encoded_for_the_pre_roll(tmp_path, monkeypatch):
    """The pre-roll's JPEG costs ~1 ms a 640x480 frame: frames no later clip can reach skip it."""
    kept = []
    original = ClipRecorder._keep
    monkeypatch.setattr(ClipRecorder, "_keep", lambda self, fed: (kept.append(fed.prediction.frame), original(self, fed)))
    # a change every 15 frames from frame 15 to 105 keeps one clip open to frame 124 (post 2 s = 20 frames);
    # of the frames inside it, only the last 10 (--pre 1 s) before an end it had are encoded
    run_script(tmp_path, (["a"] * 15 + ["b"] * 15) * 4 + ["b"] * 30)
    (clip,) = tmp_path.glob("clip-*.mp4")
    assert sidecar(clip)["first_frame"] == 5 and sidecar(clip)["last_frame"] == 124
    inside = [frame for frame in kept if 15 <= frame <= 124]
    assert set(range(15)) <= set(kept) and set(range(125, 150)) <= set(kept)  # outside a clip: every frame
    assert len(inside) == 6 * 5 + 10 and all(frame % 15 >= 10 or frame >= 115 for frame in inside), inside


def test_a_live_source_counts_in_its_own_clock_and_plays_at_its_measured_rate(tmp_path):
    ticks = iter(np.arange(0, 100, 0.05))  # 20 frames a second
    run_script(tmp_path, ["a"] * 40 + ["b"] * 60, clock=lambda: float(next(ticks)), source="camera:0", video_fps=None)
    (clip,) = tmp_path.glob("clip-*-camera-0-b.mp4")
    got = numbers(clip)
    assert abs(got[0] - 20) <= 1 and abs(got[-1] - 79) <= 1 and abs(sidecar(clip)["fps"] - 20) < 0.1, got


def test_the_run_ending_mid_clip_still_leaves_a_playable_clip_marked_incomplete(tmp_path):
    run_script(tmp_path, ["a"] * 10 + ["b"] * 5)
    (clip,) = tmp_path.glob("clip-*.mp4")
    assert len(numbers(clip)) == 15 and sidecar(clip)["complete"] is False and sidecar(clip)["frames"] == 15


def fake_clip(folder: Path, name: str, size: int, ours: bool = True) -> Path:
    path = folder / name
    path.write_bytes(b"\0" * size)
    if ours:
        path.with_suffix(".json").write_text(json.dumps({"kind": KIND, "clip": name}))
    return path


def test_the_cap_deletes_edges_oldest_clips_and_never_a_foreign_file(tmp_path):
    old = [fake_clip(tmp_path, f"clip-2020010{i}T000000.000Z-camera-0-a.mp4", 400_000) for i in range(1, 4)]
    foreign = [fake_clip(tmp_path, "clip-20190101T000000.000Z-camera-0-a.mp4", 900_000, ours=False),  # no sidecar
               tmp_path / "holiday.mp4", tmp_path / "notes.json"]
    foreign[1].write_bytes(b"\0" * 900_000)
    foreign[2].write_text("{}")
    not_ours = fake_clip(tmp_path, "clip-20180101T000000.000Z-camera-0-a.mp4", 500_000, ours=False)
    not_ours.with_suffix(".json").write_text(json.dumps({"kind": "something-else", "clip": not_ours.name}))
    run_script(tmp_path, ["a"] * 30 + ["b"] * 50, max_mb=1.0)  # the start already trims to 1 MB, the new clip more
    (new,) = [p for p in tmp_path.glob("clip-*.mp4") if p.name > old[-1].name]
    assert [path for path, _ in owned_clips(tmp_path)] == [old[1], old[2], new]  # the oldest went, the new one stays
    assert not old[0].exists() and not old[0].with_suffix(".json").exists()
    assert sum(size for _, size in owned_clips(tmp_path)) <= 1_000_000
    for path in [*foreign, not_ours, not_ours.with_suffix(".json")]:
        assert path.exists(), path


KILL_SCRIPT = """
import sys, time
import numpy as np
from pathlib import Path
from edge.actions.clip_action import ClipConfig, ClipRecorder
from edge.actions.events import Events
from edge.runtime.classifier import Prediction
from edge.runtime.sources import Frame
from edge.runtime.timing import Summary

events = Events(hold=1, min_confidence=0.0)
ClipRecorder(ClipConfig(folder=Path(sys.argv[1]), video_fps=10.0, pre_s=1.0, post_s=600.0)).hook(events)
hook, summary = events.frame_hook(), Summary()
for i in range(10**6):
    frame = np.full((96, 128, 3), i % 256, np.uint8)
    hook(Frame("v.mp4", i, frame, 0.0), Prediction("v.mp4", [("a" if i < 20 else "b", 0.9)], i), summary)
    if i == 60:
        print("recording", flush=True)
    time.sleep(0.005)
"""


def test_sigkill_mid_clip_leaves_only_a_temp_that_the_next_start_deletes(tmp_path):
    (tmp_path / "mine.mp4").write_bytes(b"not edge's")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(BLOCK_TORCH), str(ROOT)]))
    proc = subprocess.Popen([sys.executable, "-c", KILL_SCRIPT, str(tmp_path)], stdout=subprocess.PIPE, env=env)
    try:
        assert proc.stdout.readline() == b"recording\n"
        deadline = time.monotonic() + 20
        while not any(TEMP_RE.match(p.name) and p.stat().st_size for p in tmp_path.iterdir()):
            assert time.monotonic() < deadline, "no clip was being written"
            time.sleep(0.05)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    names = sorted(p.name for p in tmp_path.iterdir())
    assert not [n for n in names if CLIP_RE.match(n) or n.startswith("clip-")], names
    assert [n for n in names if TEMP_RE.match(n)], names
    ClipRecorder(ClipConfig(folder=tmp_path))  # the next start
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine.mp4"]
