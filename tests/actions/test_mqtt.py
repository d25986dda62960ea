"""MQTT against a real mosquitto: the published states equal the debounced ones, discovery is well-formed,
the classify switch pauses the loop, and a broker that is down or restarts never stops classification."""

from __future__ import annotations

import json
import threading
import time

import numpy as np
import pytest

from edge.actions.events import Events
from edge.actions.mqtt_action import MqttAction, MqttConfig
from edge.actions.mqtt_url import parse_mqtt_url
from edge.actions.start import MQTT_TICK_S
from edge.actions.tracker import Tracker
from edge.runtime.classifier import Prediction
from edge.runtime.sources import Frame
from tests.actions.conftest import Broker, Recorder, require_broker, wait_for


@pytest.fixture(autouse=True)
def _needs_a_broker():
    require_broker()

BASE = "edge/testpi/camera_0"
MODEL = {"arch": "tiny", "precision": "fp32", "version": "0123456789ab", "labels": ["daisy", "rose", "tulip"]}
DISCOVERY = {f"homeassistant/{c}/testpi/camera_0_{o}/config" for c, o in
             [("sensor", "label"), ("sensor", "confidence"), ("image", "snapshot"), ("switch", "classify"),
              ("binary_sensor", "is_rose")]}


def start_events(url: str, lines: list, hold: int = 2, min_confidence: float = 0.5) -> Events:
    events = Events(hold=hold, min_confidence=min_confidence, report=lines.append)
    config = MqttConfig(target=parse_mqtt_url(url), name="testpi", binary_labels=("rose",), model=MODEL,
                        sw_version="0.1.0")
    events.add(MqttAction(config, events, lines.append), tick_s=MQTT_TICK_S)
    return events


def prediction(label: str, prob: float, index: int) -> Prediction:
    unknown = label == "unknown"
    top = [("daisy" if unknown else label, prob), ("other", round(1 - prob, 6))]
    return Prediction("camera:0", top, index, {"inference": 1.0}, unknown, 0.3)


def frame_of(index: int) -> np.ndarray:
    """A flat colour per frame index, so a snapshot says which frame it shows."""
    return np.full((48, 64, 3), (index * 7) % 256, np.uint8)


SCRIPT = ([("daisy", .9)] * 3 + [("rose", .9)] * 1 + [("daisy", .9)] * 2 + [("rose", .9)] * 4 + [("tulip", .4)] * 5
          + [("tulip", .8)] * 2 + [("unknown", .2)] * 3 + [("rose", .95)] * 2)


def expected_changes(script, hold=2, min_confidence=0.5) -> list[tuple[str | None, str, int]]:
    tracker, out = Tracker(hold=hold, min_confidence=min_confidence), []
    for index, (label, prob) in enumerate(script):
        change = tracker.observe(prediction(label, prob, index))
        if change is not None:
            out.append((*change, index))
    return out


