"""Lost live sources come back: a camera unplugged and plugged in again, a `picam` error, a stream that
drops. The source is reopened with back-off (0.5 s doubling to 30 s) for as long as it takes, and
frames resume when the device returns; the run never ends on its own.

A source that never delivered a frame is not "lost" but wrong (a camera index that does not exist):
its error ends the run, so a typo is one clear line instead of a retry loop. A video file is never
wrapped here: its end is the end of the run.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace

from edge.errors import short_reason
from edge.runtime import sources
from edge.runtime.camera_size import camera_opener
from edge.runtime.capture_size import CaptureRequest
from edge.runtime.imx500_camera import SensorNetwork
from edge.runtime.report import report_stderr
from edge.runtime.sources import Frame

RECONNECTING_KINDS = ("camera", "picamera")  # classify_spec kinds that are live devices or streams
Opener = Callable[[], tuple[Iterator[Frame], Callable[[], None]]]  # () -> (frames, close); raises if it cannot


@dataclass(frozen=True)
class Backoff:
    first_s: float = 0.5  # wait before the first reopen attempt
    max_s: float = 30.0  # the wait doubles up to this

    def delay(self, attempt: int) -> float:
        """Seconds to wait before reopen attempt `attempt` (0-based)."""
        return min(self.max_s, self.first_s * 2 ** min(attempt, 32))


@dataclass
class SourceHealth:
    """What a live source is doing, for /healthz, the summary and systemd's STATUS= line.
    Written by the source loop, read by others (plain attribute reads, each consistent on its own)."""

    name: str = ""  # as the user named it: "camera 0", "picam", "camera rtsp://..."
    state: str = "starting"  # starting | running | lost
    lost_since: float | None = None  # wall-clock time the frames stopped (what a person reads)
    losses: int = 0  # times the source was lost during the run
    lost_s: float = 0.0  # seconds lost in earlier gaps (the current one is lost_for_s)
    attempts: int = 0  # reopen attempts in the current gap
    error: str = ""  # why it was lost / why the last attempt failed
    listeners: list[Callable[[SourceHealth], None]] = field(default_factory=list, repr=False, compare=False)
    _lost_at: float | None = field(default=None, repr=False, init=False)  # monotonic twin of lost_since

    def running(self) -> None:
        if self._lost_at is not None:
            self.lost_s += time.monotonic() - self._lost_at
        self.state, self.lost_since, self._lost_at, self.attempts = "running", None, None, 0
        self._tell()

    def lost(self, error: str) -> None:
        if self.state != "lost":
            self.state, self.losses = "lost", self.losses + 1
            self.lost_since, self._lost_at = time.time(), time.monotonic()
        self.error = error
        self._tell()

    def attempt_failed(self, error: str) -> None:
        self.attempts, self.error = self.attempts + 1, error
        self._tell()

    @property
    def lost_for_s(self) -> float:
        lost_at = self._lost_at
        return 0.0 if lost_at is None else time.monotonic() - lost_at

    def _tell(self) -> None:
        for listener in self.listeners:
            listener(self)

    def to_dict(self) -> dict:
        lost_since = self.lost_since
        return {"state": self.state, "lost_since": None if lost_since is None else iso_time(lost_since),
                "lost_for_s": round(self.lost_for_s, 1), "losses": self.losses,
                "lost_s_total": round(self.lost_s + self.lost_for_s, 1), "reopen_attempts": self.attempts,
                "error": self.error or None}

    def line(self) -> str:
        if self.state == "lost" and self.lost_since is not None:
            return (f"{self.name}: source lost since {iso_time(self.lost_since)} ({self.lost_for_s:.0f} s, "
                    f"{self.attempts} reopen attempt{'' if self.attempts == 1 else 's'}): {self.error}")
        return f"{self.name}: {self.state}" + (f" (lost {self.losses}x, {self.lost_s:.0f} s in all)" if self.losses else "")


def iso_time(wall: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(wall))


def reopening(open_source: Opener, *, health: SourceHealth, backoff: Backoff = Backoff(),
              wait: Callable[[float], bool] | None = None, report: Callable[[str], None] = report_stderr
              ) -> Iterator[Frame]:
    """The frames of `open_source()`, reopened after any error or end once a frame has been seen.
    Frame numbers keep counting across reopenings. `wait(seconds)` sleeps between attempts and returns
    True to give up (a stop event's `wait`); by default it only sleeps."""
    wait = wait or _sleep
    frames, close = open_source()  # an error here: the source never worked; the caller's message stands
    seen, failures, offset, last = False, 0, 0, -1  # failures: attempts in a row without a frame
    try:
        while True:
            try:
                for frame in frames:
                    if failures or not seen:
                        if failures:
                            report(f"{health.name}: frames back after {health.lost_for_s:.1f} s")
                        health.running()
                    seen, failures, last = True, 0, offset + frame.index
                    yield replace(frame, index=last)
                error = "delivered no more frames"
            except Exception as exc:  # noqa: BLE001 - OpenCV, libcamera and EdgeError alike: the device is gone
                if not seen:
                    raise
                error = reason(exc, health.name)
            close()
            close = _nothing
            if not seen:
                return  # ended before any frame: nothing to come back to
            reopened = _reopen(open_source, health, error, failures, backoff, wait, report)
            if reopened is None:
                return
            frames, close, failures = reopened
            offset = last + 1
    finally:
        close()


def _reopen(open_source: Opener, health: SourceHealth, error: str, failures: int, backoff: Backoff,
            wait: Callable[[float], bool], report: Callable[[str], None]):
    """Wait, open again; repeat with a longer wait until it opens. -> (frames, close, failures), or
    None when `wait` says stop."""
    if failures == 0:
        health.lost(error)
        report(f"{health.name}: source lost ({error}); reopening in {backoff.delay(0):g} s, "
               f"then every {backoff.max_s:g} s at most, until it is back")
    else:  # it opened, then gave no frame: keep backing off
        health.attempt_failed(error)
        report(f"{health.name}: still lost (attempt {health.attempts}: {error}); "
               f"next try in {backoff.delay(failures):g} s")
    for attempt in itertools.count(failures):
        if wait(backoff.delay(attempt)):
            return None
        try:
            frames, close = open_source()
            return frames, close, attempt + 1
        except Exception as exc:  # noqa: BLE001 - still gone
            health.attempt_failed(reason(exc, health.name))
            report(f"{health.name}: still lost (attempt {health.attempts}: {health.error}); "
                   f"next try in {backoff.delay(attempt + 1):g} s")
    return None  # unreachable: itertools.count never ends


def reason(exc: BaseException, name: str) -> str:
    """The error as one clause, without the source's name it often starts with (the line names it already)."""
    text = short_reason(exc)
    return text[len(name) + 2:] if name and text.startswith(f"{name}: ") else text


def _sleep(seconds: float) -> bool:
    time.sleep(seconds)
    return False


def _nothing() -> None:
    pass


def reconnecting_frames(kind: str, spec: str, health: SourceHealth, limit: int | None = None,
                        backoff: Backoff = Backoff(), wait: Callable[[float], bool] | None = None,
                        sensor: SensorNetwork | None = None, capture: CaptureRequest | None = None
                        ) -> tuple[Iterator[Frame], Callable[[], None]]:
    """(frames, close) for a camera, stream URL or `picam` that comes back after a loss; `limit`: frames in all.
    `sensor`: picam is an AI Camera running this network on its sensor (frames carry its outputs).
    `capture`: the model's size, asked of the camera when no view is kept (edge.runtime.capture_size)."""
    if kind == "picamera":
        def open_source():
            frames = sources.picamera_frames(None, capture, report_stderr) if sensor is None else sensor.frames()
            return frames, frames.close
    else:
        opener = camera_opener(spec, capture)

        def open_source():
            camera = sources.LatestFrameCamera(spec, opener=opener)
            return camera.frames(None), camera.close
    health.name = health.name or source_name(kind, spec)
    frames = reopening(open_source, health=health, backoff=backoff, wait=wait)
    return (itertools.islice(frames, limit) if limit else frames), frames.close


def live_health(kind: str | None, spec: str | None) -> SourceHealth | None:
    """A SourceHealth for a source that reconnects (camera, stream, picam); None for the others."""
    if kind not in RECONNECTING_KINDS:
        return None
    return SourceHealth(name=source_name(kind, spec))


def source_name(kind: str, spec: str | None) -> str:
    return "picam" if kind == "picamera" else f"camera {spec}"
