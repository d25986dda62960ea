"""--on-change: debouncing, delivery to a local receiver, retries that never block the camera loop."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from edge.runtime.classifier import Prediction
from edge.serve.webhook import QUEUE_SIZE, Debouncer, WebhookSender


def prediction(label: str, prob: float = 0.9, unknown: bool = False) -> Prediction:
    return Prediction("camera:0", [(label, prob), ("other", 1 - prob)], 1, {}, unknown, 0.5)


def test_debouncer_fires_once_per_held_change():
    fired = []
    debounce = Debouncer(hold=3, min_confidence=0.6, fire=fired.append)
    for label, prob in [("rose", .9)] * 3 + [("tulip", .9)] * 2 + [("rose", .9)] * 5 + [("tulip", .5)] * 5:
        debounce(prediction(label, prob))
    assert [e["label"] for e in fired] == ["rose"]  # the 2-frame tulip and the unsure tulips never held
    for _ in range(3):
        debounce(prediction("tulip", 0.95))
    for _ in range(3):
        debounce(prediction("rose", 0.2, unknown=True))  # 'unknown' is a label of its own
    assert [(e["label"], e["previous"]) for e in fired] == [("rose", None), ("tulip", "rose"), ("unknown", "tulip")]
    assert fired[1]["event"] == "label_changed" and fired[1]["prediction"]["label"] == "tulip"


class Receiver:
    """A webhook receiver on 127.0.0.1 that fails its first `failures` posts with 500."""

    def __init__(self, failures: int = 0):
        self.events, self.failures = [], failures
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                if outer.failures > 0:
                    outer.failures -= 1
                    self.send_response(500)
                else:
                    outer.events.append(json.loads(body))
                    self.send_response(204)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def wait_for(check, seconds: float = 10.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.02)
    return False


def test_events_are_posted_and_failures_retried():
    receiver = Receiver(failures=2)
    lines = []
    sender = WebhookSender(receiver.url, report=lines.append, backoff_s=(0.05,))
    try:
        sender.send({"event": "label_changed", "label": "rose"})
        assert wait_for(lambda: receiver.events)
        assert receiver.events == [{"event": "label_changed", "label": "rose"}] and sender.sent == 1
        assert any("retrying" in line for line in lines)
    finally:
        sender.close()
        receiver.close()


def test_an_unreachable_receiver_never_blocks_the_sender():
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    sender = WebhookSender(f"http://127.0.0.1:{port}/hook", backoff_s=(0.2,))
    try:
        start = time.perf_counter()
        for i in range(QUEUE_SIZE * 3):
            sender.send({"n": i})
        assert time.perf_counter() - start < 0.5  # bounded queue: the oldest are dropped, nothing waits
        assert sender.queue.qsize() <= QUEUE_SIZE and sender.dropped >= QUEUE_SIZE
    finally:
        sender.close(wait_s=0)


def test_live_label_changes_reach_the_receiver(clf):
    from tests.serve.conftest import frame_loop, running_service

    receiver = Receiver()
    try:
        with running_service(clf, frame_loop(clf, 40, fps=100), on_change=receiver.url, hold=1,
                             min_confidence=0.0) as service:
            assert wait_for(lambda: service.hub.state == "done")
            assert wait_for(lambda: receiver.events)
        first = receiver.events[0]
        assert first["event"] == "label_changed" and first["previous"] is None
        assert first["prediction"]["source"] == "camera:fake"
    finally:
        receiver.close()
