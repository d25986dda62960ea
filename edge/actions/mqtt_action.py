"""`--mqtt URL`: the live state as MQTT topics, and as Home Assistant entities through discovery.

Under `<prefix>/<name>/`: `availability` (online/offline, retained, the last will) and per source
`<sid>/state` (the label, retained), `<sid>/attributes` (JSON, retained), `<sid>/event` (one JSON per
change), `<sid>/snapshot` (JPEG of the frame that changed the state, retained), `<sid>/classify` (ON/OFF,
retained) with `<sid>/classify/set` to pause and resume classification.

All publishing happens on the action's own thread (edge.actions.dispatch) and only while connected:
after a reconnect, or when Home Assistant says `online` on homeassistant/status, discovery and the
current state are published again (the latest, never a backlog).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from edge.actions import ha_discovery
from edge.actions.events import Events, Live
from edge.actions.mqtt_client import make_client, start
from edge.actions.mqtt_url import MqttTarget, topic_level
from edge.actions.topics import HA_STATUS, OFF, OFFLINE, ON, ONLINE, Topics, source_id
from edge.actions.tracker import Change, now_iso

ATTRIBUTES_EVERY_S = 10.0  # the attributes (and the confidence sensor) follow the newest frame this often
SNAPSHOT_WIDTH = 1280  # snapshots wider than this are scaled down
QOS = 1


@dataclass(frozen=True, kw_only=True)
class MqttConfig:
    target: MqttTarget
    name: str  # --mqtt-name: the device's name in Home Assistant and the topic level under the prefix
    binary_labels: tuple[str, ...] = ()  # --mqtt-binary: a binary_sensor that is on while this label holds
    model: dict  # {"arch", "precision", "version"}: in the attributes and the device block
    sw_version: str  # edge-classifier's version
    model_now: Callable[[], dict] | None = None  # the attributes' model block as it is now (after an update)
    on_model_set: Callable[[str], object] | None = None  # <prefix>/<name>/model/set: look for a new version now

    @property
    def node(self) -> str:
        return topic_level(self.name, "edge").lower()


class MqttAction:
    name = "mqtt"

    def __init__(self, config: MqttConfig, events: Events, report=lambda _m: None):
        self.config, self.events, self.report = config, events, report
        self.topics = Topics(f"{config.target.prefix}/{config.node}")
        self.device = ha_discovery.Device(node=config.node, name=config.name, model=f"{config.model['arch']} "
                                          f"{config.model['precision']}", model_version=config.model["version"],
                                          sw_version=config.sw_version)
        self.sources: dict[str, str] = {}  # sid -> source, for the classify/set commands
        self.current: dict[str, Change] = {}  # sid -> the change that set the current state
        self.snapshots: dict[str, bytes] = {}  # sid -> its JPEG
        self.announced: set[str] = set()  # sids whose discovery went out on this connection
        self.refreshed: dict[str, tuple[float, object]] = {}  # sid -> (when, which prediction) attributes showed
        self.connected, self.resync, self.closing = threading.Event(), threading.Event(), False
        self._said: set[str] = set()  # connection messages already reported (each once)
        self.client = make_client(config.target, f"edge-{config.node}", self.topics.availability)
        self.client.on_connect, self.client.on_disconnect = self._on_connect, self._on_disconnect
        self.client.on_connect_fail, self.client.on_message = self._on_connect_fail, self._on_message
        start(self.client, config.target)

    # -- the action's thread (edge.actions.dispatch) -----------------------------------------------
    def handle(self, change: Change) -> None:
        sid = self._known(change.source)
        self.current[sid] = change
        if change.bgr is not None:
            self.snapshots[sid] = encode_jpeg(change.bgr)
        if not self.connected.is_set():
            return  # kept as the current state: published on reconnect, the latest only
        self._sync()
        if sid in self.announced:
            self._publish_state(sid)
        else:
            self._announce(sid)  # publishes this state too
        self._publish(self.topics.event(sid), json.dumps(change.to_dict()), retain=False)

    def tick(self) -> None:
        self._sync()
        for source, live in self.events.live().items():
            sid = self._known(source)
            if not self.connected.is_set():
                return
            if sid not in self.announced:
                self._announce(sid)
            elif live.prediction is not None and self._stale(sid, live):
                self._publish(self.topics.attributes(sid), json.dumps(self._attributes(sid, live)))

    def close(self) -> None:
        """Say offline (retained) before a clean exit; the last will says it when edge is killed."""
        self.closing = True
        if self.connected.is_set():
            info = self.client.publish(self.topics.availability, OFFLINE, qos=QOS, retain=True)
            try:
                info.wait_for_publish(timeout=2.0)
            except (ValueError, RuntimeError):
                pass
        self.client.disconnect()
        self.client.loop_stop()

    # -- publishing --------------------------------------------------------------------------------
    def _sync(self) -> None:
        """After a (re)connect or Home Assistant's `online`: availability, then (as each source is next
        announced) its discovery and current state again."""
        if self.resync.is_set() and self.connected.is_set():
            self.resync.clear()
            self.announced.clear()
            self._publish(self.topics.availability, ONLINE)

    def _announce(self, sid: str) -> None:
        """Discovery for one source, then everything retained it has now."""
        for topic, payload in ha_discovery.source_configs(self.topics, self.device, sid, self.config.binary_labels):
            self._publish(topic, json.dumps(payload))
        self.announced.add(sid)
        self._publish(self.topics.classify(sid), self._switch(sid))
        if sid in self.current:
            self._publish_state(sid)

    def _publish_state(self, sid: str) -> None:
        change = self.current[sid]
        self._publish(self.topics.state(sid), change.label)
        live = self.events.live().get(change.source)
        self._publish(self.topics.attributes(sid), json.dumps(self._attributes(sid, live, change)))
        if sid in self.snapshots:
            self._publish(self.topics.snapshot(sid), self.snapshots[sid])

    def _attributes(self, sid: str, live: Live | None, change: Change | None = None) -> dict:
        """What the label sensor carries as attributes; `confidence` is also the confidence sensor's value."""
        p = change.prediction if change is not None else live.prediction
        self.refreshed[sid] = (time.monotonic(), p)
        state = self.current.get(sid)
        # "state_label", not "state": Home Assistant drops an attribute called state (MQTT_ATTRIBUTES_BLOCKED)
        return {"state_label": state.label if state else None, "label": p.label, "confidence": round(p.top[0][1], 4),
                "unknown": p.unknown, "score": None if p.score is None else round(p.score, 4),
                "top": [{"label": label, "prob": round(prob, 4)} for label, prob in p.top],
                "fps": round(live.fps, 2) if live else 0.0, "frame": p.frame,
                "model": self.config.model_now() if self.config.model_now else self.config.model, "time": now_iso()}

    def _stale(self, sid: str, live: Live) -> bool:
        when, shown = self.refreshed.get(sid, (0.0, None))
        return shown is not live.prediction and time.monotonic() - when >= ATTRIBUTES_EVERY_S

    @property
    def model_set_topic(self) -> str:
        return f"{self.topics.base}/model/set"

    def publish(self, topic: str, payload) -> None:
        """Retained, from any thread, while connected (paho's publish is thread-safe)."""
        self._publish(topic, payload)

    def _publish(self, topic: str, payload, retain: bool = True) -> None:
        if self.connected.is_set():
            self.client.publish(topic, payload, qos=QOS, retain=retain)

    def _switch(self, sid: str) -> str:
        live = self.events.live().get(self.sources.get(sid, ""))
        return OFF if live is not None and live.paused else ON

    def _known(self, source: str) -> str:
        sid = source_id(source)
        self.sources.setdefault(sid, source)
        return sid

    # -- paho's network thread ---------------------------------------------------------------------
    def _on_connect(self, client, userdata, flags, reason_code, properties) -> None:
        if reason_code.is_failure:
            self._say(f"mqtt {self.config.target.where}: the broker refused the connection ({reason_code}); "
                      "check the user and password (EDGE_MQTT_PASSWORD); retrying")
            return
        client.subscribe([(HA_STATUS, QOS), (self.topics.commands, QOS)]
                         + ([(self.model_set_topic, QOS)] if self.config.on_model_set else []))
        again = "lost" in self._said
        self._said.clear()  # each kind of trouble is reported again the next time it happens
        self.connected.set()
        self.resync.set()
        self.report(f"mqtt: {'reconnected' if again else 'connected'} to {self.config.target.where}, "
                    f"publishing under {self.topics.base}/")

    def _on_disconnect(self, client, userdata, flags, reason_code, properties) -> None:
        self.connected.clear()
        if not self.closing:
            self._say(f"mqtt {self.config.target.where}: connection lost; classifying on, "
                      "reconnecting with backoff", key="lost")

    def _on_connect_fail(self, client, userdata) -> None:
        trust = " (or its TLS certificate is not signed by --mqtt-ca / a system CA)" if self.config.target.tls else ""
        self._say(f"mqtt {self.config.target.where}: broker not reachable{trust}; classifying on, retrying with backoff")

    def _on_message(self, client, userdata, message) -> None:
        payload = message.payload.decode("utf-8", "replace").strip()
        if message.topic == self.model_set_topic and self.config.on_model_set is not None:
            self.config.on_model_set(payload)  # queued for the update thread (edge.actions.model_command)
            return
        if message.topic == HA_STATUS:
            if payload == ONLINE:
                self.resync.set()  # Home Assistant restarted: it needs discovery and the states again
            return
        sid = self.topics.command_source(message.topic)
        if sid is None or sid not in self.sources or payload.upper() not in (ON, OFF):
            return
        self.events.set_paused(self.sources[sid], payload.upper() == OFF)
        self._publish(self.topics.classify(sid), self._switch(sid))  # the echo: what the loop does now

    def _say(self, message: str, key: str | None = None) -> None:
        if (key or message) not in self._said:
            self._said.add(key or message)
            self.report(message)


def encode_jpeg(bgr) -> bytes:
    import cv2

    height, width = bgr.shape[:2]
    if width > SNAPSHOT_WIDTH:
        bgr = cv2.resize(bgr, (SNAPSHOT_WIDTH, int(height * SNAPSHOT_WIDTH / width)), interpolation=cv2.INTER_AREA)
    ok, buf = cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, 85])
    return buf.tobytes() if ok else b""
