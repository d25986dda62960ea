"""`edge-infer EXPORT picam` on a Raspberry Pi AI Camera, with a fake picamera2 (we have no AI Camera).

The fake's IMX500 hands over, frame by frame, the output tensors the exported network's quantized ONNX
gave for real flowers5 photos and a few non-photos (tests/runtime/data/imx500_tensors.json, made by
scripts/imx500_fixture.py): edge-infer must answer with the labels those tensors mean. What this cannot
show: that the sensor computes those tensors, and that its crop and normalisation are the manifest's.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

from edge.errors import EdgeError
from edge.manifest import Manifest
from edge.runtime import imx500_camera
from tests.conftest import BLOCK_TORCH

ROOT = Path(__file__).resolve().parents[2]
FIXTURE = Path(__file__).parent / "data" / "imx500_tensors.json"
FAKE = Path(__file__).parent / "fake_picamera2"
DATA = json.loads(FIXTURE.read_text(encoding="utf-8"))
MANIFEST = Manifest.from_dict(DATA["manifest"])


def expected_labels() -> list[str]:
    """What the quantized ONNX's outputs mean, worked out here without edge: argmax, or unknown below the threshold."""
    return ["unknown" if p["score"] < MANIFEST.unknown.threshold else MANIFEST.labels[int(np.argmax(p["logits"]))]
            for p in DATA["photos"]]


@pytest.fixture
def sensor_export(tmp_path: Path) -> Path:
    """An export folder holding only the imx500 artifact (its dnnParams.xml from a real conversion)."""
    root = tmp_path / "export"
    (root / "imx500").mkdir(parents=True)
    (root / "manifest.json").write_text(MANIFEST.to_json(), encoding="utf-8")
    (root / "imx500" / "manifest.json").write_text(MANIFEST.with_updates(precision="int8").to_json(), encoding="utf-8")
    (root / "labels.txt").write_text("\n".join(MANIFEST.labels) + "\n", encoding="utf-8")
    row = {"name": "imx500", "path": "imx500/packerOut.zip", "top1_agreement": 1.0, "within_budget": True}
    (root / "export_report.json").write_text(json.dumps({"source": "fixture", "images": 1, "formats": [row]}))
    with zipfile.ZipFile(root / "imx500" / "packerOut.zip", "w") as packed:
        packed.writestr("dnnParams.xml", DATA["dnn_params"])
    return root


def fake_packager(folder: Path) -> Path:
    """imx500-package as the Pi's imx500-tools has it: -i packerOut.zip -o DIR writes DIR/network.rpk."""
    folder.mkdir(exist_ok=True)
    tool = folder / "imx500-package"
    tool.write_text('#!/bin/sh\nwhile [ $# -gt 0 ]; do case "$1" in -o) out="$2"; shift;; esac; shift; done\n'
                    'echo rpk > "$out/network.rpk"\n')
    tool.chmod(tool.stat().st_mode | stat.S_IEXEC)
    return folder


def edge_infer(*args: str, tmp_path: Path, packager: bool = True) -> subprocess.CompletedProcess:
    """edge-infer in a torch-free Python whose picamera2 is the fake."""
    path = [str(fake_packager(tmp_path / "bin"))] if packager else []
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(BLOCK_TORCH), str(FAKE), str(ROOT)]),
               EDGE_FAKE_IMX500=str(FIXTURE), EDGE_FAKE_IMX500_LOG=str(tmp_path / "camera.log"),
               PATH=os.pathsep.join([*path, os.path.dirname(sys.executable), "/usr/bin", "/bin"]))
    return subprocess.run([sys.executable, "-m", "edge.cli.infer", *args], capture_output=True, text=True, env=env,
                          timeout=120)


def camera_log(tmp_path: Path) -> list[dict]:
    return [json.loads(line) for line in (tmp_path / "camera.log").read_text().splitlines()]


def test_picam_json_gives_the_labels_of_the_quantized_onnx(sensor_export, tmp_path):
    n = len(DATA["photos"])
    done = edge_infer(str(sensor_export), "picam", "--json", "--max-frames", str(n), tmp_path=tmp_path)
    assert done.returncode == 0, done.stderr
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    assert [p["label"] for p in lines] == expected_labels()
    assert [p["score"] for p in lines] == pytest.approx([p["score"] for p in DATA["photos"]], abs=1e-6)
    assert {"unknown"} < set(expected_labels())  # the fixture has answers of both kinds
    assert "Raspberry Pi AI Camera" in done.stderr and "on its sensor" in done.stderr and "summary:" in done.stderr
    assert "(imx500, int8" in done.stderr
    assert (sensor_export / "imx500" / "network.rpk").is_file()  # packaged once, kept in the export folder
    events = [e["event"] for e in camera_log(tmp_path)]
    assert events.index("IMX500") < events.index("Picamera2")  # picamera2's rule: the network before the camera
    roi = next(e["roi"] for e in camera_log(tmp_path) if e["event"] == "roi")
    assert roi == list(imx500_camera.SensorNetwork(Path("x"), 224 / 256).roi())
    assert events[-1] == "close"


def test_probabilities_use_the_manifests_temperature(sensor_export, tmp_path):
    done = edge_infer(str(sensor_export), "picam", "--json", "--max-frames", "1", "--top-k", "2", tmp_path=tmp_path)
    assert done.returncode == 0, done.stderr
    top = json.loads(done.stdout.splitlines()[0])["top"]
    logits = np.array(DATA["photos"][0]["logits"]) / MANIFEST.temperature
    probs = np.exp(logits - logits.max()) / np.exp(logits - logits.max()).sum()
    assert [t["prob"] for t in top] == pytest.approx(sorted(probs, reverse=True)[:2], abs=1e-5)


