"""sd_notify against a real AF_UNIX datagram socket: READY once, WATCHDOG only while frames flow, STATUS."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from edge.runtime.reopen import SourceHealth
from edge.runtime.sdnotify import Notifier, notifier, watch_predictions, watchdog_seconds
from tests.conftest import BLOCK_TORCH

ROOT = Path(__file__).resolve().parents[2]


class Listener:
    """systemd's end: a bound datagram socket; a thread stamps each message as it arrives."""

    def __init__(self, address: str | bytes):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(address)
        self.sock.settimeout(0.1)
        self.messages: list[tuple[float, dict[str, str]]] = []
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self) -> None:
        while not self._stop.is_set():
            try:
                data = self.sock.recv(4096)
            except TimeoutError:
                continue
            except OSError:
                return
            fields = dict(line.split("=", 1) for line in data.decode().splitlines())
            self.messages.append((time.monotonic(), fields))

    def with_key(self, key: str) -> list[tuple[float, dict[str, str]]]:
        return [(t, m) for t, m in self.messages if key in m]

    def close(self) -> None:
        self._stop.set()
        self.thread.join(timeout=2)
        self.sock.close()


@pytest.fixture
def listener():
    folder = tempfile.mkdtemp(prefix="sdn", dir="/tmp")  # AF_UNIX paths stop at 107 bytes: tmp_path may be longer
    path = os.path.join(folder, "notify")
    made = Listener(path)
    yield path, made
    made.close()
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def systemd_env(monkeypatch, listener):
    """edge-infer as systemd starts it: NOTIFY_SOCKET, WatchdogSec=0.2 (pings every 0.1 s)."""
    path, made = listener
    monkeypatch.setenv("NOTIFY_SOCKET", path)
    monkeypatch.setenv("WATCHDOG_USEC", "200000")
    monkeypatch.delenv("WATCHDOG_PID", raising=False)
    notifier.cache_clear()
    yield made
    notifier.cache_clear()


def wait_for(condition, seconds: float = 5.0) -> bool:
    deadline = time.monotonic() + seconds
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.02)
    return condition()


def test_without_notify_socket_nothing_is_sent():
    quiet = Notifier.from_env({})
    assert not quiet.enabled and quiet.send("READY=1") is False
    quiet.frame()
    quiet.ready()  # no error, no socket
    assert quiet._sock is None


def test_watchdog_settings_from_the_environment():
    assert watchdog_seconds({"WATCHDOG_USEC": "30000000"}) == 30.0
    assert watchdog_seconds({"WATCHDOG_USEC": "30000000", "WATCHDOG_PID": str(os.getpid())}) == 30.0
    assert watchdog_seconds({"WATCHDOG_USEC": "30000000", "WATCHDOG_PID": "1"}) is None  # for another process
    assert watchdog_seconds({"WATCHDOG_USEC": "junk"}) is None and watchdog_seconds({}) is None


def test_ready_once_then_pings_at_half_the_watchdog_period(listener):
    path, got = listener
    now = [100.0]
    notify = Notifier(path, watchdog_s=2.0, clock=lambda: now[0])
    notify.model = "model.onnx abc123"
    for _ in range(33):  # 33 frames at 8 fps: 4 s (steps exact in binary, so the sums are too)
        notify.frame()
        now[0] += 0.125
    notify.frame()  # a second READY is never sent; 0.125 s after a ping: no ping
    assert wait_for(lambda: len(got.messages) >= 5)
    first = got.messages[0][1]
    assert first["READY"] == "1" and "model.onnx abc123" in first["STATUS"]
    pings = got.with_key("WATCHDOG")
    assert len(pings) == 4 and len(got.with_key("READY")) == 1  # every 1.0 s of the 4 s: half of WatchdogSec=2
    assert all(m["STATUS"] == "8.0 frames/s; model model.onnx abc123" for _, m in pings)


