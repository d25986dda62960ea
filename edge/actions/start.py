"""The event core of one live `edge-infer` run, built from its options: the trackers and the actions
asked for (--mqtt here; edge.serve adds the --on-change webhook)."""

from __future__ import annotations

import socket

from edge.actions.events import Events
from edge.actions.ha_discovery import binary_id
from edge.actions.model_command import model_now, on_model_set, publish_outcomes
from edge.errors import EdgeError
from edge.runtime.classifier import Classifier
from edge.runtime.options import InferOptions

MQTT_TICK_S = 0.5  # how soon a reconnect or a new source is acted on
FIRST_CONNECT_S = 3.0  # at start, wait this long for the broker so the first states are not missed; then go on


def start_events(opts: InferOptions, clf: Classifier, report=lambda _m: None) -> Events:
    if opts.hold < 1 or not 0.0 <= opts.min_confidence <= 1.0:
        raise EdgeError("--hold must be at least 1 frame and --min-confidence between 0 and 1")
    events = Events(hold=opts.hold, min_confidence=opts.min_confidence, report=report)
    if opts.gpio:  # before --mqtt connects: a wrong pin or label is one line, at once
        from edge.actions.gpio_action import start_gpio

        start_gpio(opts, clf, events)
    if opts.record is not None:
        from edge.actions.clip_action import start_recording

        start_recording(opts, clf, events, report)
    if opts.mqtt is not None:
        from edge.actions.mqtt_action import MqttAction

        mqtt = MqttAction(mqtt_config(opts, clf), events, report)
        publish_outcomes(mqtt, clf)  # --update-from: each update's outcome on <prefix>/<name>/model
        events.add(mqtt, tick_s=MQTT_TICK_S)
        mqtt.connected.wait(FIRST_CONNECT_S)  # a broker that is down costs this once; classifying never waits again
    return events


def mqtt_config(opts: InferOptions, clf: Classifier):
    """--mqtt and its companions -> MqttConfig; every mistake is one line before anything connects."""
    from edge import __version__
    from edge.actions.mqtt_action import MqttConfig
    from edge.actions.mqtt_url import parse_mqtt_url

    target = parse_mqtt_url(opts.mqtt, password=opts.mqtt_password, ca=opts.mqtt_ca)
    labels = (*clf.manifest.labels, "unknown")
    ids: dict[str, str] = {}
    for label in dict.fromkeys(opts.mqtt_binary or ()):
        if label not in labels:
            raise EdgeError(f"--mqtt-binary {label}: not a label of this model; choose from {', '.join(labels)}")
        other = ids.setdefault(binary_id(label), label)
        if other != label:
            raise EdgeError(f"--mqtt-binary {other} and {label}: both become the Home Assistant entity "
                            f"'..._is_{binary_id(label)}', so one would replace the other; give only one of them")
    name = (opts.mqtt_name or socket.gethostname()).strip()
    if not name or any(c in name for c in "+#/"):
        raise EdgeError(f"--mqtt-name {name!r}: give a name without + # or / (it becomes a topic level)")
    now = model_now(clf)
    return MqttConfig(target=target, name=name, binary_labels=tuple(dict.fromkeys(opts.mqtt_binary or ())),
                      model=now(), sw_version=__version__, model_now=now, on_model_set=on_model_set(clf))
