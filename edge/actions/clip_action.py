"""--record DIR: an annotated MP4 from --pre seconds before a state change to --post seconds after it.

The inference thread does two cheap things per frame: it appends the frame (a reference, not a copy:
every source yields a new array per frame) to a bounded feed, and on a change it decides, with a little
arithmetic, which clip the change belongs to, so the Change event (MQTT, webhook) names the clip before
it is written. It wakes the action thread only for a change or a half-full feed: a wake-up per frame
cost the inference thread GIL hand-overs at every frame. Everything else runs on the action's own
thread: JPEG-encoding each frame into the pre-roll ring (about 1 ms for 640x480 on an x86 core, a few
times that on a Pi; the JPEG is ~15x smaller than the raw frame, so 3 s at 30 fps holds ~5 MB, not 80
MB), drawing the label as --save does, and writing the MP4 (edge.actions.clip_writer; names, sidecars,
cap: edge.actions.clip_files). A frame inside an open clip that no later clip's pre-roll can reach (more
than --pre before the clip's end, and not near its MAX_CLIP_S roll-over) is not JPEG-encoded at all.

Frame times are a video file's own (frame index / its fps), so a clip of a file is the same however
fast it is classified, and a camera's monotonic clock. A wanted change while a clip is open extends it.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from edge.actions.clip_files import clip_name, enforce_cap, sweep
from edge.actions.clip_writer import ClipWriter, Recording
from edge.actions.tracker import Change
from edge.errors import EdgeError
from edge.runtime.annotate import draw, measured_rate
from edge.runtime.classifier import Prediction
from edge.runtime.updates.files import model_version

FEED_BYTES = 48_000_000  # raw frames the action thread may fall behind by; beyond, frames are dropped (a change's never)
MAX_FPS = 60.0  # a camera's pre-roll holds at most --pre x this many frames
MAX_CLIP_S = 120.0  # wanted changes extend the open clip while it stays under this length; then a new one starts
WAIT_S = 0.1  # the action thread's longest sleep between frames
EPS = 1e-6  # frame times are floats (index / fps): boundaries compare with this slack


@dataclass(frozen=True, kw_only=True)
class ClipConfig:
    folder: Path  # --record DIR
    record_on: str = "change"  # "change": every change of state after the first; else the label whose start is recorded
    pre_s: float = 3.0
    post_s: float = 5.0
    max_mb: float = 500.0  # edge's clips in DIR, sidecars included
    video_fps: float | None = None  # a video file's own rate (frame times in video time); None: a live source
    stride: int = 1  # --stride: a video's frames come every stride-th
    model: Callable[[], dict] = dict  # arch, precision, version ... as they are when a sidecar is written


@dataclass
class Fed:
    """One frame as the inference thread hands it over."""

    source: str
    t: float  # frame time, seconds
    wall: float  # time.time() when classified
    bgr: np.ndarray
    prediction: Prediction
    fps: float  # the rate drawn on the frame, as --save draws it
    change: Change | None  # the change this frame completed, if any
    end: float | None = None  # with a change that has a clip: the time that clip ends


@dataclass
class Kept:
    """One frame of the pre-roll ring: JPEG-encoded, annotated only if a clip needs it."""

    t: float
    wall: float
    jpeg: np.ndarray
    prediction: Prediction
    fps: float


@dataclass
class Open:
    """The inference thread's view of a source's open clip."""

    path: str
    start: float
    end: float


def iso(wall: float) -> str:
    return datetime.fromtimestamp(wall, timezone.utc).isoformat(timespec="milliseconds")


class ClipRecorder:
    name = "record"

    def __init__(self, cfg: ClipConfig, report=lambda _m: None, clock=time.monotonic):
        self.cfg, self.report, self.clock = cfg, report, clock  # clock: a live source's frame times
        self.frame_rate = cfg.video_fps / cfg.stride if cfg.video_fps else None
        swept = sweep(cfg.folder)
        if swept:
            report(f"--record {cfg.folder}: deleted {len(swept)} unfinished clip file(s) an earlier run left")
        enforce_cap(cfg.folder, cfg.max_mb * 1e6)
        self.feed: deque[Fed] = deque()
        self.feed_max: int | None = None
        self.dropped = 0  # frames the action thread was too far behind to take
        self._wake, self._lock, self._closed = threading.Event(), threading.Lock(), False
        # the inference thread's state
        self._clock: dict[str, tuple[Prediction, float]] = {}
        self._offset: dict[str, float] = {}
        self._open: dict[str, Open] = {}
        self._names: set[str] = set()
        # the action thread's state
        self.rings: dict[str, deque[Kept]] = {}
        self.clips: dict[str, Recording] = {}

    def hook(self, events) -> ClipRecorder:
        """Start on its own thread in `events`, see every frame, and name the clip in each Change."""
        events.add(self, tick_s=0.0)  # tick() itself waits for frames (at most WAIT_S)
        events.watchers.append(self.watch)
        events.clip_for = self.clip_for
        return self

    # -- the inference thread's side: a little arithmetic and one append ------------------------
    def clip_for(self, change: Change) -> str | None:
        """The clip `change` is recorded in (a new one, or the open one it extends); None if not wanted."""
        if self._closed or not self._wanted(change):
            return None
        t = self._time(change.prediction)
        current = self._expire(change.source, t)
        if current is not None and t + self.cfg.post_s - current.start <= MAX_CLIP_S:
            current.end = t + self.cfg.post_s
            return current.path
        name = clip_name(change.source, change.label, change.time)
        stem, n = name[:-4], 2
        while name in self._names:  # two clips of one source in the same millisecond
            name, n = f"{stem}_{n}.mp4", n + 1
        self._names.add(name)
        path = str(self.cfg.folder / name)
        self._open[change.source] = Open(path, t - self.cfg.pre_s, t + self.cfg.post_s)
        return path

    def watch(self, frame, prediction: Prediction, summary, change: Change | None) -> None:
        if self._closed:
            return
        t = self._time(prediction)
        current = self._expire(frame.source, t)
        clip = change.clip if change is not None else None
        if self.feed_max is None:
            self.feed_max = max(8, FEED_BYTES // max(frame.bgr.nbytes, 1))
        if clip is None and len(self.feed) >= self.feed_max:
            self.dropped += 1
            return
        fps = summary.classified / max(summary.seconds, 1e-9) if summary is not None else 0.0
        self.feed.append(Fed(frame.source, t, time.time(), frame.bgr, prediction, fps, change,
                             current.end if clip is not None and current is not None else None))
        if change is not None or len(self.feed) >= self.feed_max // 2:
            self._wake.set()  # else the action thread takes the feed within WAIT_S

    def _wanted(self, change: Change) -> bool:
        if self.cfg.record_on == "change":
            return change.previous is not None  # the first state of a run is where it starts, not a change
        return change.label == self.cfg.record_on

    def _time(self, p: Prediction) -> float:
        """The frame's time; the same answer for the same prediction (clip_for and watch both ask)."""
        last = self._clock.get(p.source)
        if last is not None and last[0] is p:
            return last[1]
        if self.cfg.video_fps:
            t = (p.frame or 0) / self.cfg.video_fps + self._offset.get(p.source, 0.0)
            if last is not None and t <= last[1]:  # --loop: the file started again; time goes on
                self._offset[p.source] = last[1] + 1.0 / self.frame_rate - (p.frame or 0) / self.cfg.video_fps
                t = last[1] + 1.0 / self.frame_rate
        else:
            t = self.clock()
        self._clock[p.source] = (p, t)
        return t

    def _expire(self, source: str, t: float) -> Open | None:
        current = self._open.get(source)
        if current is not None and t >= current.end - EPS:
            del self._open[source]
            return None
        return current

    # -- the action's thread -------------------------------------------------------------------
    def handle(self, item) -> None:
        """Changes come in frame order through the feed (watch), so the queued Change needs nothing."""

    def tick(self) -> None:
        self._wake.wait(WAIT_S)
        self._wake.clear()
        with self._lock:
            if not self._closed:
                self._drain()

    def close(self) -> None:
        """Take the frames still fed, then finish the open clips (shorter than --post: `complete: false`)."""
        self._closed = True
        with self._lock:
            try:
                self._drain()
            finally:
                for source in list(self.clips):
                    self._finish(source, complete=False)
        if self.dropped:
            self.report(f"--record: {self.dropped} frames were dropped (the clip writer fell behind)")

    def _drain(self) -> None:
        while self.feed:
            self._take(self.feed.popleft())

    def _take(self, fed: Fed) -> None:
        clip = self.clips.get(fed.source)
        if clip is not None and fed.t >= clip.end - EPS:
            self._finish(fed.source, complete=True)
        if fed.change is not None and fed.change.clip is not None:
            clip = self.clips.get(fed.source)
            if clip is not None and str(clip.writer.path) == fed.change.clip:
                clip.end = fed.end if fed.end is not None else clip.end
                clip.changes.append(fed.change)
            else:
                if clip is not None:  # the open clip reached MAX_CLIP_S
                    self._finish(fed.source, complete=True)
                self._start(fed)
        clip = self.clips.get(fed.source)
        if clip is not None:
            clip.add(draw(fed.bgr, fed.prediction, fed.fps), fed.wall, fed.prediction.frame)
        if self.cfg.pre_s > 0 and (clip is None or self._pre_roll_may_need(fed.t, clip)):
            self._keep(fed)

    def _pre_roll_may_need(self, t: float, clip: Recording) -> bool:
        """Whether a frame at `t`, inside the open `clip`, can fall in a later clip's pre-roll: a later clip
        starts at a change after this clip's end (which only grows), or at a change that rolls over MAX_CLIP_S."""
        pre, post = self.cfg.pre_s, self.cfg.post_s
        return t >= clip.end - pre - EPS or t >= clip.start + MAX_CLIP_S - post - pre - EPS

    def _keep(self, fed: Fed) -> None:
        import cv2

        ring = self.rings.get(fed.source)
        if ring is None:
            ring = self.rings[fed.source] = deque(maxlen=math.ceil(self.cfg.pre_s * (self.frame_rate or MAX_FPS)) + 1)
        ok, jpeg = cv2.imencode(".jpg", fed.bgr, [cv2.IMWRITE_JPEG_QUALITY, 90])
        if not ok:
            raise EdgeError("--record: cannot encode a frame as JPEG")
        ring.append(Kept(fed.t, fed.wall, jpeg, fed.prediction, fed.fps))
        while ring[0].t < fed.t - self.cfg.pre_s - EPS:
            ring.popleft()

    def _start(self, fed: Fed) -> None:
        import cv2

        pre = [k for k in self.rings.get(fed.source, ()) if k.t >= fed.t - self.cfg.pre_s - EPS]
        fps = self.frame_rate or measured_rate([k.t for k in pre] + [fed.t], fallback=fed.fps or 10.0)
        height, width = fed.bgr.shape[:2]
        clip = Recording(ClipWriter(Path(fed.change.clip), fps, (width, height)), fed.end or fed.t, [fed.change],
                         start=fed.t - self.cfg.pre_s)
        for kept in pre:
            clip.add(draw(cv2.imdecode(kept.jpeg, cv2.IMREAD_COLOR), kept.prediction, kept.fps), kept.wall,
                     kept.prediction.frame)
        self.clips[fed.source] = clip

    def _finish(self, source: str, complete: bool) -> None:
        clip = self.clips.pop(source)
        first = clip.changes[0]
        sidecar = {"label": first.label, "previous": first.previous, "source": source,
                   "score": round(first.prediction.top[0][1], 6),  # top-1 probability of the frame that completed the hold
                   "event_time": first.time, "start_time": iso(clip.walls[0]), "end_time": iso(clip.walls[-1]),
                   "first_frame": clip.indices[0], "last_frame": clip.indices[-1], "pre_s": self.cfg.pre_s,
                   "post_s": self.cfg.post_s, "record_on": self.cfg.record_on, "complete": complete,
                   "events": [change.to_dict() for change in clip.changes], "model": self.cfg.model()}
        path = clip.writer.finish(sidecar)
        deleted = enforce_cap(self.cfg.folder, self.cfg.max_mb * 1e6)
        self.report(f"clip {path} ({clip.writer.frames} frames)" + (
            f"; --record-max-mb {self.cfg.max_mb:g}: deleted {len(deleted)} oldest clip(s)" if deleted else ""))


