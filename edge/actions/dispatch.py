"""One action on its own thread behind a bounded queue: the inference loop only appends, never waits.

A full queue drops its oldest item (the newest state is the one that matters) and counts it; the
counts are what /metrics shows as edge_action_dropped.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable
from typing import Protocol

QUEUE_SIZE = 32  # items an action may fall behind by before the oldest are dropped
_STOP = object()


class Action(Protocol):
    name: str  # short, for logs and the metrics label: "mqtt", "webhook"

    def handle(self, item) -> None:
        """Runs on the action's own thread; may block on the network."""

    def tick(self) -> None:
        """Runs on the same thread about every `tick_s` (periodic work: reconnect resyncs, refreshes)."""

    def close(self) -> None:
        """Called once, after the queue drained (or `wait_s` passed)."""


class Dispatch:
    def __init__(self, action: Action, *, queue_size: int = QUEUE_SIZE, tick_s: float = 1.0,
                 report: Callable[[str], None] = lambda _m: None,
                 on_drop: Callable[[str], None] | None = None):
        self.action, self.tick_s, self.report, self.on_drop = action, tick_s, report, on_drop
        self.queue: queue.Queue = queue.Queue(maxsize=queue_size)
        self.dropped = self.failed = 0
        self.thread = threading.Thread(target=self._loop, name=f"edge-action-{action.name}", daemon=True)
        self.thread.start()

    def put(self, item) -> None:
        """Never blocks: a full queue drops its oldest item to make room (bounded tries: other threads put too)."""
        for _ in range(8):
            try:
                self.queue.put_nowait(item)
                return
            except queue.Full:
                try:
                    self.queue.get_nowait()
                except queue.Empty:
                    continue
                self._dropped()
        self._dropped()  # still full after 8 tries: this item is the one dropped

    def _dropped(self) -> None:
        self.dropped += 1
        if self.on_drop is not None:
            self.on_drop(self.action.name)

    def _loop(self) -> None:
        tick = getattr(self.action, "tick", None)
        next_tick = time.monotonic()
        while True:
            try:
                # no tick(): wait for the next item (a timeout of 0 here would spin, taking the inference thread's GIL)
                item = self.queue.get(timeout=None if tick is None else max(0.0, next_tick - time.monotonic()))
            except queue.Empty:
                item = None
            if item is _STOP:
                return
            if item is not None:
                self._guarded(self.action.handle, item)
            if tick is not None and time.monotonic() >= next_tick:
                self._guarded(tick)
                next_tick = time.monotonic() + self.tick_s

    def _guarded(self, call, *args) -> None:
        """An action's failure is reported (the first few times) and counted; its thread carries on."""
        try:
            call(*args)
        except Exception as exc:  # noqa: BLE001 - an action must never end the run
            self.failed += 1
            if self.failed <= 3:
                self.report(f"{self.action.name}: {type(exc).__name__}: {str(exc)[:120]}")

    def close(self, wait_s: float = 2.0) -> None:
        """Let queued items go out (for at most `wait_s`), then close the action."""
        deadline = time.monotonic() + wait_s
        while time.monotonic() < deadline:
            try:
                self.queue.put(_STOP, timeout=0.05)
                break
            except queue.Full:
                continue
        self.thread.join(timeout=max(0.0, deadline - time.monotonic()))
        self._guarded(self.action.close)


class Forward:
    """An action made of callables: e.g. the --on-change sender, which `handle`s a Change by queueing its JSON."""

    def __init__(self, name: str, handle: Callable, close: Callable = lambda: None):
        self.name, self.handle, self.close = name, handle, close
