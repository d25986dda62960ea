"""Camera capture with a fake OpenCV capture: newest frame only, reopen, clear failure."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from edge.errors import EdgeError
from edge.runtime.sources import LatestFrameCamera, classify_spec


class FakeCapture:
    """Delivers numbered frames (pixel value = frame number) at ~200 fps, then fails after `fail_after`."""

    opened = 0

    def __init__(self, fail_after: int | None = None, opens: bool = True):
        FakeCapture.opened += 1
        self.count, self.fail_after, self.opens = 0, fail_after, opens

    def isOpened(self) -> bool:
        return self.opens

    def read(self):
        time.sleep(0.005)
        if self.fail_after is not None and self.count >= self.fail_after:
            return False, None
        self.count += 1
        return True, np.full((8, 8, 3), self.count % 256, dtype=np.uint8)

    def release(self) -> None:
        pass


def test_slow_consumer_gets_the_newest_frame_not_a_backlog():
    camera = LatestFrameCamera("0", opener=lambda spec: FakeCapture())
    try:
        frames = camera.frames(limit=3)
        first = next(frames)
        time.sleep(0.2)  # a slow model: ~40 frames arrive meanwhile
        second = next(frames)
        assert second.index - first.index > 10  # skipped ahead instead of queueing
        assert int(second.bgr[0, 0, 0]) == (second.index + 1) % 256
    finally:
        camera.close()


def test_dropout_reopens_then_fails_clearly():
    FakeCapture.opened = 0
    # the first capture gives 3 frames then drops out; every reopened one gives nothing
    camera = LatestFrameCamera("0", opener=lambda spec: FakeCapture(fail_after=3 if FakeCapture.opened == 0 else 0),
                               reopen_attempts=2)
    try:
        with pytest.raises(EdgeError, match="stopped delivering frames after 2 reopen attempts"):
            for _ in camera.frames(limit=100):
                pass
        assert FakeCapture.opened == 3  # the first open and 2 reopens
    finally:
        camera.close()


def test_unopenable_camera_is_an_edge_error():
    with pytest.raises(EdgeError, match="cannot open it"):
        LatestFrameCamera("7", opener=lambda spec: FakeCapture(opens=False))


@pytest.mark.parametrize("spec,kind", [("0", "camera"), ("/dev/video2", "camera"), ("rtsp://cam/stream", "camera"),
                                       ("-", "stdin"), ("picam", "picamera"), ("photos/", "images"),
                                       ("*.jpg", "images")])
def test_source_kinds(spec, kind):
    assert classify_spec(spec) == kind


def test_camera_thread_stops_on_close():
    before = threading.active_count()
    camera = LatestFrameCamera("0", opener=lambda spec: FakeCapture())
    next(camera.frames(limit=1))
    camera.close()
    time.sleep(0.05)
    assert threading.active_count() <= before
