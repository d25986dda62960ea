"""systemd's sd_notify in a few lines of stdlib: READY=1, WATCHDOG=1 while frames flow, STATUS=.

systemd (Type=notify) passes NOTIFY_SOCKET, an AF_UNIX datagram socket ('@name' is an abstract one),
and with WatchdogSec= also WATCHDOG_USEC: a service that stays silent that long is killed and, with
Restart=on-failure, started again. Pings come from frames that were classified, never from a timer,
so a camera that stops delivering frames stops them. Without NOTIFY_SOCKET every call does nothing.
"""

from __future__ import annotations

import functools
import os
import socket
import threading
import time
from collections.abc import Callable, Mapping

from edge.runtime.updates.files import model_version

STATUS_EVERY_S = 10.0  # STATUS= refresh without a watchdog (systemctl status shows the last one)


def socket_address(value: str) -> str | bytes:
    """NOTIFY_SOCKET -> a sendto() address: '@name' is Linux's abstract namespace ('\\0name')."""
    return b"\0" + value[1:].encode() if value.startswith("@") else value


def watchdog_seconds(environ: Mapping[str, str]) -> float | None:
    """WatchdogSec= as seconds, or None (unset, unparsable, or meant for another process: WATCHDOG_PID)."""
    usec, pid = environ.get("WATCHDOG_USEC", ""), environ.get("WATCHDOG_PID", "")
    if not usec.isdigit() or int(usec) == 0 or (pid.isdigit() and int(pid) != os.getpid()):
        return None
    return int(usec) / 1e6


class Notifier:
    """One process's messages to systemd; `frame()` is cheap enough to call for every frame."""

    def __init__(self, address: str | None, watchdog_s: float | None = None, clock: Callable[[], float] = time.monotonic):
        self.address = socket_address(address) if address else None
        self.watchdog_s = watchdog_s if self.address else None
        # pings at half the watchdog period (what sd_watchdog_enabled(3) advises); STATUS rides along
        self.period = self.watchdog_s / 2 if self.watchdog_s else STATUS_EVERY_S
        self.clock, self.model = clock, ""
        self.is_ready = False
        self._lock = threading.Lock()
        self._last: float | None = None  # when the last ping/STATUS went out
        self._frames = 0  # frames since then, for the fps in STATUS
        self._sock: socket.socket | None = None
        if self.address is not None:
            self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)
            self._sock.setblocking(False)  # a full queue drops a ping instead of stalling the camera loop

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> Notifier:
        return cls(environ.get("NOTIFY_SOCKET") or None, watchdog_seconds(environ))

    @property
    def enabled(self) -> bool:
        return self.address is not None

    def send(self, *lines: str) -> bool:
        """One datagram of KEY=value lines; False (never an exception) when systemd is not listening."""
        if self._sock is None:
            return False
        try:
            self._sock.sendto("\n".join(lines).encode(), self.address)
            return True
        except OSError:
            return False

    def ready(self, status: str = "") -> None:
        """READY=1 (once): the model is loaded and the source delivers frames (or the server answers)."""
        with self._lock:
            if self.is_ready:
                return
            self.is_ready, self._last, self._frames = True, self.clock(), 0
        self.send("READY=1", f"STATUS={status or 'running'}")

    def alive(self, status: Callable[[float], str]) -> None:
        """Something that proves the service works happened: ping, at most once per period.
        `status(rate)`: the STATUS= text, given how many of these happened per second since the last."""
        with self._lock:
            now = self.clock()
            self._frames += 1
            if self._last is not None and now - self._last < self.period:
                return
            fps = self._frames / (now - self._last) if self._last is not None and now > self._last else 0.0
            self._last, self._frames = now, 0
        lines = [f"STATUS={status(fps)}"]
        if self.watchdog_s:
            lines.insert(0, "WATCHDOG=1")
        self.send(*lines)

    def frame(self) -> None:
        """A frame was classified: READY=1 on the first, then WATCHDOG=1 and STATUS= with the frame rate."""
        if self.address is None:
            return
        if not self.is_ready:
            self.ready(f"first frame classified; model {self.model}")
            return
        self.alive(lambda fps: f"{fps:.1f} frames/s; model {self.model}")

    def status(self, text: str) -> None:
        """A STATUS= line now (e.g. 'source lost since ...'), without a watchdog ping."""
        self.send(f"STATUS={text}")


@functools.cache
def notifier() -> Notifier:
    """The process's notifier (the NOTIFY_SOCKET it was started with belongs to the whole process)."""
    return Notifier.from_env()


def status_model(clf) -> str:
    """What STATUS= names the model by: the artifact's file name and its version (edge.runtime.updates.files)."""
    return f"{clf.path.name} {model_version(clf)}"


def watch_predictions(emit: Callable, clf, health=None) -> Callable:
    """Wrap edge-infer's per-prediction callback: each answer is a frame for the notifier; a lost or
    returned source (edge.runtime.reopen.SourceHealth) is a STATUS= line. Without systemd: `emit` itself."""
    notify = notifier()
    if not notify.enabled:
        return emit
    notify.model = status_model(clf)
    if health is not None:
        health.listeners.append(lambda h: notify.status(h.line()) if h.losses else None)  # lost, retrying, back

    def emit_and_notify(prediction) -> None:
        emit(prediction)
        notify.frame()

    return emit_and_notify
