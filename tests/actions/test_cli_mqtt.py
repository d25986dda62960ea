"""`edge-infer EXPORT VIDEO --mqtt ... --json` end to end, in a fresh interpreter without torch, against a
real mosquitto: the MQTT states are the debounced --json predictions, the classify switch pauses the run,
SIGTERM says offline, and SIGKILL leaves it to the last will."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from edge.actions.tracker import Tracker
from edge.runtime.classifier import Prediction
from tests.actions.conftest import PASSWORD, USER, Recorder, kill_if_running, sigterm, wait_for
from tests.conftest import BLOCK_TORCH, real_photos

ROOT = Path(__file__).resolve().parents[2]
BASE = "edge/e2e/clip"


def make_video(path: Path, frames: int = 4000, per_photo: int = 5, size=(128, 96)) -> Path:
    """flowers5 photos, each held for `per_photo` frames, long enough to be paused and stopped mid-run."""
    import cv2

    photos = [p for group in zip(*real_photos(4).values()) for p in group]
    images = [cv2.resize(cv2.imread(str(p)), size, interpolation=cv2.INTER_AREA) for p in photos]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 25.0, size)
    assert writer.isOpened()
    for index in range(frames):
        writer.write(images[(index // per_photo) % len(images)])
    writer.release()
    return path


@pytest.fixture(scope="module")
def video(tmp_path_factory) -> Path:
    return make_video(tmp_path_factory.mktemp("mqttvideo") / "clip.mp4")


def start_edge(tiny_export: Path, video: Path, broker, folder: Path, *extra: str) -> subprocess.Popen:
    """edge-infer with the password in EDGE_MQTT_PASSWORD (the URL names only the user)."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(BLOCK_TORCH), str(ROOT)]), EDGE_MQTT_PASSWORD=PASSWORD)
    code = "from edge.cli.infer import main; main()"
    args = [str(tiny_export / "model.onnx"), str(video), "--json", "--mqtt", f"mqtt://{USER}@127.0.0.1:{broker.port}",
            "--mqtt-name", "e2e", "--mqtt-binary", "roses", "--hold", "2", "--min-confidence", "0", *extra]
    return subprocess.Popen([sys.executable, "-c", code, *args], stdout=(folder / "stdout").open("wb"),
                            stderr=(folder / "stderr").open("wb"), env=env)


def debounced(rows: list[dict]) -> list[str]:
    tracker, states = Tracker(hold=2, min_confidence=0.0), []
    for row in rows:
        top = [(t["label"], t["prob"]) for t in row["top"]]
        change = tracker.observe(Prediction(row["source"], top, row["frame"], {}, row["unknown"], row.get("score")))
        if change is not None:
            states.append(change[1])
    return states


def pause(recorder: Recorder) -> None:
    recorder.publish(f"{BASE}/classify/set", "OFF")
    assert wait_for(lambda: recorder.last(f"{BASE}/classify") == "OFF", 10)


def test_states_follow_the_json_predictions_and_sigterm_says_offline(tiny_export, video, broker, recorder, tmp_path):
    proc = start_edge(tiny_export, video, broker, tmp_path)
    try:
        assert wait_for(lambda: recorder.payloads(f"{BASE}/state") or proc.poll() is not None, 60)
        assert proc.poll() is None, (tmp_path / "stderr").read_text()
        pause(recorder)  # the run now waits, so SIGTERM arrives mid-run
        assert wait_for(lambda: sum(t.endswith("/config") for t in recorder.topics()) >= 5)
        assert sigterm(proc) == 0
    finally:
        kill_if_running(proc)
    stderr = (tmp_path / "stderr").read_text()
    assert "Traceback" not in stderr and "interrupted" in stderr and PASSWORD not in stderr
    rows = [json.loads(line) for line in (tmp_path / "stdout").read_text().splitlines()]
    assert 0 < len(rows) < 4000 and all(r["source"] == str(video) for r in rows)
    expected = debounced(rows)
    assert wait_for(lambda: recorder.last("edge/e2e/availability") == "offline", 5)
    assert recorder.texts(f"{BASE}/state") == expected and expected
    assert [json.loads(p)["label"] for p in recorder.payloads(f"{BASE}/event")] == expected
    configs = {t: json.loads(p) for t, p, _ in recorder.messages if t.endswith("/config")}
    assert {t.split("/")[1] for t in configs} == {"sensor", "image", "switch", "binary_sensor"}
    assert "homeassistant/binary_sensor/e2e/clip_is_roses/config" in configs
    manifest = json.loads((tiny_export / "manifest.json").read_text())
    attributes = json.loads(recorder.payloads(f"{BASE}/attributes")[-1])
    assert attributes["model"]["version"] == manifest["source_sha256"][:12] and attributes["state_label"] == expected[-1]
    assert recorder.payloads(f"{BASE}/snapshot")[-1][:2] == b"\xff\xd8"