def test_state_sequence_discovery_attributes_snapshot_and_offline(broker, recorder):
    lines: list[str] = []
    events = start_events(broker.url, lines)
    expected = expected_changes(SCRIPT)
    assert [label for _, label, _ in expected] == ["daisy", "rose", "tulip", "unknown", "rose"]
    for index, (label, prob) in enumerate(SCRIPT):
        events.observe("camera:0", prediction(label, prob, index), frame_of(index))
        time.sleep(0.01)
    assert wait_for(lambda: len(recorder.payloads(f"{BASE}/event")) == len(expected)), (lines, recorder.topics())
    assert recorder.texts(f"{BASE}/state") == [label for _, label, _ in expected]  # one per change, in order
    bodies = [json.loads(p) for p in recorder.payloads(f"{BASE}/event")]
    assert [(b["previous"], b["label"], b["prediction"]["frame"]) for b in bodies] == expected
    assert wait_for(lambda: DISCOVERY <= recorder.topics()), recorder.topics()
    for topic in DISCOVERY:
        config = json.loads(recorder.payloads(topic)[-1])
        assert config["availability_topic"] == "edge/testpi/availability" and config["device"]["identifiers"]
    attributes = json.loads(recorder.payloads(f"{BASE}/attributes")[-1])
    assert {"score", "top", "unknown", "fps", "model", "confidence", "state_label"} <= set(attributes)
    assert attributes["state_label"] == "rose" and "state" not in attributes and attributes["model"]["version"] == "0123456789ab"
    assert attributes["top"][0] == {"label": "rose", "prob": 0.95} and attributes["confidence"] == 0.95
    import cv2

    snapshot = recorder.payloads(f"{BASE}/snapshot")[-1]
    image = cv2.imdecode(np.frombuffer(snapshot, np.uint8), cv2.IMREAD_COLOR)
    assert snapshot[:2] == b"\xff\xd8" and image.shape == (48, 64, 3)
    assert abs(int(image.mean()) - int(frame_of(expected[-1][2]).mean())) <= 2  # the frame that changed the state
    assert recorder.last("edge/testpi/availability") == "online"
    assert recorder.last(f"{BASE}/classify") == "ON"

    late = Recorder(broker)  # a subscriber that arrives now gets the retained state, not the events
    try:
        assert wait_for(lambda: late.last(f"{BASE}/state") == "rose" and DISCOVERY <= late.topics())
        assert late.payloads(f"{BASE}/snapshot") and late.payloads(f"{BASE}/attributes")
        assert not late.payloads(f"{BASE}/event")
        events.close()
        assert wait_for(lambda: late.last("edge/testpi/availability") == "offline")
    finally:
        late.close()
    assert any("mqtt: connected to mqtt://127.0.0.1" in line for line in lines)
    assert not any("s3cret" in line for line in lines)


def test_home_assistant_online_republishes_discovery_and_state(broker, recorder):
    events = start_events(broker.url, [], hold=1)
    try:
        events.observe("camera:0", prediction("tulip", .9, 0), frame_of(0))
        assert wait_for(lambda: recorder.last(f"{BASE}/state") == "tulip" and DISCOVERY <= recorder.topics())
        recorder.clear()
        recorder.publish("homeassistant/status", "online")  # Home Assistant restarted
        assert wait_for(lambda: recorder.last(f"{BASE}/state") == "tulip" and DISCOVERY <= recorder.topics(), 5)
        assert recorder.last("edge/testpi/availability") == "online"
    finally:
        events.close()


def fake_camera(stop: threading.Event, pulled: list):
    index = 0
    while not stop.is_set() and index < 5000:  # bounded: 5000 frames at most
        pulled.append(index)
        yield Frame("camera:0", index, frame_of(index), 0.0)
        index += 1
        time.sleep(0.005)


def test_the_classify_switch_pauses_and_resumes_and_is_echoed(broker, recorder):
    events = start_events(broker.url, [], hold=1)
    stop, pulled, classified = threading.Event(), [], []

    def loop():
        for frame in events.gate(fake_camera(stop, pulled)):
            classified.append(frame.index)
            events.observe(frame.source, prediction("rose", .9, frame.index), frame.bgr)

    thread = threading.Thread(target=loop, daemon=True)
    thread.start()
    try:
        assert wait_for(lambda: recorder.last(f"{BASE}/classify") == "ON")
        recorder.publish(f"{BASE}/classify/set", "OFF")
        assert wait_for(lambda: recorder.last(f"{BASE}/classify") == "OFF", 5)
        time.sleep(0.3)
        paused_at = len(classified)
        time.sleep(0.5)
        assert len(classified) == paused_at  # nothing classified while off
        recorder.publish(f"{BASE}/classify/set", "ON")
        assert wait_for(lambda: recorder.last(f"{BASE}/classify") == "ON", 5)
        assert wait_for(lambda: len(classified) > paused_at + 5, 5)
        recorder.publish(f"{BASE}/classify/set", "bogus")  # ignored
    finally:
        stop.set()
        events.close()
        thread.join(timeout=5)
    assert not thread.is_alive()


