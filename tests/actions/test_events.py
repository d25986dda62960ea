"""The event core without a broker: debounced states, the pause gate, and actions that never slow the loop."""

from __future__ import annotations

import threading
import time

import numpy as np

from edge.actions.dispatch import Forward
from edge.actions.events import Events
from edge.actions.tracker import Tracker
from edge.runtime.classifier import Prediction
from edge.runtime.sources import Frame


def prediction(label: str, prob: float = 0.9, unknown: bool = False, source: str = "camera:0") -> Prediction:
    return Prediction(source, [(label, prob), ("other", round(1 - prob, 6))], 1, {}, unknown, 0.5)


def debounced(tracker: Tracker, script) -> list[tuple[str | None, str]]:
    changes = []
    for label, prob, unknown in script:
        change = tracker.observe(prediction(label, prob, unknown))
        if change is not None:
            changes.append(change)
    return changes


def test_a_label_becomes_the_state_after_hold_frames_at_min_confidence():
    tracker = Tracker(hold=3, min_confidence=0.6)
    script = ([("rose", .9, False)] * 3 + [("tulip", .9, False)] * 2 + [("rose", .9, False)] * 5
              + [("tulip", .5, False)] * 5  # unsure: never holds
              + [("tulip", .95, False)] * 2 + [("tulip", .3, False)] + [("tulip", .95, False)] * 2  # broken run
              + [("tulip", .95, False)] * 3 + [("rose", .2, True)] * 3)  # 'unknown' holds whatever its top-1 prob
    assert debounced(tracker, script) == [(None, "rose"), ("rose", "tulip"), ("tulip", "unknown")]
    assert tracker.state == "unknown"


def test_hold_one_follows_every_confident_frame():
    tracker = Tracker(hold=1, min_confidence=0.0)
    script = [("a", .5, False), ("a", .5, False), ("b", .5, False), ("a", .5, False)]
    assert debounced(tracker, script) == [(None, "a"), ("a", "b"), ("b", "a")]


def test_each_source_has_its_own_state_and_changes_carry_a_frame_copy():
    events = Events(hold=2, min_confidence=0.5)
    frame = np.zeros((4, 6, 3), np.uint8)
    changes = [events.observe(source, prediction(label, source=source), frame)
               for source, label in [("camera:0", "a"), ("picam", "b"), ("camera:0", "a"), ("picam", "b")]]
    first, second = changes[2], changes[3]
    assert changes[:2] == [None, None] and (first.source, first.label) == ("camera:0", "a")
    assert (second.source, second.label, second.previous) == ("picam", "b", None)
    frame[:] = 255  # the camera reuses its buffer: the change kept what it saw
    assert first.bgr.max() == 0
    body = first.to_dict()
    assert body["event"] == "label_changed" and body["prediction"]["label"] == "a" and body["held_frames"] == 2


class Slow:
    """An action stuck for a long time on every change (a dead broker, a hanging webhook)."""

    name = "slow"

    def __init__(self):
        self.seen, self.release = [], threading.Event()

    def handle(self, change):
        self.seen.append(change.label)
        self.release.wait(10)

    def close(self):
        self.release.set()


def test_a_stuck_action_never_slows_observe_and_its_drops_are_counted():
    events = Events(hold=1, min_confidence=0.0)
    slow, fast, dropped = Slow(), [], []
    events.on_drop = dropped.append
    events.add(slow, queue_size=4)
    events.add(Forward("fast", lambda change: fast.append(change.label)), queue_size=128)
    labels = ["a", "b"] * 50  # 100 changes
    start = time.perf_counter()
    for label in labels:
        events.observe("camera:0", prediction(label))
    assert time.perf_counter() - start < 1.0  # nothing waited for the stuck action (generous: 2 shared cores)
    deadline = time.monotonic() + 5
    while len(fast) < len(labels) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert fast == labels  # the other action got every change, in order
    assert events.dropped()["slow"] >= len(labels) - 4 - 1 and dropped.count("slow") == events.dropped()["slow"]
    events.close(wait_s=0.5)
    assert slow.release.is_set()


def test_an_action_that_raises_is_reported_and_keeps_running():
    lines, seen = [], []

    def handle(change):
        seen.append(change.label)
        raise ValueError("boom")

    events = Events(hold=1, min_confidence=0.0, report=lines.append)
    events.add(Forward("broken", handle))
    for label in "abc":
        events.observe("camera:0", prediction(label))
    events.close()
    assert seen == ["a", "b", "c"] and lines[0] == "broken: ValueError: boom" and len(lines) == 3


def frames(n: int, pulled: list):
    for i in range(n):
        pulled.append(i)
        yield Frame("camera:0", i, np.zeros((2, 2, 3), np.uint8), 0.0)


def test_a_paused_source_pulls_and_classifies_nothing_until_resumed():
    events = Events(hold=1, min_confidence=0.0)
    pulled, passed = [], []

    def loop():
        for frame in events.gate(frames(200, pulled)):
            passed.append(frame.index)
            events.observe(frame.source, prediction("a"))
            if frame.index == 5:
                events.set_paused("camera:0", True)  # the command lands right after frame 5

    assert events.set_paused("camera:0", True) is False  # not seen yet
    thread = threading.Thread(target=loop, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while len(pulled) < 7 and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.3)
    assert (len(pulled), passed) == (7, list(range(6)))  # frame 6 waits at the gate; nothing more pulled
    events.set_paused("camera:0", False)
    thread.join(timeout=30)
    assert not thread.is_alive() and passed == [*range(6), *range(7, 200)]  # frame 6 went stale while paused


def test_close_ends_a_paused_gate():
    events = Events(hold=1, min_confidence=0.0)
    pulled, passed = [], []
    gate = events.gate(frames(10, pulled))
    first = next(gate)
    events.observe(first.source, prediction("a"))
    events.set_paused("camera:0", True)
    threading.Timer(0.2, events.close).start()
    passed.extend(gate)  # waits, then ends when closed
    assert passed == [] and len(pulled) == 2
