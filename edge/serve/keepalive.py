"""systemd's watchdog for --serve while no frames flow: the API alone, or after a video file has ended.

Frames ping the watchdog themselves (edge.runtime.sdnotify, through edge-infer's per-prediction
callback). With no frames the proof of life is the server: a thread asks /healthz over loopback, as a
client would, and each answer is a ping. A server that stops answering stops the pings, and systemd
restarts it. While a live source runs (or is lost) the answers never ping: only frames do.
"""

from __future__ import annotations

import http.client
import json
import threading

from edge.runtime.sdnotify import Notifier, notifier

IDLE_STATES = ("none", "done")  # LiveHub states without frames: the server's own answers count
LOOPBACK = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}


class HealthProbe:
    def __init__(self, host: str, port: int, notify: Notifier, timeout_s: float = 5.0):
        self.host, self.port = LOOPBACK.get(host, host), port
        self.notify, self.timeout_s = notify, timeout_s
        self.every_s = max(0.05, notify.period / 2)  # twice per ping period: one late answer misses no ping
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self._run, name="edge-keepalive", daemon=True)

    def answer(self) -> dict | None:
        """/healthz's JSON, or None when the server does not answer in time."""
        connection = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout_s)
        try:
            connection.request("GET", "/healthz")
            response = connection.getresponse()
            return json.loads(response.read() or b"{}")
        except (OSError, ValueError, http.client.HTTPException):
            return None
        finally:
            connection.close()

    def check(self) -> bool:
        """Ask once; True when the answer was a ping (or READY)."""
        status = self.answer()
        if status is None or status.get("source") not in IDLE_STATES:
            return False
        where = f"serving on port {self.port}"
        if not self.notify.is_ready:
            self.notify.ready(f"{where}; model {self.notify.model}")
        else:
            self.notify.alive(lambda rate: f"{where} (no live frames); model {self.notify.model}")
        return True

    def _run(self) -> None:
        self.check()
        while not self._stop.wait(self.every_s):
            self.check()

    def stop(self) -> None:
        self._stop.set()
        self.thread.join(timeout=self.timeout_s + 1)


def start_probe(host: str, port: int, notify: Notifier | None = None) -> HealthProbe | None:
    """A running probe when systemd listens (NOTIFY_SOCKET); None otherwise."""
    notify = notify or notifier()
    if not notify.enabled:
        return None
    probe = HealthProbe(host, port, notify)
    probe.thread.start()
    return probe
