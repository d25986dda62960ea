"""A real server on 127.0.0.1: MJPEG, SSE, load shedding, slow clients, shutdown."""

from __future__ import annotations

import json
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx

from tests.serve.conftest import frame_loop, running_service
from tests.serve.test_api import SCHEMA, photo_bytes


def read_sse(url: str, want: int, timeout_s: float = 10.0) -> tuple[list[dict], list[dict]]:
    """(prediction events, stats events) from /v1/events until `want` predictions arrived."""
    predictions, stats, kind = [], [], "message"
    with httpx.stream("GET", url, timeout=timeout_s) as response:
        assert response.status_code == 200 and response.headers["content-type"].startswith("text/event-stream")
        deadline = time.monotonic() + timeout_s
        for line in response.iter_lines():
            if line.startswith("event:"):
                kind = line.split(":", 1)[1].strip()
            elif line.startswith("data:"):
                (stats if kind == "stats" else predictions).append(json.loads(line[5:]))
                kind = "message"
            if (len(predictions) >= want and stats) or time.monotonic() > deadline:
                break
    return predictions, stats


def read_jpegs(url: str, want: int, timeout_s: float = 10.0) -> list[bytes]:
    frames, buf = [], b""
    with httpx.stream("GET", url, timeout=timeout_s) as response:
        assert response.headers["content-type"].startswith("multipart/x-mixed-replace")
        deadline = time.monotonic() + timeout_s
        for chunk in response.iter_bytes():
            buf += chunk
            while b"\r\n\r\n" in buf:
                head, rest = buf.split(b"\r\n\r\n", 1)
                length = int(head.split(b"Content-Length: ")[1].split(b"\r\n")[0])
                if len(rest) < length:
                    break
                frames.append(rest[:length])
                buf = rest[length + 2:]
            if len(frames) >= want or time.monotonic() > deadline:
                break
    return frames


def test_live_page_streams_and_events(clf):
    with running_service(clf, frame_loop(clf, 400, fps=40)) as service:
        base = service.url
        jpegs = read_jpegs(base + "stream.mjpg", 3)
        assert len(jpegs) == 3 and all(j.startswith(b"\xff\xd8") for j in jpegs) and len(set(jpegs)) == 3
        predictions, stats = read_sse(base + "v1/events", 5)
        assert len(predictions) >= 5
        for p in predictions:
            assert SCHEMA <= set(p) <= SCHEMA | {"score"} and p["source"] == "camera:fake"
        assert [p["frame"] for p in predictions] == sorted(p["frame"] for p in predictions)
        assert stats[0]["source"] == "running" and stats[0]["fps"] > 5
        health = httpx.get(base + "healthz").json()
        assert health["ready"] and health["frames"] > 0 and health["last_frame_age_s"] < 2
        assert httpx.post(base + "v1/classify", content=photo_bytes()).status_code == 200  # API beside the loop
        metrics = httpx.get(base + "metrics").text
        assert "edge_frames_total" in metrics and 'edge_predictions_total{source="live"}' in metrics


def test_a_viewer_that_never_reads_does_not_slow_the_loop(clf):
    loop = frame_loop(clf, 60, fps=60)
    with running_service(clf, loop, request_timeout_s=1.0) as service:
        stalled = socket.create_connection((service.host, service.port))
        stalled.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        stalled.sendall(b"GET /stream.mjpg HTTP/1.1\r\nHost: x\r\n\r\n")  # and never reads
        start = time.monotonic()
        while service.hub.state != "done" and time.monotonic() - start < 10:
            time.sleep(0.05)
        assert service.hub.state == "done" and service.hub.frames == 60
        assert time.monotonic() - start < 4  # 60 frames at 60 fps: about 1 s, not held up by the viewer
        stalled.close()


def test_excess_requests_get_503_fast_and_the_server_recovers(clf, monkeypatch):
    real = clf.answers
    monkeypatch.setattr(clf, "answers", lambda batch, k: (time.sleep(0.2), real(batch, k))[1])
    data = photo_bytes()
    with running_service(clf, queue=2, batch=1) as service:
        url = service.url + "v1/classify"

        client = httpx.Client(timeout=10, limits=httpx.Limits(max_connections=12))

        def post(_):
            start = time.monotonic()
            response = client.post(url, content=data)
            return response.status_code, time.monotonic() - start, response.headers.get("retry-after")

        with ThreadPoolExecutor(12) as pool:
            results = list(pool.map(post, range(12)))
        client.close()
        codes = [c for c, _, _ in results]
        assert set(codes) <= {200, 503} and codes.count(200) >= 2 and codes.count(503) >= 6, results
        fastest_200 = min(seconds for code, seconds, _ in results if code == 200)  # one 0.2 s inference at least
        assert all(seconds < fastest_200 and retry == "1" for code, seconds, retry in results if code == 503), results
        monkeypatch.setattr(clf, "answers", real)
        assert httpx.post(url, content=data).status_code == 200
        assert httpx.get(service.url + "healthz").json()["queued"] == 0