def start_recording(opts, clf, events, report=lambda _m: None) -> ClipRecorder:
    """--record for `opts` (InferOptions): the folder and --record-on checked now, the recorder hooked into `events`."""
    import os

    from edge.runtime.sources import classify_spec, video_fps

    labels = (*clf.manifest.labels, "unknown")
    if opts.record_on != "change" and opts.record_on not in labels:
        raise EdgeError(f"--record-on {opts.record_on}: not a label of this model; choose from {', '.join(labels)}, "
                        "or change (any change of state)")
    folder = Path(opts.record)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise EdgeError(f"--record {folder}: cannot make this folder ({exc.strerror or exc}); choose another") from None
    if not os.access(folder, os.W_OK | os.X_OK):
        raise EdgeError(f"--record {folder}: this folder is not writable; choose another")
    cfg = ClipConfig(folder=folder.resolve(), record_on=opts.record_on, pre_s=opts.pre, post_s=opts.post,
                     max_mb=opts.record_max_mb, stride=opts.stride,
                     video_fps=video_fps(opts.source) if opts.source and classify_spec(opts.source) == "video" else None,
                     model=lambda: {"arch": clf.manifest.arch, "precision": clf.manifest.precision,  # after an
                                    "version": model_version(clf),  # --update-from swap: the new model
                                    "source_sha256": clf.manifest.source_sha256 or None, "artifact": str(clf.path)})
    return ClipRecorder(cfg, report).hook(events)
