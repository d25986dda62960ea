"""`edge-infer MODEL VIDEO --record DIR --gpio PIN=LABEL --mqtt ...` end to end, in a fresh interpreter
without torch (gpiozero's mock pins, a real mosquitto): the clips are the ones the --json predictions call
for, frame for frame, and each MQTT event names its clip.

The model is a hand-made ONNX graph that answers the frame's strongest colour (red daisy, green roses,
blue tulips), so a video of coloured scenes changes state where the test says; a random-init tiny run
answers one class whatever it sees."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from edge.actions.clip_files import CLIP_RE
from edge.actions.tracker import Tracker
from edge.runtime.classifier import Prediction
from tests.actions.conftest import PASSWORD, USER, wait_for
from tests.conftest import BLOCK_TORCH

pytest.importorskip("gpiozero", reason="the gpio extra is not installed: pip install 'edge-classifier[gpio]'")
cv2 = pytest.importorskip("cv2")
onnx = pytest.importorskip("onnx")
ROOT = Path(__file__).resolve().parents[2]
FPS, PRE, POST = 25.0, 1.0, 1.0
BGR = {"red": (0, 0, 255), "green": (0, 255, 0), "blue": (255, 0, 0)}
# scenes (hold 2): green at frame 41 starts a clip that red at 51 extends; blue at 111 starts one alone; green at
# 141 starts one whose pre-roll overlaps the last clip's post-roll, blue at 153 extends it; the video goes on past it
SCENES = [("red", 40), ("green", 10), ("red", 60), ("blue", 30), ("green", 12), ("blue", 50)]
MANIFEST = {"schema_version": 1, "arch": "colour-test", "labels": ["daisy", "roses", "tulips"], "input_size": [3, 32, 32],
            "resize_size": 32, "crop_size": 32, "interpolation": "bilinear", "mean": [0.5, 0.5, 0.5],
            "std": [0.5, 0.5, 0.5], "channel_order": "RGB", "layout": "NCHW", "precision": "fp32", "metrics": {},
            "created_by": {"edge": "test"}, "source_sha256": "c0102" * 12 + "abcd"}


@pytest.fixture(scope="module")
def colour_model(tmp_path_factory) -> Path:
    """model.onnx + manifest.json: logits = 20 x the mean of each (normalised) RGB channel."""
    from onnx import TensorProto, helper, numpy_helper

    folder = tmp_path_factory.mktemp("colour")
    graph = helper.make_graph(
        [helper.make_node("ReduceMean", ["input"], ["means"], axes=[2, 3], keepdims=0),
         helper.make_node("Mul", ["means", "scale"], ["logits"])], "colour",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, [None, 3, 32, 32])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [None, 3])],
        [numpy_helper.from_array(np.array(20.0, np.float32), "scale")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.save(model, str(folder / "model.onnx"))
    (folder / "manifest.json").write_text(json.dumps(MANIFEST))
    return folder / "model.onnx"


@pytest.fixture(scope="module")
def video(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("scenes") / "clip.mp4"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), FPS, (128, 96))
    for colour, frames in SCENES:
        for _ in range(frames):
            writer.write(np.full((96, 128, 3), BGR[colour], np.uint8))
    writer.release()
    return path


def expected_clips(rows: list[dict]) -> list[tuple[int, int, int]]:
    """(first frame, last frame, events) of each clip --record-on change makes of these predictions (hold 2)."""
    tracker, clips = Tracker(hold=2, min_confidence=0.0), []
    for row in rows:
        top = [(t["label"], t["prob"]) for t in row["top"]]
        changed = tracker.observe(Prediction(row["source"], top, row["frame"], {}, row["unknown"], row.get("score")))
        t = row["frame"] / FPS
        if changed is None or changed[0] is None:
            continue
        if clips and t < clips[-1][1] + POST:  # inside the open clip: it now ends POST after this change
            clips[-1] = (clips[-1][0], t, clips[-1][2] + 1)
        else:
            clips.append((t - PRE, t, 1))
    last = rows[-1]["frame"]
    return [(max(0, round(start * FPS)), min(last, round((end + POST) * FPS) - 1), n) for start, end, n in clips]


def frame_count(clip: Path) -> int:
    capture, count = cv2.VideoCapture(str(clip)), 0
    while capture.read()[0]:
        count += 1
    capture.release()
    return count


def test_clips_match_the_predictions_and_mqtt_events_name_them(colour_model, video, broker, recorder, tmp_path):
    folder = tmp_path / "clips"
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(BLOCK_TORCH), str(ROOT)]), EDGE_MQTT_PASSWORD=PASSWORD,
               GPIOZERO_PIN_FACTORY="mock")
    args = [str(colour_model), str(video), "--json", "--hold", "2", "--min-confidence", "0.5",
            "--record", str(folder), "--pre", str(PRE), "--post", str(POST), "--gpio", "17=roses",
            "--mqtt", f"mqtt://{USER}@127.0.0.1:{broker.port}", "--mqtt-name", "e2e"]
    done = subprocess.run([sys.executable, "-c", "from edge.cli.infer import main; main()", *args], env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr
    rows = [json.loads(line) for line in done.stdout.splitlines()]
    expected = expected_clips(rows)
    assert [n for *_, n in expected] == [2, 1, 2], expected  # the scenes did what the comment above says
    clips = sorted(p for p in folder.iterdir() if CLIP_RE.match(p.name))
    assert sorted(p.name for p in folder.iterdir()) == sorted([*(c.name for c in clips), *(c.stem + ".json" for c in clips)])
    got = []
    for clip in clips:
        meta = json.loads(clip.with_suffix(".json").read_text())
        assert frame_count(clip) == meta["frames"] == meta["last_frame"] - meta["first_frame"] + 1 and meta["fps"] == FPS
        assert meta["model"]["version"] == MANIFEST["source_sha256"][:12] and meta["complete"] is True
        got.append((meta["first_frame"], meta["last_frame"], len(meta["events"])))
    assert len(got) == len(expected) and all(abs(a - b) <= 1 for g, e in zip(got, expected) for a, b in zip(g[:2], e[:2])), (
        got, expected)
    assert [g[2] for g in got] == [e[2] for e in expected]
    topic = "edge/e2e/clip/event"
    assert wait_for(lambda: len(recorder.payloads(topic)) == 6, 10), recorder.texts(topic)
    named = [json.loads(p).get("clip") for p in recorder.payloads(topic)]
    assert named == [None, *(str(clips[i]) for i in (0, 0, 1, 2, 2))]  # the first state is no change


def test_mistakes_are_one_line(colour_model, video, tmp_path):
    from typer.testing import CliRunner

    from edge.cli.infer import app

    (tmp_path / "photos").mkdir()
    cases = [(["--record-on", "lilies", "--record", str(tmp_path / "c")],
              "--record-on lilies: not a label of this model; choose from daisy, roses, tulips, unknown, or change"),
             (["--record", str(tmp_path / "c"), "--post", "0"], "--post and --record-max-mb above 0"),
             (["--gpio", "17"], "--gpio 17: write PIN=LABEL"),
             (["--gpio", "17=lilies"], "choose from daisy, roses, tulips, unknown")]
    for extra, words in cases:
        result = CliRunner().invoke(app, [str(colour_model), str(video), *extra])
        assert result.exit_code == 1 and words in result.output, (extra, result.output)
        assert "Traceback" not in result.output and len(result.output.strip().splitlines()) <= 2, result.output
    result = CliRunner().invoke(app, [str(colour_model), str(tmp_path / "photos"), "--record", str(tmp_path / "c")])
    assert result.exit_code == 1 and "watch a camera" in result.output
    assert not (tmp_path / "c").exists()
