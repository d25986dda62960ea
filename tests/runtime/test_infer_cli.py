"""edge-infer end to end: folders, bad files, JSON lines, video, stdin, exit codes, no torch."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from edge.cli.infer import app
from tests.conftest import BLOCK_TORCH

runner = CliRunner()
ROOT = Path(__file__).resolve().parents[2]


def _infer_subprocess(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess:
    """edge-infer in a fresh interpreter where `import torch` fails, as on a Pi."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(BLOCK_TORCH), str(ROOT)]))
    code = "import sys; from edge.cli.infer import main; main(); assert 'torch' not in sys.modules"
    return subprocess.run([sys.executable, "-c", code, *args], env=env, capture_output=True, input=stdin)


def test_folder_json_lines_without_torch(tiny_export, tiny_data):
    (tiny_data / "roses" / "broken.jpg").write_bytes(b"\xff\xd8 not really a jpeg")
    result = _infer_subprocess(str(tiny_export / "model.int8.onnx"), str(tiny_data), "--json", "--top-k", "2",
                               "--allow-failures")
    assert result.returncode == 0, result.stderr
    rows = [json.loads(line) for line in result.stdout.decode().splitlines()]  # nothing else on stdout
    failed = [row for row in rows if "error" in row]  # a file that failed is a JSON line too, not only a stderr line
    assert len(rows) == 19 and len(failed) == 1
    assert failed[0]["source"].endswith("broken.jpg") and failed[0]["label"] is None and "broken.jpg" in failed[0]["error"]
    for row in (row for row in rows if "error" not in row):
        assert Path(row["source"]).is_file() and len(row["top"]) == 2
        assert {"label", "prob"} == set(row["top"][0]) and row["top"][0]["prob"] >= row["top"][1]["prob"]
    stderr = result.stderr.decode()
    assert "broken.jpg" in stderr and "18 classified, 0 of them unknown, 1 failed" in stderr


def test_failed_files_exit_non_zero_and_left_out_files_are_named(tiny_export, tiny_data):
    """3 unreadable files: exit 1 (0 with --allow-failures); files without an image extension are listed."""
    for name in ("a.jpg", "b.png", "c.jpg"):
        (tiny_data / "daisy" / name).write_bytes(b"\xff\xd8 cut short")
    photo = next((tiny_data / "tulips").iterdir())
    (tiny_data / "tulips" / "IMG_0001").write_bytes(photo.read_bytes())  # a photo whose name lost its extension
    (tiny_data / "notes.txt").write_text("taken in May")
    model = str(tiny_export / "model.onnx")
    result = runner.invoke(app, [model, str(tiny_data)])
    assert result.exit_code == 1, result.output
    assert "18 classified, 0 of them unknown, 3 failed" in result.output
    assert "3 files could not be classified" in result.output and "--allow-failures" in result.output
    assert "left out 2 files without an image extension" in result.output
    assert "IMG_0001" in result.output and "notes.txt" in result.output
    assert runner.invoke(app, [model, str(tiny_data), "--allow-failures"]).exit_code == 0
    named = runner.invoke(app, [model, str(tiny_data / "tulips" / "IMG_0001")])  # named: classified as before
    assert named.exit_code == 0 and "1 classified" in named.output


def test_a_run_puts_the_signal_handlers_back(tiny_export, tmp_path):
    """run_infer sets SIGTERM for its run only; the caller's handlers are back after it, error or not."""
    import signal

    from edge.errors import EdgeError
    from edge.runtime.infer import run_infer
    from edge.runtime.options import InferOptions

    def mine(signum, frame):
        pass

    photo = tmp_path / "photo.jpg"
    photo.write_bytes(b"")  # nothing to classify: run_infer raises
    before = {sig: signal.signal(sig, mine) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        model = tiny_export / "model.onnx"
        good = InferOptions(artifact=model, source=str(_write_video(tmp_path / "clip.mp4", 2)))
        run_infer(good, artifact=model, threads=1, report=lambda _m: None)
        assert signal.getsignal(signal.SIGTERM) is mine and signal.getsignal(signal.SIGINT) is mine
        with pytest.raises(EdgeError, match="nothing could be classified"):
            run_infer(InferOptions(artifact=model, source=str(photo)), artifact=model, threads=1,
                      report=lambda _m: None)
        assert signal.getsignal(signal.SIGTERM) is mine and signal.getsignal(signal.SIGINT) is mine
    finally:
        for sig, handler in before.items():
            signal.signal(sig, handler)


def test_stdin_image(tiny_export, tiny_data):
    photo = next((tiny_data / "tulips").iterdir()).read_bytes()
    result = _infer_subprocess(str(tiny_export / "model.onnx"), "-", "--json", stdin=photo)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["source"] == "-"


def test_nothing_classified_exits_non_zero(tiny_export, tmp_path):
    (tmp_path / "bad.jpg").write_bytes(b"")
    result = runner.invoke(app, [str(tiny_export / "model.onnx"), str(tmp_path)])
    assert result.exit_code == 1 and "nothing could be classified" in result.output
    result = runner.invoke(app, [str(tiny_export / "model.onnx"), str(tmp_path / "nope")])
    assert result.exit_code == 1 and "no such file, folder, video or camera" in result.output


def _write_video(path: Path, frames: int = 12) -> Path:
    cv2 = pytest.importorskip("cv2")
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 10.0, (96, 72))
    assert writer.isOpened()
    rng = np.random.default_rng(0)
    for _ in range(frames):
        writer.write(rng.integers(0, 255, (72, 96, 3), dtype=np.uint8))
    writer.release()
    return path


