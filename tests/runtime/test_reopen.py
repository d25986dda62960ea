"""Lost live sources come back: reopened with back-off, frames resume, the gap is reported; a file still ends."""

from __future__ import annotations

import shutil
import socket
import subprocess
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from edge.errors import EdgeError
from edge.runtime.reopen import Backoff, SourceHealth, reconnecting_frames, reopening
from edge.runtime.sources import Frame


def frame(i: int) -> Frame:
    return Frame("camera:fake", i, np.full((4, 4, 3), i % 256, dtype=np.uint8), 0.1)


class FlakyDevice:
    """Each open follows a script: an int n delivers n frames then fails, 'gone' cannot open."""

    def __init__(self, script: list, health: SourceHealth | None = None):
        self.script, self.opens, self.closed = list(script), 0, 0
        self.health, self.seen_during_gap = health, []

    def open(self):
        step = self.script.pop(0)
        self.opens += 1
        if self.health is not None and self.health.state == "lost":
            self.seen_during_gap.append(self.health.to_dict())  # what /healthz would say now
        if step == "gone":
            raise EdgeError("camera 0: cannot open it; cameras found: none")

        def frames():
            for i in range(step):
                yield frame(i)
            raise EdgeError("camera 0: stopped delivering frames")

        return frames(), self.close

    def close(self):
        self.closed += 1


def test_a_lost_camera_is_reopened_with_back_off_and_frames_resume():
    health, waits, lines = SourceHealth(name="camera 0"), [], []
    device = FlakyDevice([3, "gone", "gone", 0, 4, 100], health)
    got = []
    for f in reopening(device.open, health=health, wait=lambda s: waits.append(s) or False, report=lines.append):
        got.append(f.index)
        if len(got) == 12:
            break
    # 3 frames, lost; two failed opens, one open without a frame, then 4 frames, lost again, then more
    assert got == list(range(12))  # numbering continues across reopenings
    assert waits == [0.5, 1.0, 2.0, 4.0, 0.5]  # doubling while it stays lost; from the start after frames
    assert health.state == "running" and health.losses == 2 and health.lost_since is None
    gap = device.seen_during_gap[0]
    assert gap["state"] == "lost" and gap["lost_since"] and gap["losses"] == 1 and "stopped delivering" in gap["error"]
    assert device.seen_during_gap[2]["reopen_attempts"] == 2 and "cannot open" in device.seen_during_gap[2]["error"]
    assert any("source lost" in line for line in lines) and any("frames back" in line for line in lines)
    assert device.closed >= 3  # every session closed before the next opens


def test_back_off_is_capped():
    backoff = Backoff()
    assert [backoff.delay(i) for i in range(8)] == [0.5, 1, 2, 4, 8, 16, 30, 30]
    assert backoff.delay(10_000) == 30


def test_a_source_that_never_worked_is_an_error_not_a_retry_loop():
    with pytest.raises(EdgeError, match="cannot open"):
        next(reopening(FlakyDevice(["gone"]).open, health=SourceHealth(), wait=lambda s: False))
    device = FlakyDevice([0])  # opens, then fails before its first frame
    with pytest.raises(EdgeError, match="stopped delivering"):
        next(reopening(device.open, health=SourceHealth(), wait=lambda s: False))


def test_the_gap_ends_when_wait_says_stop():
    device = FlakyDevice([2, "gone", "gone"])
    got = list(reopening(device.open, health=SourceHealth(), wait=lambda s: device.opens >= 2, report=lambda _: None))
    assert [f.index for f in got] == [0, 1] and device.opens == 2


def test_health_listeners_hear_loss_and_return():
    health, heard = SourceHealth(name="picam"), []
    health.listeners.append(lambda h: heard.append((h.state, h.line())))
    device = FlakyDevice([1, "gone", 5])
    frames = reopening(device.open, health=health, wait=lambda s: False, report=lambda _: None)
    assert [f.index for _, f in zip(range(4), frames)] == [0, 1, 2, 3]
    states = [state for state, _ in heard]
    assert states[:2] == ["running", "lost"] and states[-1] == "running"
    assert any("picam: source lost since" in line for _, line in heard)
    assert health.to_dict()["losses"] == 1 and health.to_dict()["lost_s_total"] >= 0