def test_collect_keeps_an_unsure_frame_with_the_sensors_answer(sensor_export, tmp_path):
    """--collect as with any backend (its rate limit and de-duplication keep one of the fake's identical frames)."""
    done = edge_infer(str(sensor_export), "picam", "--collect", str(tmp_path / "kept"), "--max-frames", "3",
                      tmp_path=tmp_path)
    assert done.returncode == 0, done.stderr
    sidecar = json.loads(next((tmp_path / "kept").rglob("*.json")).read_text())
    assert sidecar["label"] == expected_labels()[0] and sidecar["score"] == pytest.approx(DATA["photos"][0]["score"])
    assert sidecar["artifact"].endswith("imx500/packerOut.zip") and sidecar["latency_ms"]["preprocess"] == 0


def test_an_artifact_over_its_budget_is_not_run_on_the_sensor(sensor_export, tmp_path):
    report = json.loads((sensor_export / "export_report.json").read_text())
    report["formats"][0]["within_budget"] = False
    (sensor_export / "export_report.json").write_text(json.dumps(report))
    done = edge_infer(str(sensor_export), "picam", "--max-frames", "1", tmp_path=tmp_path)
    assert done.returncode == 1 and "missed the export's accuracy budget" in done.stderr
    assert "no exported model this machine can run" in done.stderr  # this folder holds nothing for the CPU


def test_without_the_packager_it_says_the_command(sensor_export, tmp_path):
    done = edge_infer(str(sensor_export), "picam", "--max-frames", "1", tmp_path=tmp_path, packager=False)
    assert done.returncode == 1
    assert "imx500-package -i" in done.stderr and "sudo apt install -y imx500-tools" in done.stderr
    assert len(done.stderr.strip().splitlines()) <= 3 and "Traceback" not in done.stderr


def test_the_sensor_artifact_refuses_other_sources(sensor_export, tmp_path):
    photo = tmp_path / "photo.jpg"
    from PIL import Image

    Image.new("RGB", (32, 32)).save(photo)
    done = edge_infer(str(sensor_export / "imx500" / "packerOut.zip"), str(photo), tmp_path=tmp_path)
    assert done.returncode == 1 and "its SOURCE is picam" in done.stderr and "Traceback" not in done.stderr


def test_devices_detect_names_the_ai_camera(tmp_path):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(BLOCK_TORCH), str(FAKE), str(ROOT)]),
               EDGE_FAKE_IMX500=str(FIXTURE))
    done = subprocess.run([sys.executable, "-m", "edge.cli.main", "devices", "detect"], capture_output=True, text=True,
                          env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "raspberry-pi-ai-camera" in done.stdout and "AI Camera" in done.stdout


def test_the_ai_camera_profile_is_found_by_its_camera_and_prefers_imx500():
    from edge.devices.profiles import detect

    pi5 = "processor\t: 0\nCPU part\t: 0xd0b\nModel\t\t: Raspberry Pi 5 Model B Rev 1.0\n"
    profile, why = detect("aarch64", pi5, ai_camera=True)
    assert profile.name == "raspberry-pi-ai-camera" and profile.formats[0] == "imx500" and "Raspberry Pi 5" in why
    assert detect("aarch64", pi5, ai_camera=False)[0].name == "raspberry-pi-5"


def test_decide_reads_a_sensors_outputs_as_answers_reads_a_models():
    from edge.runtime.classifier import Classifier

    clf = Classifier.__new__(Classifier)  # the decision alone: no artifact needed
    clf.manifest, clf.labels, clf.threshold = MANIFEST, list(MANIFEST.labels), MANIFEST.unknown.threshold
    clf.backend = type("Backend", (), {"path": Path("x")})()
    photos = DATA["photos"][:3]
    logits = np.array([p["logits"] for p in photos], np.float32)
    scores = np.array([[p["score"]] for p in photos], np.float32)  # (N, 1), as the sensor gives it
    answers = clf.decide([logits, scores], 2)
    assert [a[1] for a in answers] == [p["score"] < MANIFEST.unknown.threshold for p in photos]
    assert [a[0][0][0] for a in answers] == [MANIFEST.labels[int(np.argmax(p["logits"]))] for p in photos]
    # an all-zero feature vector: the quantized graph's 0/0 is the training score's 0, so unknown
    scores[0, 0], scores[1, 0] = np.nan, np.inf
    assert [a[1:] for a in clf.decide([logits, scores], 2)[:2]] == [(True, 0.0), (True, 0.0)]


def test_the_sensor_backend_never_runs_on_the_cpu(sensor_export):
    backend = imx500_camera.SensorBackend(sensor_export / "imx500" / "packerOut.zip").load()
    assert backend.output_count() == 2
    with pytest.raises(EdgeError, match="SOURCE picam"):
        backend.run_all(np.zeros((1, 3, 224, 224), np.float32))


def test_the_region_of_interest_is_the_manifests_centre_crop():
    x, y, w, h = imx500_camera.SensorNetwork(Path("network.rpk"), 224 / 256).roi()
    assert (w, h) == (2660, 2660) and (x, y) == ((4056 - 2660) // 2, (3040 - 2660) // 2)
