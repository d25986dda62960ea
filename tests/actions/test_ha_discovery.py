"""Home Assistant discovery payloads: the keys each entity needs, one device block, availability wired."""

from __future__ import annotations

import json

import pytest

from edge.actions.ha_discovery import Device, source_configs
from edge.actions.topics import Topics

COMMON = {"name", "unique_id", "availability_topic", "payload_available", "payload_not_available", "device"}
DEVICE = Device(node="kitchen_pi", name="Kitchen Pi", model="mobilenet_v3_small int8", model_version="0123456789ab",
                sw_version="0.1.0")


def configs(binary=("rose", "unknown")) -> dict[str, dict]:
    return {topic: json.loads(json.dumps(payload))  # what goes on the wire is plain JSON
            for topic, payload in source_configs(Topics("edge/kitchen_pi"), DEVICE, "camera_0", binary)}


def test_every_entity_of_a_source_with_its_keys():
    found = configs()
    by_component = {topic.split("/")[1]: [] for topic in found}
    for topic, payload in found.items():
        prefix, component, node, object_id, config = topic.split("/")
        assert (prefix, node, config) == ("homeassistant", "kitchen_pi", "config") and object_id.startswith("camera_0_")
        assert COMMON <= set(payload) and payload["availability_topic"] == "edge/kitchen_pi/availability"
        assert (payload["payload_available"], payload["payload_not_available"]) == ("online", "offline")
        by_component[component].append(payload)
    assert {k: len(v) for k, v in by_component.items()} == {"sensor": 2, "image": 1, "switch": 1, "binary_sensor": 2}
    label, confidence = sorted(by_component["sensor"], key=lambda p: p["unique_id"], reverse=True)
    assert label["state_topic"] == "edge/kitchen_pi/camera_0/state"
    assert label["json_attributes_topic"] == "edge/kitchen_pi/camera_0/attributes"
    assert confidence["unit_of_measurement"] == "%" and "value_json.confidence" in confidence["value_template"]
    image = by_component["image"][0]
    assert image["image_topic"] == "edge/kitchen_pi/camera_0/snapshot" and image["content_type"] == "image/jpeg"
    switch = by_component["switch"][0]
    assert (switch["command_topic"], switch["state_topic"]) == ("edge/kitchen_pi/camera_0/classify/set",
                                                                "edge/kitchen_pi/camera_0/classify")
    assert (switch["payload_on"], switch["payload_off"]) == ("ON", "OFF")
    for binary, name in zip(by_component["binary_sensor"], ("rose", "unknown")):
        assert (binary["payload_on"], binary["payload_off"]) == ("ON", "OFF")
        assert binary["state_topic"] == "edge/kitchen_pi/camera_0/state"
        assert name in binary["value_template"]


def test_one_device_block_and_unique_ids():
    found = configs()
    devices = {json.dumps(p["device"], sort_keys=True) for p in found.values()}
    assert len(devices) == 1
    device = found[next(iter(found))]["device"]
    assert device["identifiers"] == ["edge_kitchen_pi"] and device["name"] == "Kitchen Pi"
    assert "0123456789ab" in device["model"] and device["sw_version"] == "0.1.0"
    assert len({p["unique_id"] for p in found.values()}) == len(found)


def test_a_label_named_like_an_entity_does_not_collide():
    found = configs(binary=("label", "confidence"))
    assert len({p["unique_id"] for p in found.values()}) == len(found) == 6


@pytest.mark.parametrize("pair", [("Cat", "cat"), ("猫", "犬"), ("no person", "no_person")])
def test_two_binary_labels_that_would_share_one_entity_are_refused(pair):
    """Home Assistant keeps one entity per unique_id: the second of such a pair would silently replace the first."""
    from types import SimpleNamespace

    from edge.actions.start import mqtt_config
    from edge.errors import EdgeError
    from edge.runtime.options import InferOptions

    clf = SimpleNamespace(manifest=SimpleNamespace(labels=list(pair), arch="a", precision="int8", source_sha256=""))
    opts = InferOptions(artifact="m.onnx", mqtt="mqtt://127.0.0.1", mqtt_binary=list(pair))
    with pytest.raises(EdgeError, match=f"--mqtt-binary {pair[0]} and {pair[1]}: both become"):
        mqtt_config(opts, clf)


def test_templates_render_as_home_assistant_would():
    jinja2 = pytest.importorskip("jinja2")  # Home Assistant's templates are Jinja2
    found = configs(binary=('it\'s "odd"',))
    binary = next(p for t, p in found.items() if "/binary_sensor/" in t)
    template = jinja2.Environment().from_string(binary["value_template"])
    assert template.render(value='it\'s "odd"') == "ON" and template.render(value="rose") == "OFF"
    confidence = next(p for p in found.values() if p.get("unit_of_measurement") == "%")
    assert jinja2.Environment().from_string(confidence["value_template"]).render(value_json={"confidence": 0.9534}) == "95.3"
