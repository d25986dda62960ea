"""`--on-change URL`: POST a JSON event when the live label changes, debounced, from a bounded queue on
its own thread, retried with backoff; the camera loop only appends to the queue and never waits."""

from __future__ import annotations

import json
import queue
import threading
import time
import urllib.error
import urllib.request
from datetime import datetime, timezone

from edge.runtime.classifier import Prediction

QUEUE_SIZE = 64  # events waiting to be posted; when full the oldest is dropped
RETRIES = 5  # attempts per event
BACKOFF_S = (0.5, 1.0, 2.0, 4.0, 8.0)
TIMEOUT_S = 5.0


class Debouncer:
    """Fires when a new label holds for `hold` consecutive frames at or above `min_confidence`
    ('unknown' counts as a label of its own, decided by the model's threshold)."""

    def __init__(self, hold: int, min_confidence: float, fire):
        self.hold, self.min_confidence, self.fire = hold, min_confidence, fire
        self.current: str | None = None
        self.candidate: str | None = None
        self.count = 0

    def __call__(self, prediction: Prediction) -> None:
        label = prediction.label
        if not prediction.unknown and prediction.top[0][1] < self.min_confidence:
            self.candidate, self.count = None, 0  # an unsure frame breaks the run
            return
        if label != self.candidate:
            self.candidate, self.count = label, 0
        self.count += 1
        if self.count == self.hold and label != self.current:
            previous, self.current = self.current, label
            self.fire(change_event(prediction, previous, self.hold))


def change_event(prediction: Prediction, previous: str | None, hold: int) -> dict:
    return {"event": "label_changed", "label": prediction.label, "previous": previous,
            "time": datetime.now(timezone.utc).isoformat(timespec="milliseconds"), "held_frames": hold,
            "prediction": prediction.to_dict()}


class WebhookSender:
    def __init__(self, url: str, metrics=None, report=None,
                 backoff_s: tuple[float, ...] = BACKOFF_S):
        self.url, self.metrics, self.report = url, metrics, report or (lambda _m: None)
        self.backoff_s = backoff_s
        self.queue: queue.Queue[dict | None] = queue.Queue(maxsize=QUEUE_SIZE)
        self.sent = self.failed = self.dropped = 0
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self._loop, name="edge-webhook", daemon=True)
        self.thread.start()

    def send(self, event: dict) -> None:
        """Never blocks: a full queue drops its oldest event to make room."""
        while True:
            try:
                self.queue.put_nowait(event)
                return
            except queue.Full:
                try:
                    self.queue.get_nowait()
                    self._count("dropped")
                except queue.Empty:
                    pass

    def _loop(self) -> None:
        while not self._stop.is_set():
            event = self.queue.get()
            if event is None:
                return
            self._deliver(event)

    def _deliver(self, event: dict) -> None:
        body = json.dumps(event).encode()
        for attempt in range(RETRIES):
            try:
                self._post(body)
                self._count("sent")
                return
            except (OSError, urllib.error.URLError, ValueError) as exc:
                if attempt == 0:
                    self.report(f"--on-change {self.url}: {type(exc).__name__} ({str(exc)[:80]}); retrying")
                if self._stop.wait(self.backoff_s[min(attempt, len(self.backoff_s) - 1)]):
                    return
        self._count("failed")
        self.report(f"--on-change {self.url}: gave up on one event after {RETRIES} attempts")

    def _post(self, body: bytes) -> None:
        headers = {"Content-Type": "application/json", "User-Agent": "edge-infer"}
        request = urllib.request.Request(self.url, data=body, headers=headers, method="POST")
        with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response:  # noqa: S310 (scheme checked in options)
            if response.status >= 300:
                raise OSError(f"HTTP {response.status}")

    def _count(self, outcome: str) -> None:
        setattr(self, outcome, getattr(self, outcome) + 1)
        if self.metrics:
            self.metrics.webhook.labels(outcome).inc()

    def close(self, wait_s: float = 2.0) -> None:
        deadline = time.monotonic() + wait_s  # let queued events go out, briefly
        while not self.queue.empty() and time.monotonic() < deadline:
            time.sleep(0.05)
        self._stop.set()
        try:
            self.queue.put_nowait(None)
        except queue.Full:
            pass
        self.thread.join(timeout=1)