def test_sigkill_leaves_offline_to_the_last_will(tiny_export, video, broker, recorder, tmp_path):
    proc = start_edge(tiny_export, video, broker, tmp_path)
    try:
        assert wait_for(lambda: recorder.last("edge/e2e/availability") == "online" or proc.poll() is not None, 60)
        assert proc.poll() is None, (tmp_path / "stderr").read_text()
        assert wait_for(lambda: recorder.payloads(f"{BASE}/state"), 30)
        pause(recorder)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        kill_if_running(proc)
    assert wait_for(lambda: recorder.last("edge/e2e/availability") == "offline", 10)  # the broker sent the will
    late = Recorder(broker)
    try:
        assert wait_for(lambda: late.last("edge/e2e/availability") == "offline")  # and it stays, retained
    finally:
        late.close()


def test_mistakes_are_one_line_before_anything_connects(tiny_export, video, tmp_path):
    from typer.testing import CliRunner

    from edge.cli.infer import app

    model = str(tiny_export / "model.onnx")
    (tmp_path / "photos").mkdir()
    cases = [([model, str(video), "--mqtt", "http://broker"], "give mqtt://"),
             ([model, str(video), "--mqtt", "mqtt://broker", "--mqtt-binary", "cats"], "--mqtt-binary cats: not a label"),
             ([model, str(video), "--mqtt", "mqtt://broker", "--mqtt-name", "a/b"], "--mqtt-name"),
             ([model, str(video), "--mqtt", "mqtt://broker", "--mqtt-ca", str(video)], "only used with mqtts"),
             ([model, str(tmp_path / "photos"), "--mqtt", "mqtt://broker"], "--mqtt watch a camera"),
             ([model, "--serve", "0", "--mqtt", "mqtt://broker"], "--mqtt watch a live SOURCE")]
    for args, words in cases:
        result = CliRunner().invoke(app, args)
        assert result.exit_code == 1 and words in result.output, (args, result.output)
        assert "Traceback" not in result.output


def test_with_serve_the_states_go_out_and_metrics_count_drops(tiny_export, video, broker, recorder, tmp_path):
    import re
    import urllib.request

    pytest.importorskip("uvicorn", reason="the serve extra is not installed")
    proc = start_edge(tiny_export, video, broker, tmp_path, "--serve", "0")
    try:
        assert wait_for(lambda: recorder.payloads(f"{BASE}/state") or proc.poll() is not None, 60)
        assert proc.poll() is None, (tmp_path / "stderr").read_text()
        url = re.search(r"serving (http://\S+/)", (tmp_path / "stderr").read_text()).group(1)
        with urllib.request.urlopen(url + "metrics", timeout=10) as response:
            metrics = response.read().decode()
        assert 'edge_action_dropped_total{action="mqtt"} 0.0' in metrics
        assert sigterm(proc) == 0  # uvicorn's handler this time
    finally:
        kill_if_running(proc)
    assert wait_for(lambda: recorder.last("edge/e2e/availability") == "offline", 5)
    assert "Traceback" not in (tmp_path / "stderr").read_text()
