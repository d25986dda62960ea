"""`--on-change URL`: POST a JSON event when the live label changes (the debounced state of edge.actions,
Change.to_dict()), from a bounded queue on its own thread, retried with backoff; the camera loop never waits."""

from __future__ import annotations

import json
import queue
import threading
import time
import urllib.error
import urllib.request

QUEUE_SIZE = 64  # events waiting to be posted; when full the oldest is dropped
RETRIES = 5  # attempts per event
BACKOFF_S = (0.5, 1.0, 2.0, 4.0, 8.0)
TIMEOUT_S = 5.0


class WebhookSender:
    """Every event handed to `send` ends as exactly one of: delivered, failed (gave up after RETRIES
    attempts, or was mid-retry at exit), dropped (pushed out of the full queue, or still queued at exit).
    `close()` says the counts on one line; /metrics has them as edge_webhook_events_total{outcome}."""

    OUTCOMES = ("delivered", "failed", "dropped")

    def __init__(self, url: str, metrics=None, report=None,
                 backoff_s: tuple[float, ...] = BACKOFF_S):
        self.url, self.metrics, self.report = url, metrics, report or (lambda _m: None)
        self.backoff_s = backoff_s
        self.queue: queue.Queue[dict | None] = queue.Queue(maxsize=QUEUE_SIZE)
        self.fired = self.delivered = self.failed = self.dropped = 0
        self._lock = threading.Lock()  # the counts: the camera loop, this thread and close() write them
        self._closed = False  # after close() settled the counts, a late answer changes nothing
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self._loop, name="edge-webhook", daemon=True)
        self.thread.start()

    def send(self, event: dict) -> None:
        """Never blocks: a full queue drops its oldest event to make room."""
        with self._lock:
            if self._closed:
                return
            self.fired += 1
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
                self._count("delivered")
                return
            except (OSError, urllib.error.URLError, ValueError) as exc:
                if attempt == 0:
                    self.report(f"--on-change {self.url}: {type(exc).__name__} ({str(exc)[:80]}); retrying")
            if attempt + 1 < RETRIES and self._stop.wait(self.backoff_s[min(attempt, len(self.backoff_s) - 1)]):
                break  # closing: this event is counted as failed
        self._count("failed")
        if not self._stop.is_set():
            self.report(f"--on-change {self.url}: gave up on one event after {RETRIES} attempts")

    def _post(self, body: bytes) -> None:
        headers = {"Content-Type": "application/json", "User-Agent": "edge-infer"}
        request = urllib.request.Request(self.url, data=body, headers=headers, method="POST")
        with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response:  # noqa: S310 (scheme checked in options)
            if response.status >= 300:
                raise OSError(f"HTTP {response.status}")

    def _count(self, outcome: str, n: int = 1) -> None:
        with self._lock:
            if self._closed or n <= 0:
                return
            setattr(self, outcome, getattr(self, outcome) + n)
        if self.metrics:
            self.metrics.webhook.labels(outcome).inc(n)

    def counts(self) -> dict[str, int]:
        with self._lock:
            return {"fired": self.fired, **{o: getattr(self, o) for o in self.OUTCOMES}}

    def pending(self) -> int:
        """Events queued or being posted (the edge_webhook_pending gauge)."""
        with self._lock:
            return self.fired - self.delivered - self.failed - self.dropped

    def close(self, wait_s: float = 2.0) -> dict[str, int]:
        """Let queued and in-flight events go out (briefly), stop, count what never went out, say the counts."""
        deadline = time.monotonic() + wait_s
        while self.pending() > 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        self._stop.set()
        while True:  # what is still queued will not be posted
            try:
                if self.queue.get_nowait() is not None:
                    self._count("dropped")
            except queue.Empty:
                break
        try:
            self.queue.put_nowait(None)
        except queue.Full:
            pass
        self.thread.join(timeout=1)
        with self._lock:
            stuck = self.fired - self.delivered - self.failed - self.dropped  # still in a post after the join
            self.failed += stuck
            self._closed = True
        if self.metrics and stuck > 0:
            self.metrics.webhook.labels("failed").inc(stuck)
        counts = self.counts()
        self.report(f"--on-change {self.url}: {counts['fired']} label change{'' if counts['fired'] == 1 else 's'}, "
                    f"{counts['delivered']} delivered, {counts['failed']} failed, {counts['dropped']} dropped")
        return counts
