"""`edge-infer MODEL door=A.mp4 porch=B.mp4 --serve --mqtt --json` end to end, in a fresh interpreter without
torch, against a real mosquitto: each source's MQTT states are the debounced answers that video gets when it
runs alone, and each source's fps is reported (/healthz, /metrics, the page's tile stream, --summary-json)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from tests.actions.conftest import PASSWORD, USER, kill_if_running, sigterm, wait_for
from tests.actions.test_cli_mqtt import debounced
from tests.conftest import BLOCK_TORCH
from tests.runtime.color_model import write_color_model
from tests.runtime.test_multi_source import make_video

ROOT = Path(__file__).resolve().parents[2]
FRAMES = {"door": 100, "porch": 80}  # 4 s and 3.2 s at 25 fps (--serve plays files at their own rate)


@pytest.fixture(scope="module")
def model(tiny_export, tmp_path_factory) -> Path:
    return write_color_model(tiny_export, tmp_path_factory.mktemp("color"))  # its answers follow the photos


@pytest.fixture(scope="module")
def videos(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("several")
    return {"door": make_video(folder / "door.mp4", 0, FRAMES["door"], per_photo=5),
            "porch": make_video(folder / "porch.mp4", 5, FRAMES["porch"], per_photo=4)}


def edge_infer(*args: str, folder: Path) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(BLOCK_TORCH), str(ROOT)]), EDGE_MQTT_PASSWORD=PASSWORD)
    return subprocess.Popen([sys.executable, "-c", "from edge.cli.infer import main; main()", *args],
                            stdout=(folder / "stdout").open("wb"), stderr=(folder / "stderr").open("wb"), env=env)


def alone(model: Path, video: Path, folder: Path) -> list[dict]:
    """The --json answers of `edge-infer MODEL VIDEO`: one source, the run edge-infer always had."""
    folder.mkdir()
    proc = edge_infer(str(model), str(video), "--json", "--threads", "1", folder=folder)
    assert proc.wait(timeout=60) == 0, (folder / "stderr").read_text()
    return [json.loads(line) for line in (folder / "stdout").read_text().splitlines()]


def get(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.read()


def test_two_sources_at_once_each_with_its_own_states_and_fps(model, videos, broker, recorder, tmp_path):
    truth = {name: alone(model, video, tmp_path / name) for name, video in videos.items()}
    expected = {name: debounced(rows) for name, rows in truth.items()}
    assert all(len(states) > 2 for states in expected.values()) and expected["door"] != expected["porch"]
    summary = tmp_path / "summary.json"
    proc = edge_infer(str(model), f"door={videos['door']}", f"porch={videos['porch']}", "--json", "--threads", "1",
                      "--serve", "0", "--mqtt", f"mqtt://{USER}@127.0.0.1:{broker.port}", "--mqtt-name", "e2e",
                      "--hold", "2", "--min-confidence", "0", "--summary-json", str(summary), folder=tmp_path)
    try:
        url = wait_for(lambda: proc.poll() is None and re.search(r"serving (http://\S+/)", (tmp_path / "stderr").read_text()), 60)
        assert url, (tmp_path / "stderr").read_text()
        url = url.group(1)
        assert json.loads(get(url + "v1/info"))["sources"] == ["door", "porch"]
        running = wait_for(lambda: (h := json.loads(get(url + "healthz")))["source"] == "running" and h, 30)
        assert set(running["sources"]) == {"door", "porch"}
        tile = urllib.request.urlopen(url + "stream.mjpg?source=porch", timeout=10)  # the porch tile's frames
        assert b"image/jpeg" in tile.read(200)
        tile.close()
        done = wait_for(lambda: (h := json.loads(get(url + "healthz")))["source"] == "done" and h, 30)
        assert done, (tmp_path / "stderr").read_text()
        metrics = get(url + "metrics").decode()
        for name, frames in FRAMES.items():
            assert done["sources"][name]["frames"] == frames and done["sources"][name]["fps"] > 5  # ~25: played at its rate
            assert f'edge_predictions_total{{source="{name}"}} {frames}.0' in metrics
        assert wait_for(lambda: all(recorder.texts(f"edge/e2e/{n}/state") == expected[n] for n in expected), 10)
        assert sigterm(proc) == 0
    finally:
        kill_if_running(proc)
    stderr = (tmp_path / "stderr").read_text()
    assert "Traceback" not in stderr and "per source door" in stderr and "sources: door=" in stderr
    rows = [json.loads(line) for line in (tmp_path / "stdout").read_text().splitlines()]
    for name, want in truth.items():  # frame by frame, what the video answers alone
        got = [(r["frame"], r["label"], round(r["top"][0]["prob"], 4)) for r in rows if r["source"] == name]
        assert got == [(r["frame"], r["label"], round(r["top"][0]["prob"], 4)) for r in want], name
    for name, states in expected.items():
        assert recorder.texts(f"edge/e2e/{name}/state") == states
        assert [json.loads(p)["label"] for p in recorder.payloads(f"edge/e2e/{name}/event")] == states
    assert "homeassistant/sensor/e2e/door_label/config" in recorder.topics()
    report = json.loads(summary.read_text())
    assert report["classified"] == sum(FRAMES.values())
    assert {name: part["classified"] for name, part in report["sources"].items()} == FRAMES
    assert all(part["fps"] > 5 for part in report["sources"].values())
