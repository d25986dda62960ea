"""Home Assistant MQTT discovery: pure functions from (topics, device, source) to retained config messages.

Each entity is one JSON object published retained on `homeassistant/<component>/<node>/<object>/config`
(https://www.home-assistant.io/integrations/mqtt/#mqtt-discovery); all share one device block and the
availability topic, so the whole device shows unavailable when edge stops or its last will fires.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from edge.actions.mqtt_url import topic_level
from edge.actions.topics import OFF, OFFLINE, ON, ONLINE, Topics

DISCOVERY_PREFIX = "homeassistant"


@dataclass(frozen=True, kw_only=True)
class Device:
    node: str  # --mqtt-name as a topic level: the node id, and the device's identifier
    name: str  # --mqtt-name as given: what Home Assistant shows
    model: str  # the classifier: arch and precision
    model_version: str  # which trained model: the first 12 hex digits of the manifest's source_sha256
    sw_version: str  # edge-classifier's version

    def block(self) -> dict:
        return {"identifiers": [f"edge_{self.node}"], "name": self.name, "manufacturer": "edge-classifier",
                "model": f"{self.model} ({self.model_version})", "sw_version": self.sw_version}


def on_while(label: str) -> str:
    """The binary_sensor's template over the state topic: ON while the state is `label`."""
    return "{{ '" + ON + "' if value == " + json.dumps(label) + " else '" + OFF + "' }}"


def config_topic(component: str, node: str, object_id: str) -> str:
    return f"{DISCOVERY_PREFIX}/{component}/{node}/{object_id}/config"


def binary_id(label: str) -> str:
    """The object id part of a --mqtt-binary label's entity: `Cat` and `cat`, or two all non-ASCII labels,
    give the same one (edge.actions.start refuses such a pair: Home Assistant would keep only one entity)."""
    return topic_level(label, "label").lower()


def _entity(topics: Topics, device: Device, object_id: str, name: str, **keys) -> dict:
    return {"name": name, "unique_id": f"edge_{device.node}_{object_id}", "availability_topic": topics.availability,
            "payload_available": ONLINE, "payload_not_available": OFFLINE, "device": device.block(), **keys}


def source_configs(topics: Topics, device: Device, sid: str, binary_labels: tuple[str, ...] = ()) -> list[tuple[str, dict]]:
    """(config topic, payload) for every entity of one source."""
    entities = [
        ("sensor", f"{sid}_label", _entity(topics, device, f"{sid}_label", f"{sid} label", icon="mdi:eye",
                                           state_topic=topics.state(sid), json_attributes_topic=topics.attributes(sid))),
        ("sensor", f"{sid}_confidence", _entity(
            topics, device, f"{sid}_confidence", f"{sid} confidence", state_topic=topics.attributes(sid),
            value_template="{{ (value_json.confidence * 100) | round(1) }}", unit_of_measurement="%",
            state_class="measurement", icon="mdi:percent")),
        ("image", f"{sid}_snapshot", _entity(topics, device, f"{sid}_snapshot", f"{sid} snapshot",
                                             image_topic=topics.snapshot(sid), content_type="image/jpeg")),
        ("switch", f"{sid}_classify", _entity(topics, device, f"{sid}_classify", f"{sid} classify",
                                              command_topic=topics.classify_set(sid), state_topic=topics.classify(sid),
                                              payload_on=ON, payload_off=OFF, icon="mdi:play-pause")),
    ]
    for label in binary_labels:
        object_id = f"{sid}_is_{binary_id(label)}"
        entities.append(("binary_sensor", object_id, _entity(
            topics, device, object_id, f"{sid} {label}", state_topic=topics.state(sid), payload_on=ON,
            payload_off=OFF, value_template=on_while(label))))
    return [(config_topic(component, device.node, object_id), payload) for component, object_id, payload in entities]
