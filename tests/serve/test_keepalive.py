"""--serve under systemd with no frames flowing: the server's own answers are the watchdog pings."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from edge.runtime.sdnotify import Notifier, notifier
from edge.serve.keepalive import HealthProbe
from tests.conftest import BLOCK_TORCH
from tests.runtime.test_sdnotify import listener, systemd_env, wait_for  # noqa: F401 - fixtures
from tests.serve.conftest import frame_loop, running_service

ROOT = Path(__file__).resolve().parents[2]


def test_the_api_alone_is_ready_and_pings_while_it_answers(systemd_env, clf):  # noqa: F811
    with running_service(clf) as service:
        assert wait_for(lambda: len(systemd_env.with_key("WATCHDOG")) >= 3, 10), systemd_env.messages
        first = systemd_env.messages[0][1]
        assert first["READY"] == "1" and f"serving on port {service.port}" in first["STATUS"]
    stopped = time.monotonic()
    time.sleep(0.5)  # the server is gone: so are the pings
    assert all(t <= stopped + 0.05 for t, _ in systemd_env.with_key("WATCHDOG"))


def test_a_server_that_does_not_answer_is_no_ping(listener):  # noqa: F811
    path, got = listener
    with socket.socket() as mute:  # listens, never answers
        mute.bind(("127.0.0.1", 0))
        mute.listen(1)
        probe = HealthProbe("127.0.0.1", mute.getsockname()[1], Notifier(path, watchdog_s=1.0), timeout_s=0.3)
        assert probe.check() is False
    time.sleep(0.2)
    assert got.messages == []


def test_a_live_source_pings_by_its_frames_and_the_server_after_it_ended(systemd_env, clf):  # noqa: F811
    with running_service(clf, frame_loop(clf, 30, fps=30)) as service:
        probe = HealthProbe(service.host, service.port, notifier())
        assert wait_for(lambda: service.hub.state == "running", 10)
        assert probe.check() is False  # frames flow: only they ping
        assert wait_for(lambda: service.hub.state == "done", 10)
        assert probe.check() is True  # the clip ended, the server still answers: its answers ping


def test_healthz_says_when_the_camera_was_lost(make_client):
    from edge.runtime.reopen import SourceHealth

    client, parts = make_client(has_source=True)
    health = parts.hub.source_health = SourceHealth(name="camera 0")
    health.running()
    assert client.get("/healthz").json()["source"] != "lost"
    health.lost("camera 0: no frame for 5 s")
    answer = client.get("/healthz")
    body = answer.json()
    assert answer.status_code == 503 and not body["ready"] and body["source"] == "lost"
    assert body["lost"]["lost_since"] and body["lost"]["error"] == "camera 0: no frame for 5 s"
    health.running()
    assert "lost" not in client.get("/healthz").json()


def healthz(port: int) -> dict | None:
    import httpx

    try:
        return httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).json()
    except (httpx.HTTPError, ValueError):
        return None


@pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="needs the ffmpeg command (Debian: apt install ffmpeg)")
def test_edge_infer_serving_a_stream_that_drops_and_returns(listener, tiny_export):  # noqa: F811
    """The real command on a network stream (ffmpeg; an HTTP stream stands in for RTSP, which ffmpeg cannot
    serve), under a real NOTIFY_SOCKET: lost on /healthz and no pings during the gap, then frames again."""
    from tests.runtime.test_reopen import free_port, opencv_reads_streams, stop, stream_server

    if not opencv_reads_streams():
        pytest.skip("this OpenCV is built without FFmpeg, so it cannot read network streams")
    path, got = listener
    camera_port, serve_port = free_port(), free_port()
    servers = [stream_server(camera_port)]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(BLOCK_TORCH), str(ROOT)]), NOTIFY_SOCKET=path,
               WATCHDOG_USEC="1000000")
    env.pop("WATCHDOG_PID", None)
    code = "import sys; from edge.cli.infer import main; main(); assert 'torch' not in sys.modules"
    time.sleep(0.5)
    infer = subprocess.Popen([sys.executable, "-c", code, str(tiny_export / "model.onnx"),
                              f"http://127.0.0.1:{camera_port}/x.ts", "--serve", f"127.0.0.1:{serve_port}"],
                             env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        assert wait_for(lambda: (healthz(serve_port) or {}).get("source") == "running", 60)
        assert got.messages[0][1]["READY"] == "1"
        assert wait_for(lambda: got.with_key("WATCHDOG"), 5)
        stop(servers[-1])  # the camera drops
        assert wait_for(lambda: (healthz(serve_port) or {}).get("source") == "lost", 20)
        lost_at, gap = time.monotonic(), healthz(serve_port)
        assert gap["ready"] is False and gap["lost"]["lost_since"] and gap["lost"]["losses"] == 1
        time.sleep(1.5)
        assert not [t for t, _ in got.with_key("WATCHDOG") if t > lost_at + 0.1]  # silent while lost
        frames = gap["frames"]
        servers.append(stream_server(camera_port))  # ... and comes back
        assert wait_for(lambda: (healthz(serve_port) or {}).get("frames", 0) > frames + 5, 30), healthz(serve_port)
        assert healthz(serve_port)["source"] == "running"
        assert wait_for(lambda: [t for t, _ in got.with_key("WATCHDOG") if t > lost_at + 1.5], 5)  # pings again
    finally:
        infer.send_signal(signal.SIGTERM)
        try:
            _, err = infer.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            infer.kill()
            _, err = infer.communicate(timeout=10)
        for server in servers:
            stop(server)
    log = err.decode()
    assert "source lost" in log and "frames back" in log, log[-2000:]
