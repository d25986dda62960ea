"""Run edge's Home Assistant discovery payloads through Home Assistant's own MQTT discovery code.

Two steps, two Pythons (Home Assistant needs Python >= 3.13 and its own dependencies; edge's venv is neither):

    .venv/bin/python scripts/ha_discovery_check.py write /tmp/payloads.json
    HA_VENV/bin/python scripts/ha_discovery_check.py check /tmp/payloads.json

`check` parses each topic with HA's discovery topic matcher, expands abbreviations as HA does, validates the
payload with the platform's DISCOVERY_SCHEMA (and once more with extra keys forbidden, to list what HA would
drop silently), renders the value templates with HA's Jinja, and checks that no attribute key of edge's
`SOURCE/attributes` JSON is one HA blocks. Exits 1 on any failure. Not a test: Home Assistant is not a
dependency of edge, and CI does not install it.
"""

from __future__ import annotations

import asyncio
import json
import sys
import tempfile
from pathlib import Path

LABELS = ("person", "No Person", "it's \"x\"", "café", "猫")


def write(path: Path) -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from edge.actions import ha_discovery
    from edge.actions.mqtt_url import topic_level
    from edge.actions.topics import Topics, source_id

    node = topic_level("Front Door", "edge").lower()
    device = ha_discovery.Device(node=node, name="Front Door", model="efficientnet_lite0 int8",
                                 model_version="0123456789ab", sw_version="0.3.0")
    configs = ha_discovery.source_configs(Topics(f"edge/{node}"), device, source_id("camera:0"), ("person", "No Person"))
    path.write_text(json.dumps({"configs": configs, "attribute_keys": attribute_keys()}, indent=1))
    print(f"{len(configs)} discovery payloads -> {path}")


def attribute_keys() -> list[str]:
    """The keys of the `SOURCE/attributes` JSON, from the code that publishes it (with a stand-in for its state)."""
    from types import SimpleNamespace

    from edge.actions.mqtt_action import MqttAction
    from edge.runtime.classifier import Prediction

    prediction = Prediction("camera:0", [("person", 0.9), ("No Person", 0.1)], 7)
    stand_in = SimpleNamespace(refreshed={}, current={}, config=SimpleNamespace(model_now=None, model={}))
    change = SimpleNamespace(prediction=prediction)
    return sorted(MqttAction._attributes(stand_in, "camera_0", None, change))


async def check(path: Path) -> int:
    from homeassistant.components.mqtt import binary_sensor, discovery, image, sensor, switch
    from homeassistant.components.mqtt.const import SUPPORTED_COMPONENTS
    from homeassistant.components.mqtt.entity import MQTT_ATTRIBUTES_BLOCKED
    from homeassistant.const import __version__
    from homeassistant.core import HomeAssistant

    hass = HomeAssistant(tempfile.mkdtemp())
    schemas = {"sensor": (sensor.DISCOVERY_SCHEMA, sensor._PLATFORM_SCHEMA_BASE),
               "binary_sensor": (binary_sensor.DISCOVERY_SCHEMA, binary_sensor.PLATFORM_SCHEMA_MODERN),
               "switch": (switch.DISCOVERY_SCHEMA, switch.PLATFORM_SCHEMA_MODERN),
               "image": (image.DISCOVERY_SCHEMA, image.PLATFORM_SCHEMA_BASE)}
    data, failures = json.loads(path.read_text()), 0
    print(f"Home Assistant {__version__}")
    for topic, payload in data["configs"]:
        match = discovery.TOPIC_MATCHER.match(topic.removeprefix("homeassistant/"))
        component = match.group("component") if match else None
        if component not in SUPPORTED_COMPONENTS or component not in schemas:
            print(f"FAIL {topic}: not a discovery topic HA reads")
            failures += 1
            continue
        config = discovery.MQTTDiscoveryPayload(payload)
        discovery._replace_all_abbreviations(config)
        config["platform"] = "mqtt"
        schema, base = schemas[component]
        try:
            parsed = schema(dict(config))
        except Exception as exc:  # voluptuous' Invalid: HA refuses the entity
            print(f"FAIL {topic}: {exc}")
            failures += 1
            continue
        dropped = sorted(set(config) - set(base.extend({}, extra=0).schema) - {"platform"})
        print(f"OK   {topic}" + (f" (HA ignores: {', '.join(dropped)})" if dropped else ""))
        template = parsed.get("value_template")
        if template is not None:
            template.hass = hass
            rendered = {label: template.async_render({"value": label, "value_json": {"confidence": 0.8765}},
                                                     parse_result=False) for label in LABELS}
            print(f"     value_template: {rendered}")
    blocked = sorted(set(data["attribute_keys"]) & set(MQTT_ATTRIBUTES_BLOCKED))
    print("attributes HA would drop:", blocked or "none")
    await hass.async_stop(force=True)
    return 1 if failures or blocked else 0


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] not in ("write", "check"):
        sys.exit(__doc__)
    if sys.argv[1] == "write":
        write(Path(sys.argv[2]))
    else:
        sys.exit(asyncio.run(check(Path(sys.argv[2]))))
