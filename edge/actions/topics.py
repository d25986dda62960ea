"""The MQTT topic layout of one edge device: everything under `<prefix>/<name>/`, one level per source."""

from __future__ import annotations

import re
from dataclasses import dataclass

from edge.actions.mqtt_url import topic_level

HA_STATUS = "homeassistant/status"  # Home Assistant's birth/last will: 'online' after it (re)starts
ONLINE, OFFLINE = "online", "offline"
ON, OFF = "ON", "OFF"


def source_id(source: str) -> str:
    """camera:0 -> camera_0, picam -> picam, /videos/door.mp4 -> door, camera:rtsp://cam/live -> live."""
    if "/" in source or "\\" in source:
        source = re.split(r"[/\\]", source.rstrip("/\\"))[-1].rsplit(".", 1)[0]
    return topic_level(source, "source").lower()


@dataclass(frozen=True)
class Topics:
    base: str  # <prefix>/<name>

    @property
    def availability(self) -> str:
        return f"{self.base}/availability"

    def state(self, sid: str) -> str:
        return f"{self.base}/{sid}/state"

    def attributes(self, sid: str) -> str:
        return f"{self.base}/{sid}/attributes"

    def event(self, sid: str) -> str:
        return f"{self.base}/{sid}/event"

    def snapshot(self, sid: str) -> str:
        return f"{self.base}/{sid}/snapshot"

    def classify(self, sid: str) -> str:
        return f"{self.base}/{sid}/classify"

    def classify_set(self, sid: str) -> str:
        return f"{self.base}/{sid}/classify/set"

    @property
    def commands(self) -> str:
        """The subscription that receives every source's classify/set."""
        return f"{self.base}/+/classify/set"

    def command_source(self, topic: str) -> str | None:
        """`<base>/<sid>/classify/set` -> sid, else None."""
        head, sep, sid = topic.removesuffix("/classify/set").rpartition("/")
        return sid if sep and head == self.base and topic.endswith("/classify/set") else None