def test_an_abstract_socket_address():
    name = f"edge-test-{os.getpid()}-{time.monotonic_ns()}"
    got = Listener(b"\0" + name.encode())
    try:
        notify = Notifier.from_env({"NOTIFY_SOCKET": "@" + name})
        assert notify.enabled and notify.watchdog_s is None
        notify.ready("hello")
        assert wait_for(lambda: got.messages) and got.messages[0][1] == {"READY": "1", "STATUS": "hello"}
    finally:
        got.close()


def test_a_lost_source_is_a_status_line_without_a_ping(systemd_env, tiny_export):
    from edge.runtime import Classifier

    clf = Classifier(tiny_export / "model.onnx", spin_wait=False, threads=1)
    health = SourceHealth(name="camera 0")
    emit = watch_predictions(lambda p: None, clf, health)
    health.lost("camera 0: no frame for 5 s")
    assert wait_for(lambda: systemd_env.messages)
    message = systemd_env.messages[0][1]
    assert message["STATUS"].startswith("camera 0: source lost since ") and "WATCHDOG" not in message
    assert emit is not None


def write_video(path: Path, frames: int) -> Path:
    import cv2

    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 10.0, (96, 72))
    for i in range(frames):
        writer.write(np.full((72, 96, 3), (i * 7) % 256, dtype=np.uint8))
    writer.release()
    return path


def test_watchdog_flows_with_frames_and_stops_when_the_source_blocks(systemd_env, tiny_export, tmp_path, monkeypatch):
    """edge-infer's run: READY at the first frame, pings while a video plays, none once the camera blocks."""
    from edge.runtime import source_run
    from edge.runtime.infer import run_infer
    from edge.runtime.options import InferOptions
    from edge.runtime.sources import video_frames

    video = write_video(tmp_path / "clip.mp4", 40)
    release, last_frame = threading.Event(), [0.0]

    def frames():
        for frame in video_frames(str(video)):
            time.sleep(0.025)  # a camera at 40 fps: the clip plays for about a second
            last_frame[0] = time.monotonic()
            yield frame
        release.wait(10)  # then the camera delivers nothing, and raises nothing: it blocks

    monkeypatch.setattr(source_run, "live_frames", lambda *_: (frames(), lambda: None))  # the live loop's source
    opts = InferOptions(artifact=tiny_export, source=str(video))
    runner = threading.Thread(target=run_infer, args=(opts,), daemon=True,
                              kwargs={"artifact": tiny_export / "model.onnx", "threads": 1, "report": lambda _: None})
    runner.start()
    try:
        assert wait_for(lambda: last_frame[0] and time.monotonic() - last_frame[0] > 1.0, 30), "the clip never ended"
        messages = list(systemd_env.messages)
    finally:
        release.set()
        runner.join(timeout=10)
    assert messages[0][1]["READY"] == "1" and "model.onnx" in messages[0][1]["STATUS"]
    pings = [(t, m) for t, m in messages if "WATCHDOG" in m]
    assert 4 <= len(pings) <= 16, pings  # ~1 s of frames, a ping per 0.1 s at most
    assert all("frames/s" in m["STATUS"] for _, m in pings)
    assert all(t <= last_frame[0] + 0.05 for t, _ in pings)  # the blocked second: silence
    assert not runner.is_alive()


def test_edge_infer_tells_systemd_without_torch(listener, tiny_export, tmp_path):
    """The real command in a fresh interpreter (torch blocked), as systemd would start it."""
    path, got = listener
    video = write_video(tmp_path / "clip.mp4", 150)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(BLOCK_TORCH), str(ROOT)]), NOTIFY_SOCKET=path,
               WATCHDOG_USEC="20000")  # pings every 10 ms at most: several during 150 frames
    env.pop("WATCHDOG_PID", None)
    code = "import sys; from edge.cli.infer import main; main(); assert 'torch' not in sys.modules"
    done = subprocess.run([sys.executable, "-c", code, str(tiny_export / "model.onnx"), str(video)], env=env,
                          capture_output=True, timeout=120)
    assert done.returncode == 0, done.stderr.decode()[-2000:]
    assert wait_for(lambda: len(got.with_key("WATCHDOG")) >= 1)
    assert got.messages[0][1]["READY"] == "1" and len(got.with_key("READY")) == 1
