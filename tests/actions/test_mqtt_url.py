"""--mqtt URLs, names and topics: parsed up front, every mistake one line."""

from __future__ import annotations

import pytest

from edge.actions.mqtt_url import parse_mqtt_url, redact
from edge.actions.topics import Topics, source_id
from edge.errors import EdgeError


def test_defaults_and_every_part():
    plain = parse_mqtt_url("mqtt://broker.lan")
    assert (plain.host, plain.port, plain.tls, plain.prefix, plain.username, plain.password) == (
        "broker.lan", 1883, False, "edge", None, None)
    full = parse_mqtt_url("mqtts://pi:p%40ss@10.0.0.2:8884/home/edge")
    assert (full.host, full.port, full.tls, full.prefix, full.username, full.password) == (
        "10.0.0.2", 8884, True, "home/edge", "pi", "p@ss")
    assert parse_mqtt_url("mqtts://broker").port == 8883
    assert "p@ss" not in repr(full) and "***" in repr(full)


def test_password_from_the_environment_fills_a_user_without_one():
    target = parse_mqtt_url("mqtt://pi@broker", password="from-env")
    assert (target.username, target.password) == ("pi", "from-env")
    assert parse_mqtt_url("mqtt://pi:inline@broker", password="from-env").password == "inline"


@pytest.mark.parametrize("url, words", [
    ("http://broker", "mqtt://"), ("mqtt://", "mqtt://"), ("mqtt://broker:99999", "port"),
    ("mqtt://broker/a/+/b", "prefix"), ("mqtt://:secret@broker", "user"),
])
def test_bad_urls_are_one_line_without_the_password(url, words):
    with pytest.raises(EdgeError, match=words) as info:
        parse_mqtt_url(url)
    assert "secret" not in str(info.value) and "\n" not in str(info.value)


def test_ca_needs_mqtts_and_a_file(tmp_path):
    with pytest.raises(EdgeError, match="only used with mqtts"):
        parse_mqtt_url("mqtt://broker", ca=tmp_path / "ca.pem")
    with pytest.raises(EdgeError, match="no such file"):
        parse_mqtt_url("mqtts://broker", ca=tmp_path / "ca.pem")
    (tmp_path / "ca.pem").write_text("x")
    assert parse_mqtt_url("mqtts://broker", ca=tmp_path / "ca.pem").ca == tmp_path / "ca.pem"


def test_redact_hides_only_the_password():
    assert redact("mqtt://u:pw@h:1/x") == "mqtt://u:***@h:1/x" and redact("mqtt://h") == "mqtt://h"


@pytest.mark.parametrize("source, sid", [("camera:0", "camera_0"), ("picam", "picam"), ("/v/Front door.mp4", "front_door"),
                                         ("camera:rtsp://cam.lan/live", "live"), ("camera:/dev/video2", "video2"),
                                         ("+#", "source")])
def test_source_ids_are_one_safe_topic_level(source, sid):
    assert source_id(source) == sid


def test_command_topics_name_their_source():
    topics = Topics("edge/pi")
    assert topics.command_source("edge/pi/camera_0/classify/set") == "camera_0"
    for other in ("edge/pi/camera_0/classify", "edge/other/camera_0/classify/set", "edge/pi/a/b/classify/set"):
        assert topics.command_source(other) is None