def write_video(path: Path, frames: int = 12) -> Path:
    import cv2

    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 10.0, (96, 72))
    for i in range(frames):
        writer.write(np.full((72, 96, 3), (i * 20) % 256, dtype=np.uint8))
    writer.release()
    return path


def test_a_video_file_still_ends_normally(tmp_path):
    from edge.runtime.options import InferOptions
    from edge.runtime.source_run import live_frames

    video = write_video(tmp_path / "clip.mp4")
    health = SourceHealth()
    frames, close = live_frames(InferOptions(artifact=tmp_path, source=str(video)), "video", health)
    start = time.monotonic()
    assert len(list(frames)) == 12 and time.monotonic() - start < 10  # the end is the end: no reopening
    close()
    assert health.state == "starting" and health.losses == 0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def stream_server(port: int) -> subprocess.Popen:
    """ffmpeg serving a test pattern on http://127.0.0.1:PORT/x.ts to one client (what an IP camera does)."""
    return subprocess.Popen(["ffmpeg", "-hide_banner", "-loglevel", "error", "-re", "-f", "lavfi", "-i",
                             "testsrc=size=160x120:rate=15", "-t", "60", "-c:v", "mpeg4", "-f", "mpegts",
                             "-listen", "1", f"http://127.0.0.1:{port}/x.ts"],
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def stop(server: subprocess.Popen) -> None:
    server.kill()
    server.wait(timeout=10)


def opencv_reads_streams() -> bool:
    cv2 = pytest.importorskip("cv2")
    return any(line.split() == ["FFMPEG:", "YES"] for line in cv2.getBuildInformation().splitlines())


def wait_until(condition, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.05)
    return condition()


@pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="needs the ffmpeg command (Debian: apt install ffmpeg)")
def test_a_network_stream_that_drops_comes_back():
    """An HTTP stream stands in for RTSP: ffmpeg cannot serve RTSP to a reader (its RTSP muxer only pushes
    to a server), and OpenCV opens both kinds of URL through the same LatestFrameCamera and FFmpeg."""
    if not opencv_reads_streams():
        pytest.skip("this OpenCV is built without FFmpeg, so it cannot read network streams")
    port = free_port()
    url = f"http://127.0.0.1:{port}/x.ts"
    servers = [stream_server(port)]
    health, got, done = SourceHealth(name=f"camera {url}"), [], threading.Event()
    time.sleep(0.5)  # ffmpeg listening

    def consume():  # the camera loop: bounded by `done` whether frames flow or not
        frames, close = reconnecting_frames("camera", url, health, backoff=Backoff(0.25, 1.0), wait=done.wait)
        try:
            for f in frames:
                got.append(f.index)
                if done.is_set():
                    break
        finally:
            close()

    consumer = threading.Thread(target=consume, daemon=True)
    consumer.start()
    try:
        assert wait_until(lambda: len(got) >= 10, 20), "no frames from the stream"
        stop(servers[-1])  # the stream drops
        assert wait_until(lambda: health.state == "lost", 20), health.to_dict()
        lost = health.to_dict()
        assert lost["lost_since"] and lost["losses"] == 1
        before = len(got)
        time.sleep(1.0)  # a gap with reopen attempts against nothing
        assert len(got) == before and health.state == "lost"
        servers.append(stream_server(port))  # the camera is back
        assert wait_until(lambda: len(got) >= before + 5, 30), health.to_dict()
        assert health.state == "running" and health.losses == 1 and got == sorted(got)
    finally:
        done.set()
        consumer.join(timeout=15)
        for server in servers:
            stop(server)
    assert not consumer.is_alive()


def test_a_camera_named_by_id_is_a_camera():
    """/dev/v4l/by-id/... keeps naming the same USB camera after a replug; /dev/videoN may not."""
    from edge.runtime.sources import classify_spec

    assert classify_spec("/dev/v4l/by-id/usb-Logitech_C920-video-index0") == "camera"