def test_video_file_every_frame_and_annotated_copy(tiny_export, tmp_path):
    import cv2

    video = _write_video(tmp_path / "clip.mp4")
    saved = tmp_path / "out" / "annotated.mp4"
    summary = tmp_path / "summary.json"
    result = runner.invoke(app, [str(tiny_export / "model.onnx"), str(video), "--json", "--save", str(saved),
                                 "--summary-json", str(summary)])
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    assert [r["frame"] for r in rows] == list(range(12))
    assert all(set(r["latency_ms"]) == {"decode", "preprocess", "inference"} for r in rows)
    capture = cv2.VideoCapture(str(saved))
    assert int(capture.get(cv2.CAP_PROP_FRAME_COUNT)) == 12
    stats = json.loads(summary.read_text())
    assert stats["classified"] == 12 and stats["inference_ms_p50"] > 0


def test_show_without_gui_is_a_clear_error(tiny_export, tmp_path, monkeypatch):
    import cv2

    def no_gui(*args):
        raise cv2.error("The function is not implemented")  # what opencv-python-headless raises

    monkeypatch.setattr(cv2, "imshow", no_gui)
    monkeypatch.setenv("DISPLAY", ":0")
    video = _write_video(tmp_path / "clip.mp4", 2)
    result = runner.invoke(app, [str(tiny_export / "model.onnx"), str(video), "--show"])
    assert result.exit_code == 1 and "--show needs a desktop OpenCV" in result.output


def test_show_without_a_display_fails_before_any_result(tiny_export, tmp_path, monkeypatch):
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    video = _write_video(tmp_path / "clip.mp4", 2)
    result = runner.invoke(app, [str(tiny_export / "model.onnx"), str(video), "--show"])
    assert result.exit_code == 1 and "--show needs a display" in result.output
    assert "clip.mp4#" not in result.output  # checked first: no prediction printed before the error


def test_missing_camera_lists_devices(tiny_export):
    result = runner.invoke(app, [str(tiny_export / "model.onnx"), "/dev/video99"])
    assert result.exit_code == 1 and "cameras found:" in result.output



def test_folders_run_without_busy_waiting_threads(tiny_export, tiny_data, monkeypatch):
    """Folders decode on worker threads, so ONNX Runtime must not spin on their cores; a single
    stream (stdin, video, camera) keeps spinning for the lowest latency."""
    import edge.runtime.infer as cli

    real, seen = cli.Classifier, []

    def recording(*args, spin_wait=True, **kwargs):
        seen.append(spin_wait)
        return real(*args, spin_wait=spin_wait, **kwargs)

    monkeypatch.setattr(cli, "Classifier", recording)
    model, photo = str(tiny_export / "model.onnx"), next((tiny_data / "daisy").iterdir())
    assert runner.invoke(app, [model, str(tiny_data)]).exit_code == 0
    assert runner.invoke(app, [model, "-"], input=photo.read_bytes()).exit_code == 0
    assert seen == [False, True]


def test_realtime_paces_a_video_at_its_rate_and_loop_repeats_it(tiny_export, tmp_path):
    video = str(_write_video(tmp_path / "clip.mp4", 6))  # 6 frames at 10 fps: 0.5 s from first to last
    model = str(tiny_export / "model.onnx")
    start = time.perf_counter()
    result = runner.invoke(app, [model, video, "--json", "--realtime"])
    assert result.exit_code == 0, result.output
    assert time.perf_counter() - start >= 0.5  # not read as fast as it classifies
    looped = runner.invoke(app, [model, video, "--json", "--loop", "--max-frames", "15"])
    assert looped.exit_code == 0, looped.output
    frames = [json.loads(line)["frame"] for line in looped.stdout.splitlines() if line.startswith("{")]
    assert frames == [0, 1, 2, 3, 4, 5] * 2 + [0, 1, 2]
    refused = runner.invoke(app, [model, str(tmp_path), "--loop"])
    assert refused.exit_code == 1 and "--loop plays a video file" in refused.output