def test_broker_gone_for_seconds_then_back_state_republished(tmp_path, broker, recorder):
    lines: list[str] = []
    events = start_events(broker.url, lines, hold=1)
    try:
        events.observe("camera:0", prediction("daisy", .9, 0), frame_of(0))
        assert wait_for(lambda: recorder.last(f"{BASE}/state") == "daisy")
        broker.stop()
        started = time.perf_counter()
        for index in range(1, 300):  # classification goes on while the broker is gone: three changes
            events.observe("camera:0", prediction(("rose", "tulip", "rose")[index // 100], .9, index), frame_of(index))
        assert time.perf_counter() - started < 2.0  # nothing waited for the broker (generous: 2 shared cores)
        time.sleep(5)
        recorder.clear()
        broker.start()  # same port, no persistence: every retained message is gone
        back = time.monotonic()
        assert wait_for(lambda: recorder.last(f"{BASE}/state") == "rose" and DISCOVERY <= recorder.topics(), 10), lines
        assert time.monotonic() - back < 5.0, lines  # republished within 5 s of the broker's return
        assert recorder.texts(f"{BASE}/state") == ["rose"]  # the latest only, not a backlog of what was missed
        assert not recorder.payloads(f"{BASE}/event")
        assert recorder.last("edge/testpi/availability") == "online"
        assert any("connection lost" in line for line in lines) and any("reconnected" in line for line in lines)
    finally:
        events.close()


def test_broker_down_at_start_connects_later(tmp_path):
    broker = Broker(tmp_path / "late")
    lines: list[str] = []
    events = start_events(broker.url, lines, hold=1)
    try:
        events.observe("camera:0", prediction("tulip", .9, 0), frame_of(0))  # classifying before any broker
        time.sleep(1.5)
        assert any("not reachable" in line for line in lines), lines
        broker.start()
        recorder = Recorder(broker)
        try:
            assert wait_for(lambda: recorder.last(f"{BASE}/state") == "tulip", 10), lines
        finally:
            recorder.close()
    finally:
        events.close()
        broker.stop()


def test_mqtts_with_its_ca_connects_and_another_ca_is_not_trusted(tmp_path):
    from tests.actions.conftest import make_certificates

    broker = Broker(tmp_path / "tls", tls=True).start()
    recorder = Recorder(broker)
    strange_ca = make_certificates(tmp_path / "tls", "stranger")[0]
    trusted, untrusted = [], []
    good = start_events_tls(broker, broker.ca, trusted, "testpi")
    bad = start_events_tls(broker, strange_ca, untrusted, "stranger")
    try:
        for events in (good, bad):
            events.observe("camera:0", prediction("rose", .9, 0), frame_of(0))
        assert wait_for(lambda: recorder.last(f"{BASE}/state") == "rose"), trusted
        assert wait_for(lambda: any("not signed by --mqtt-ca" in line for line in untrusted)), untrusted
        assert not any(t.startswith("edge/stranger/") for t in recorder.topics())
    finally:
        good.close()
        bad.close()
        recorder.close()
        broker.stop()


def start_events_tls(broker: Broker, ca, lines: list, name: str) -> Events:
    events = Events(hold=1, min_confidence=0.5, report=lines.append)
    config = MqttConfig(target=parse_mqtt_url(broker.url, ca=ca), name=name, model=MODEL, sw_version="0.1.0")
    events.add(MqttAction(config, events, lines.append), tick_s=MQTT_TICK_S)
    return events


def test_a_ca_file_that_is_not_a_certificate_is_one_line(tmp_path):
    import pytest

    from edge.actions.mqtt_client import make_client
    from edge.errors import EdgeError

    (tmp_path / "ca.pem").write_text("not a certificate")
    target = parse_mqtt_url("mqtts://broker.lan", ca=tmp_path / "ca.pem")
    with pytest.raises(EdgeError, match="--mqtt-ca .*cannot use it as a CA certificate"):
        make_client(target, "edge-test", "edge/test/availability")
