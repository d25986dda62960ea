"""The event core of a live run: per source a tracker, the newest prediction and the frame rate, a
pause switch, and the actions that receive every state change.

The inference loop calls `observe` (through `frame_hook`) and reads the pause switch (through `gate`);
both only swap references and append to bounded queues. Actions read `live()` from their own threads.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace

from edge.actions.dispatch import Action, Dispatch
from edge.actions.tracker import Change, Tracker, now_iso
from edge.runtime.classifier import Prediction

PAUSE_POLL_S = 0.1  # how often a paused source looks at its switch


@dataclass
class Live:
    """One source as the loop last saw it (written by the inference thread, read by actions)."""

    tracker: Tracker
    prediction: Prediction | None = None
    times: deque = field(default_factory=lambda: deque(maxlen=30))
    paused: bool = False

    @property
    def fps(self) -> float:
        times = list(self.times)
        return 0.0 if len(times) < 2 or times[-1] <= times[0] else (len(times) - 1) / (times[-1] - times[0])


class Events:
    def __init__(self, *, hold: int, min_confidence: float, report: Callable[[str], None] = lambda _m: None):
        self.hold, self.min_confidence, self.report = hold, min_confidence, report
        self.on_drop: Callable[[str], None] | None = None  # /metrics sets it: edge_action_dropped{action}
        self.dispatches: list[Dispatch] = []
        self.watchers: list[Callable] = []  # (frame, prediction, summary, change) on the inference thread: cheap appends only
        self.clip_for: Callable[[Change], str | None] | None = None  # --record: the clip a change is recorded in
        self._sources: dict[str, Live] = {}
        self._lock = threading.Lock()
        self._closed = threading.Event()

    def add(self, action: Action, **dispatch_options) -> Dispatch:
        """Start `action` on its own thread; it receives every Change from now on."""
        dispatch = Dispatch(action, report=self.report, on_drop=self._dropped, **dispatch_options)
        self.dispatches.append(dispatch)
        return dispatch

    # -- the inference thread's side -------------------------------------------------------------
    def observe(self, source: str, prediction: Prediction, bgr=None) -> Change | None:
        live = self._sources.get(source) or self._new_source(source)
        live.prediction = prediction
        live.times.append(time.monotonic())
        changed = live.tracker.observe(prediction)
        if changed is None or self._closed.is_set():
            return None
        change = Change(source=source, label=changed[1], previous=changed[0], time=now_iso(),
                        held_frames=self.hold, prediction=prediction, bgr=None if bgr is None else bgr.copy())
        if self.clip_for is not None:
            change = replace(change, clip=self.clip_for(change))
        for dispatch in self.dispatches:
            dispatch.put(change)
        return change

    def frame_hook(self, sink=None):
        """An on_frame callback for pipeline.run_frames that observes each frame, then calls `sink`."""
        def on_frame(frame, prediction: Prediction, summary) -> None:
            change = self.observe(frame.source, prediction, frame.bgr)
            for watch in self.watchers:  # --record's feed
                watch(frame, prediction, summary, change)
            if sink is not None:
                sink(frame, prediction, summary)

        return on_frame

    def gate(self, frames: Iterable) -> Iterator:
        """The frames of sources not paused. A paused source waits here (nothing pulled, nothing classified)
        until resumed or closed; the frame it held is dropped as stale, the next one is fresh."""
        for frame in frames:
            live = self._sources.get(frame.source)
            if live is not None and live.paused:
                while live.paused and not self._closed.wait(PAUSE_POLL_S):
                    pass
                if self._closed.is_set():
                    return
                continue
            yield frame

    # -- the actions' side -----------------------------------------------------------------------
    def live(self) -> dict[str, Live]:
        with self._lock:
            return dict(self._sources)

    def set_paused(self, source: str, paused: bool) -> bool:
        """Pause or resume classifying `source`; False if no such source has been seen."""
        live = self._sources.get(source)
        if live is None:
            return False
        live.paused = paused
        return True

    def dropped(self) -> dict[str, int]:
        return {d.action.name: d.dropped for d in self.dispatches}

    def close(self, wait_s: float = 2.0) -> None:
        """Let the actions finish what is queued (each at most `wait_s`), then close them. Idempotent."""
        if self._closed.is_set():
            return
        self._closed.set()
        for dispatch in self.dispatches:
            dispatch.close(wait_s)

    def _new_source(self, source: str) -> Live:
        with self._lock:
            live = self._sources.setdefault(source, Live(Tracker(hold=self.hold, min_confidence=self.min_confidence)))
        return live

    def _dropped(self, name: str) -> None:
        if self.on_drop is not None:
            self.on_drop(name)
