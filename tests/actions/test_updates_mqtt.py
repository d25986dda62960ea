"""`<prefix>/<name>/model/set` on a real mosquitto: edge-infer --mqtt --update-from (a fresh interpreter without
torch) takes the version named in the payload between two frames, publishes the outcome on
`<prefix>/<name>/model`, and its attributes and --json lines carry the new version; no restart."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.actions.conftest import PASSWORD, USER, kill_if_running, sigterm, wait_for
from tests.actions.test_cli_mqtt import make_video
from tests.conftest import BLOCK_TORCH
from tests.runtime.update_fixtures import publish, static_server

ROOT = Path(__file__).resolve().parents[2]
OLD, NEW = "a" * 64, "b" * 64


def test_model_set_swaps_in_the_named_version_and_says_so(tiny_export, broker, recorder, tmp_path):
    baseline = publish(tiny_export, tmp_path / "baseline", sha=OLD)
    publish(baseline, tmp_path / "pub" / "door", sha=NEW, bias=0.2)
    clip = make_video(tmp_path / "clip.mp4", frames=300)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(BLOCK_TORCH), str(ROOT)]), EDGE_MQTT_PASSWORD=PASSWORD)
    args = [str(baseline / "model.onnx"), str(clip), "--json", "--loop", "--realtime", "--mqtt",
            f"mqtt://{USER}@127.0.0.1:{broker.port}", "--mqtt-name", "e2e", "--hold", "2", "--min-confidence", "0",
            "--update-from", str(tmp_path / "nothing-yet"), "--update-every", "0", "--state-dir", str(tmp_path / "state")]
    with static_server(tmp_path / "pub") as (url, _log):
        proc = subprocess.Popen([sys.executable, "-c", "from edge.cli.infer import main; main()", *args], env=env,
                                stdout=(tmp_path / "stdout").open("wb"), stderr=(tmp_path / "stderr").open("wb"))
        try:
            assert wait_for(lambda: recorder.payloads("edge/e2e/clip/attributes") or proc.poll() is not None, 60)
            assert proc.poll() is None, (tmp_path / "stderr").read_text()
            recorder.publish("edge/e2e/model/set", url + "door/")
            outcome = wait_for(lambda: [json.loads(p) for p in recorder.payloads("edge/e2e/model")
                                        if json.loads(p)["status"] == "updated"], 60)
            assert outcome, (tmp_path / "stderr").read_text()
            assert outcome[0]["version"] == NEW[:12] and outcome[0]["self_test"]["from_device"] is True
            assert wait_for(lambda: any(json.loads(p)["model"]["version"] == NEW[:12]
                                        for p in recorder.payloads("edge/e2e/clip/attributes")), 30)
            assert sigterm(proc) == 0
        finally:
            kill_if_running(proc)
    stderr = (tmp_path / "stderr").read_text()
    assert "Traceback" not in stderr and f"model updated: {OLD[:12]} -> {NEW[:12]}" in stderr
    rows = [json.loads(line) for line in (tmp_path / "stdout").read_text().splitlines()]
    versions = [row["model_version"] for row in rows]
    assert versions[0] == OLD[:12] and versions[-1] == NEW[:12]
    assert sum(a != b for a, b in zip(versions, versions[1:])) == 1  # one switch, between two frames
    first_new = versions.index(NEW[:12])
    assert rows[first_new]["frame"] in (rows[first_new - 1]["frame"] + 1, 0)  # no frame lost at the swap (0: --loop)
