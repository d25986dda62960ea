"""--on-change: debouncing, delivery to a local receiver, retries that never block the camera loop."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from edge.actions.events import Events
from edge.runtime.classifier import Prediction
from edge.serve.webhook import QUEUE_SIZE, WebhookSender


def prediction(label: str, prob: float = 0.9, unknown: bool = False) -> Prediction:
    return Prediction("camera:0", [(label, prob), ("other", 1 - prob)], 1, {}, unknown, 0.5)


def test_debouncer_fires_once_per_held_change():
    fired = []  # the webhook's bodies: the event core's Change.to_dict()
    events = Events(hold=3, min_confidence=0.6)

    def debounce(p: Prediction) -> None:
        change = events.observe(p.source, p)
        if change is not None:
            fired.append(change.to_dict())

    for label, prob in [("rose", .9)] * 3 + [("tulip", .9)] * 2 + [("rose", .9)] * 5 + [("tulip", .5)] * 5:
        debounce(prediction(label, prob))
    assert [e["label"] for e in fired] == ["rose"]  # the 2-frame tulip and the unsure tulips never held
    for _ in range(3):
        debounce(prediction("tulip", 0.95))
    for _ in range(3):
        debounce(prediction("rose", 0.2, unknown=True))  # 'unknown' is a label of its own
    assert [(e["label"], e["previous"]) for e in fired] == [("rose", None), ("tulip", "rose"), ("unknown", "tulip")]
    assert fired[1]["event"] == "label_changed" and fired[1]["prediction"]["label"] == "tulip"


def dead_url() -> str:
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}/hook"


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
        assert receiver.events == [{"event": "label_changed", "label": "rose"}] and sender.delivered == 1
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


def test_every_event_is_counted_delivered_failed_or_dropped():
    """A dead port: nothing is delivered, and each event is still counted, in the exit line and /metrics."""
    from edge.serve.metrics import Metrics

    metrics, lines = Metrics(), []
    sender = WebhookSender(dead_url(), metrics=metrics, report=lines.append, backoff_s=(0.05,))
    for i in range(10):
        sender.send({"n": i})
    counts = sender.close(wait_s=0.3)
    assert counts["fired"] == 10 and counts["delivered"] == 0 and counts["failed"] >= 1
    assert counts["failed"] + counts["dropped"] == 10, counts
    assert f"10 label changes, 0 delivered, {counts['failed']} failed, {counts['dropped']} dropped" in lines[-1]
    text = metrics.text()[0].decode()
    assert f'edge_webhook_events_total{{outcome="dropped"}} {counts["dropped"]}.0' in text
    assert f'edge_webhook_events_total{{outcome="failed"}} {counts["failed"]}.0' in text


def test_a_receiver_answering_500_counts_failures():
    receiver = Receiver(failures=10**6)
    lines = []
    sender = WebhookSender(receiver.url, report=lines.append, backoff_s=(0.01,))
    try:
        for i in range(3):
            sender.send({"n": i})
        assert wait_for(lambda: sender.failed == 3)
        assert sender.close()["delivered"] == 0 and receiver.events == []
        assert any("gave up" in line for line in lines) and "3 label changes, 0 delivered, 3 failed, 0 dropped" in lines[-1]
    finally:
        receiver.close()


def test_on_change_to_a_dead_url_says_what_was_lost(clf, tmp_path):
    """edge-infer VIDEO --on-change DEAD_URL: the exit lines count the label changes that never went out."""
    import re

    from typer.testing import CliRunner

    from edge.cli.infer import app
    from tests.runtime.test_infer_cli import _write_video

    video = _write_video(tmp_path / "clip.mp4", 12)
    result = CliRunner().invoke(app, [str(clf.path), str(video), "--on-change", dead_url(), "--hold", "1",
                                      "--min-confidence", "0"])
    assert result.exit_code == 0, result.output
    found = re.search(r"(\d+) label changes?, (\d+) delivered, (\d+) failed, (\d+) dropped", result.output)
    assert found, result.output
    fired, delivered, failed, dropped = map(int, found.groups())
    assert fired >= 1 and delivered == 0 and failed + dropped == fired


def test_metrics_show_webhook_outcomes_while_serving(clf):
    from tests.serve.conftest import frame_loop, running_service

    with running_service(clf, frame_loop(clf, 20, fps=100), on_change=dead_url(), hold=1,
                         min_confidence=0.0) as service:
        assert wait_for(lambda: service.hub.state == "done")
        import httpx

        text = httpx.get(service.url + "metrics").text
        for outcome in ("delivered", "failed", "dropped"):
            assert f'edge_webhook_events_total{{outcome="{outcome}"}}' in text
        pending = float(text.split("\nedge_webhook_pending ")[1].split()[0])
        assert pending >= 1  # the first change is still being retried (0.5 s, 1 s ... backoff)
