"""What the live source publishes for the page: the newest frame, recent predictions, the frame rate.

The camera loop only swaps references here (no copy, no encode, no I/O): a JPEG is encoded on its
own thread, at most `stream_fps` times a second and only while someone watches, and viewers poll for
the newest one, so a slow viewer skips frames and never slows the loop.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque

from edge.runtime.classifier import Prediction

EVENTS_KEPT = 512  # predictions an SSE client may fall behind by before it skips ahead
MAX_STREAM_WIDTH = 640  # MJPEG frames are scaled down to this width (phones, Pi Wi-Fi)


class LiveHub:
    def __init__(self, metrics=None, stream_fps: float = 15.0, has_source: bool = False):
        self.metrics, self.stream_period = metrics, 1.0 / max(stream_fps, 0.1)
        self.has_source = has_source
        self.state = "starting" if has_source else "none"  # starting | running | done | failed
        self.lock = threading.Lock()
        self.latest: tuple | None = None  # (bgr, prediction) of the newest frame
        self.frame_seq = 0
        self.jpeg: tuple[int, bytes] = (0, b"")  # (encode count, JPEG bytes): a re-encode is news to viewers too
        self.events: deque[tuple[int, str]] = deque(maxlen=EVENTS_KEPT)  # (seq, JSON line)
        self.event_seq = 0
        self.times: deque[float] = deque(maxlen=60)
        self.last_frame_at: float | None = None
        self.frames = self.dropped = 0
        self.summary: dict | None = None
        self.source_health = None  # edge.runtime.reopen.SourceHealth of a camera/stream/picam, set by Service
        self.viewers = self.subscribers = 0  # open MJPEG / SSE connections (event loop thread only)
        self.closed = False
        self._new_frame = threading.Event()
        self._last_index: int | None = None
        self._encoder = threading.Thread(target=self._encode_loop, name="edge-mjpeg", daemon=True)
        self._encoder.start()

    # -- the camera loop's side ------------------------------------------------------------------
    def hook(self, user_sink=None):
        """The on_frame callback for pipeline.run_frames; chains the user's --save/--show sink."""

        def on_frame(frame, prediction: Prediction, summary) -> None:
            if self.closed:
                raise SourceStopped
            self.publish(frame, prediction)
            if user_sink is not None:
                user_sink(frame, prediction, summary)

        return on_frame

    def publish(self, frame, prediction: Prediction) -> None:
        now = time.monotonic()
        dropped = 0
        if frame.source.startswith("camera:") and self._last_index is not None:
            dropped = max(0, frame.index - self._last_index - 1)  # grabbed by the camera, never classified
        self._last_index = frame.index
        line = json.dumps(prediction.to_dict()) if self.subscribers else None
        with self.lock:
            self.times.append(now)
            self.state, self.last_frame_at = "running", now
            self.frames, self.dropped = self.frames + 1, self.dropped + dropped
            self.frame_seq += 1
            self.latest = (frame.bgr, prediction)
            if line is not None:
                self.event_seq += 1
                self.events.append((self.event_seq, line))
        if self.viewers:
            self._new_frame.set()
        if self.metrics:
            self.metrics.observe_frame(prediction.latency_ms.get("inference", 0.0), prediction.unknown, dropped)

    def finish(self, state: str, summary: dict | None = None) -> None:
        with self.lock:
            if summary is None and self.state == "running":  # stopped early: keep the rate it had
                summary = {"fps": self._fps_locked()}
            self.state, self.summary = state, summary
        self._new_frame.set()  # the last frame again, with the final fps on it

    def latest_line(self) -> str | None:
        """The newest prediction as a --json line: what a page that connects now shows first."""
        with self.lock:
            return None if self.latest is None else json.dumps(self.latest[1].to_dict())

    # -- the server's side -----------------------------------------------------------------------
    def _fps_locked(self) -> float:
        """Frames a second over the last 60 frames while the source runs; once it ended, the run's own rate
        (its summary: frames over the time spent on them). Overlay, page, /healthz and exit line agree."""
        if self.state != "running" and self.summary is not None:
            return float(self.summary.get("fps", 0.0))
        if len(self.times) < 2 or self.times[-1] <= self.times[0]:
            return 0.0
        return (len(self.times) - 1) / (self.times[-1] - self.times[0])

    def status(self) -> dict:
        health = self.source_health
        lost = health is not None and health.state == "lost"
        with self.lock:
            age = None if self.last_frame_at is None else round(time.monotonic() - self.last_frame_at, 3)
            return {"source": "lost" if lost else self.state, **({"lost": health.to_dict()} if lost else {}),
                    "frames": self.frames, "dropped_frames": self.dropped,
                    "fps": round(self._fps_locked(), 1),  # the figure the overlay draws
                    "last_frame_age_s": age, "summary": self.summary,
                    "viewers": self.viewers, "subscribers": self.subscribers}

    def events_after(self, seq: int) -> list[tuple[int, str]]:
        with self.lock:
            if not self.events or self.events[-1][0] <= seq:
                return []
            return [item for item in self.events if item[0] > seq]

    def _encode_loop(self) -> None:
        while not self.closed:
            if not self._new_frame.wait(timeout=0.5):
                continue
            self._new_frame.clear()
            started = time.monotonic()
            with self.lock:
                latest, fps = self.latest, self._fps_locked()
            if latest is not None:
                self.jpeg = (self.jpeg[0] + 1, encode_jpeg(*latest, round(fps, 1)))
            time.sleep(max(0.0, self.stream_period - (time.monotonic() - started)))

    def watch(self) -> None:
        """A viewer arrived: encode the newest frame now (a finished source published its last one unwatched)."""
        self._new_frame.set()

    def close(self) -> None:
        self.closed = True
        self._new_frame.set()
        self._encoder.join(timeout=2)


class SourceStopped(Exception):
    """Raised inside the camera loop when the server shuts down."""


def encode_jpeg(bgr, prediction: Prediction, fps: float) -> bytes:
    import cv2

    from edge.runtime.annotate import draw

    height, width = bgr.shape[:2]
    if width > MAX_STREAM_WIDTH:
        bgr = cv2.resize(bgr, (MAX_STREAM_WIDTH, int(height * MAX_STREAM_WIDTH / width)), interpolation=cv2.INTER_AREA)
    ok, buf = cv2.imencode(".jpg", draw(bgr, prediction, fps), [cv2.IMWRITE_JPEG_QUALITY, 80])
    return buf.tobytes() if ok else b""