def test_slow_body_times_out_with_408(clf):
    with running_service(clf, request_timeout_s=0.5) as service:
        sock = socket.create_connection((service.host, service.port), timeout=5)
        sock.sendall(b"POST /v1/classify HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n\r\n" + b"\xff\xd8" * 10)
        start = time.monotonic()
        reply = b""
        while chunk := sock.recv(4096):  # the server closes the connection after its answer
            reply += chunk
        assert reply.startswith(b"HTTP/1.1 408") and b'"status":408' in reply
        assert time.monotonic() - start < 3
        sock.close()
        assert httpx.post(service.url + "v1/classify", content=photo_bytes()).status_code == 200


def test_source_failure_stops_the_server_with_its_error(clf):
    from edge.errors import EdgeError
    from edge.serve.options import ServeOptions
    from edge.serve.run import Service

    def broken(hook):
        raise EdgeError("camera 9: cannot open it")

    service = Service(clf, ServeOptions(port=0), broken, report=lambda _m: None)
    errors = []
    thread = threading.Thread(target=lambda: _capture(service.run, errors))
    thread.start()
    thread.join(timeout=15)
    assert not thread.is_alive() and len(errors) == 1 and "camera 9" in str(errors[0])


def _capture(func, errors):
    try:
        func()
    except Exception as exc:  # noqa: BLE001
        errors.append(exc)


def test_headers_trickled_a_byte_at_a_time_are_cut_off(clf):
    with running_service(clf, request_timeout_s=0.6) as service:
        sock = socket.create_connection((service.host, service.port), timeout=5)
        start = time.monotonic()
        closed = False
        for byte in b"GET /v1/info HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 40:
            try:
                sock.sendall(bytes([byte]))
            except OSError:
                closed = True
                break
            time.sleep(0.05)
            if time.monotonic() - start > 4:
                break
        if not closed:
            sock.settimeout(3)
            closed = sock.recv(100) == b""
        assert closed and time.monotonic() - start < 4
        sock.close()
        assert httpx.get(service.url + "v1/info").status_code == 200


def test_a_finished_video_keeps_its_last_frame_prediction_and_one_fps(clf, tmp_path, monkeypatch):
    """After a video ends: the page's stream still shows its last frame, a new viewer gets its last prediction,
    the state says done, and the overlay, /healthz and the run's summary give one fps: the file's own rate."""
    from edge.runtime.timing import Summary
    from edge.serve import live
    from tests.serve.conftest import video_loop, write_video

    drawn = []
    real_encode = live.encode_jpeg
    monkeypatch.setattr(live, "encode_jpeg", lambda bgr, p, fps: (drawn.append(fps), real_encode(bgr, p, fps))[1])
    summary = Summary()
    video = write_video(tmp_path / "clip.mp4", frames=10, fps=20.0)
    with running_service(clf, video_loop(clf, video, summary)) as service:
        deadline = time.monotonic() + 20
        while service.hub.state != "done" and time.monotonic() < deadline:
            time.sleep(0.05)
        assert service.hub.state == "done" and summary.classified == 10
        assert summary.seconds >= 0.45 and summary.to_dict()["fps"] <= 23  # --serve paces a file: 20 fps
        last = read_jpegs(service.url + "stream.mjpg", 2)  # the last frame, then again: a browser shows a part
        assert len(last) == 2 and last[0] == last[1] and last[0].startswith(b"\xff\xd8")  # once the next begins
        predictions, stats = read_sse(service.url + "v1/events", 1)
        assert predictions[0]["frame"] == 9 and stats[0]["source"] == "done"
        fps = round(summary.to_dict()["fps"], 1)
        assert stats[0]["fps"] == fps == httpx.get(service.url + "healthz").json()["fps"]
        assert drawn and drawn[-1] == fps  # the overlay of the last frame says the same
