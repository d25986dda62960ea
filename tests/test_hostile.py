"""Hostile inputs and faults: no command loses a user's file, none ends in a traceback."""

from __future__ import annotations

import json
import os
import shutil
import struct
import threading
import time
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from edge.cli.infer import app as infer_app
from edge.cli.main import app
from edge.errors import EdgeError

runner = CliRunner()


def _one_line_error(result, expected: str) -> None:
    assert result.exit_code == 1, result.output
    assert expected in result.output, result.output
    assert "Traceback" not in result.output and result.output.count("error:") == 1


def _files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def bomb_png(path: Path, width: int = 30000, height: int = 30000) -> Path:
    """A PNG header that declares width x height pixels, in a few bytes."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64))
                     + chunk(b"IEND", b""))
    return path


# ---- data loss: export --out -------------------------------------------------------------------

def test_export_refuses_a_users_folder_and_keeps_its_files(tiny_run, tmp_path):
    out = tmp_path / "mine"
    (out / "photos").mkdir(parents=True)
    (out / "keep.txt").write_text("mine")
    (out / "photos" / "a.jpg").write_bytes(b"jpg")
    before = _files(out)
    for extra in ([], ["--force"]):
        _one_line_error(runner.invoke(app, ["export", str(tiny_run), "--out", str(out), "--format", "onnx", *extra]),
                        "files edge did not write")
    assert _files(out) == before


def test_export_refuses_the_run_itself_and_a_file(tiny_run, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(tiny_run, run)
    before = _files(run)
    _one_line_error(runner.invoke(app, ["export", str(run), "--out", str(run), "--force"]), "is a training run")
    assert _files(run) == before
    target = tmp_path / "some_file.txt"
    target.write_text("notes")
    _one_line_error(runner.invoke(app, ["export", str(run), "--out", str(target)]), "is a file")
    assert target.read_text() == "notes"


def test_export_replaces_an_earlier_export_only_with_force(tiny_run, tmp_path):
    out = tmp_path / "export"
    assert runner.invoke(app, ["export", str(tiny_run), "--out", str(out), "--format", "onnx"]).exit_code == 0
    _one_line_error(runner.invoke(app, ["export", str(tiny_run), "--out", str(out), "--format", "onnx"]),
                    "pass --force")
    result = runner.invoke(app, ["export", str(tiny_run), "--out", str(out), "--format", "onnx", "--force"])
    assert result.exit_code == 0, result.output and (out / "model.onnx").is_file()


# ---- data loss: train --out / --resume ---------------------------------------------------------

def _tiny_train_args(data: Path, out: Path) -> list[str]:
    return ["train", str(data), "--out", str(out), "--model", "mobilenet_v3_small", "--strategy", "finetune",
            "--epochs", "1", "--no-pretrained", "--image-size", "64", "--batch-size", "8"]


def test_resume_of_a_copied_run_writes_the_copy_not_the_original(tiny_run, tmp_path):
    original = tmp_path / "original"
    shutil.copytree(tiny_run, original)
    config = json.loads((original / "config.json").read_text())
    config["out"] = str(original)
    (original / "config.json").write_text(json.dumps(config))
    copy = tmp_path / "copy"
    shutil.copytree(original, copy)
    before = _files(original)
    (copy / "metrics.json").unlink()
    result = runner.invoke(app, ["train", "--resume", "--out", str(copy)])
    assert result.exit_code == 0, result.output
    assert _files(original) == before
    assert (copy / "metrics.json").is_file()


def test_train_into_a_finished_run_needs_force_and_leaves_no_stale_files(tiny_run, tiny_data, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(tiny_run, run)
    (run / "last.pt").write_bytes(b"stale")
    before = _files(run)
    _one_line_error(runner.invoke(app, _tiny_train_args(tiny_data, run)), "--force")
    assert _files(run) == before
    result = runner.invoke(app, [*_tiny_train_args(tiny_data, run), "--strategy", "feature-extract", "--force"])
    assert result.exit_code == 0, result.output
    assert not (run / "last.pt").exists()  # the old run's files went with it
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".run")] == []  # and nothing is left aside


def test_train_refuses_a_users_folder_even_with_force(tiny_data, tmp_path):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    _one_line_error(runner.invoke(app, [*_tiny_train_args(tiny_data, out), "--force"]), "did not write")
    assert (out / "notes.txt").read_text() == "mine"


def test_train_out_that_is_a_file_or_read_only(tiny_data, tmp_path):
    target = tmp_path / "file"
    target.write_text("x")
    _one_line_error(runner.invoke(app, _tiny_train_args(tiny_data, target)), "is a file")
    _one_line_error(runner.invoke(app, _tiny_train_args(tiny_data, target / "run")), "is a file")
    if os.geteuid() == 0:
        pytest.skip("root writes into read-only folders")
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    _one_line_error(runner.invoke(app, _tiny_train_args(tiny_data, locked / "run")), "not writable")


def test_resume_with_a_bad_config_is_one_line(tiny_run, tmp_path):
    for bad, expected in (({"no_such_key": 1}, "unknown config key"), ({"batch_size": "big"}, "batch_size"),
                          ("{not json", "invalid config file")):
        run = tmp_path / f"run{len(list(tmp_path.iterdir()))}"
        shutil.copytree(tiny_run, run)
        if isinstance(bad, dict):
            config = json.loads((run / "config.json").read_text())
            config.update(bad)
            (run / "config.json").write_text(json.dumps(config))
        else:
            (run / "config.json").write_text(bad)
        _one_line_error(runner.invoke(app, ["train", "--resume", "--out", str(run)]), expected)


def test_export_with_a_broken_split_is_one_line(tiny_run, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(tiny_run, run)
    for text in ("{broken", json.dumps({"classes": ["a"]}), json.dumps({"root": 3, "train": 5})):
        (run / "split.json").write_text(text)
        _one_line_error(runner.invoke(app, ["export", str(run), "--out", str(tmp_path / "e"), "--format", "onnx"]),
                        "split")


def test_non_utf8_class_name_fails_before_training(tiny_data, tmp_path):
    bad = os.fsencode(str(tiny_data)) + b"/caf\xe9"
    os.mkdir(bad)
    for p in list((tiny_data / "daisy").iterdir())[:2]:
        shutil.copy(p, os.fsdecode(bad + b"/" + os.fsencode(p.name)))
    start = time.perf_counter()
    _one_line_error(runner.invoke(app, _tiny_train_args(tiny_data, tmp_path / "run")), "not valid UTF-8")
    assert time.perf_counter() - start < 20 and not (tmp_path / "run" / "checkpoint.pt").exists()


# ---- images that attack memory ------------------------------------------------------------------

def test_decompression_bomb_is_refused_everywhere(tiny_export, tiny_data, tmp_path):
    from edge.runtime import Classifier
    from edge.runtime.images import load_rgb
    from edge.train.data import make_split

    bomb = bomb_png(tiny_data / "daisy" / "bomb.png")
    with pytest.raises(EdgeError, match="decompression bomb"):
        load_rgb(bomb)
    with pytest.raises(EdgeError, match="decompression bomb"):
        Classifier(tiny_export / "model.onnx").predict(bomb)
    split = make_split(tiny_data)  # the training scan skips and counts it
    assert any("bomb.png" in s for s in split.skipped)
    result = runner.invoke(infer_app, [str(tiny_export / "model.onnx"), str(tiny_data / "daisy")])
    assert result.exit_code == 1 and "1 failed" in result.output and "bomb.png" in result.output  # --allow-failures: 0
    _one_line_error(runner.invoke(infer_app, [str(tiny_export / "model.onnx"), str(bomb)]), "nothing could be")


@pytest.mark.parametrize("size", [(1, 4000), (1, 40000), (8000, 1)])
def test_thin_images_are_refused_before_decoding(tiny_export, tmp_path, size):
    from edge.runtime import Classifier

    path = tmp_path / "thin.png"
    Image.new("RGB", size, (10, 200, 30)).save(path)
    start = time.perf_counter()
    with pytest.raises(EdgeError, match="strip, not a photo"):
        Classifier(tiny_export / "model.onnx").predict(path)
    assert time.perf_counter() - start < 1.0


@pytest.mark.parametrize("changes,expected", [({"resize_size": 60000, "crop_size": 60000}, "crop_size"),
                                              ({"std": [0.5, float("nan"), 0.5]}, "finite"),
                                              ({"mean": [float("inf"), 0.5, 0.5]}, "finite")])
def test_manifest_bounds(tiny_export, changes, expected):
    from edge.manifest import Manifest, read_manifest

    data = read_manifest(tiny_export / "manifest.json").to_dict()
    data.update(changes)
    if "crop_size" in changes:
        data["input_size"] = [3, changes["crop_size"], changes["crop_size"]]
    with pytest.raises(EdgeError, match=expected):
        Manifest.from_json(json.dumps(data))


def test_sidecar_manifest_that_is_not_utf8(tiny_export, tmp_path):
    from edge.runtime.backends import sidecar_manifest

    (tmp_path / "model.onnx").write_bytes(b"")
    (tmp_path / "manifest.json").write_bytes(b'{"labels": ["caf\xe9"]}')
    with pytest.raises(EdgeError, match="cannot read the manifest"):
        sidecar_manifest(tmp_path / "model.onnx")


# ---- link loops ---------------------------------------------------------------------------------

def test_glob_and_folder_with_link_loops_see_each_image_once(tiny_data):
    from edge.runtime.sources import list_images

    (tiny_data / "daisy" / "loop").symlink_to(tiny_data)
    (tiny_data / "roses" / "loop2").symlink_to(tiny_data / "roses")
    real = sorted(p for p in tiny_data.rglob("*.jpg") if "loop" not in str(p))
    done: list = []
    worker = threading.Thread(target=lambda: done.append(list_images(f"{tiny_data}/**/*.jpg")), daemon=True)
    worker.start()
    worker.join(timeout=20)
    assert done, "glob with two link loops did not finish in 20 s"
    assert len(done[0]) == len(real) and len({p.resolve() for p in done[0]}) == len(real)
    assert len({p.resolve() for p in list_images(str(tiny_data))}) == len(list_images(str(tiny_data))) == len(real)


def test_dataset_link_back_to_root_is_no_class(tiny_data):
    from edge.train.data import make_split

    (tiny_data / "loop").symlink_to(tiny_data)
    (tiny_data / "daisy" / "again").symlink_to(tiny_data / "daisy")
    split = make_split(tiny_data)
    assert split.classes == ["daisy", "roses", "tulips"]
    assert len({s.path.resolve() for s in split.train + split.val}) == len(split.train + split.val) == 18


# ---- the Python API -----------------------------------------------------------------------------

@pytest.mark.parametrize("bad,expected", [(np.zeros((0, 0, 3), np.uint8), "no pixels"),
                                          (np.zeros((32, 32, 3), np.float32), "uint8"),
                                          (np.zeros((32, 32, 4), np.uint8), "shape"),
                                          ("missing.jpg", "not found")])
def test_predict_on_bad_arrays_is_an_edge_error(tiny_export, bad, expected):
    from edge.runtime import Classifier

    with pytest.raises(EdgeError, match=expected):
        Classifier(tiny_export / "model.onnx").predict(bad)


def test_predict_batch_of_nothing_and_grey_arrays(tiny_export):
    from edge.runtime import Classifier

    clf = Classifier(tiny_export / "model.onnx")
    assert clf.predict([]) == []
    grey = np.full((40, 50), 128, np.uint8)
    assert clf.predict(grey) == clf.predict(np.dstack([grey] * 3))


@pytest.mark.parametrize("artifact", ["model.onnx", pytest.param("openvino/model.xml", marks=pytest.mark.openvino)])
def test_one_classifier_shared_by_8_threads(tiny_export, tiny_data, artifact):
    from concurrent.futures import ThreadPoolExecutor

    from edge.runtime import Classifier

    clf = Classifier(tiny_export / artifact, threads=1)
    images = sorted(tiny_data.rglob("*.jpg")) * 3
    serial = [clf.predict(p) for p in images]
    with ThreadPoolExecutor(max_workers=8) as pool:
        parallel = list(pool.map(clf.predict, images))
        batched = list(pool.map(lambda i: clf.predict(images[i : i + 3]), range(0, len(images), 3)))
    assert parallel == serial
    assert [p.top for chunk in batched for p in chunk] == [[(lbl, pytest.approx(pr, abs=1e-5)) for lbl, pr in s.top]
                                                           for s in serial]


# ---- commands -----------------------------------------------------------------------------------

def test_bench_rejects_unknown_formats(tiny_run, tmp_path):
    _one_line_error(runner.invoke(app, ["bench", str(tiny_run), "--formats", "foo", "--out", str(tmp_path / "b")]),
                    "unknown format 'foo'")


def test_corrupt_torchscript_is_one_line(tmp_path):
    from edge.export.torch_backend import TorchBackend

    (tmp_path / "model.ts").write_bytes(b"PK\x03\x04 not a zip")
    with pytest.raises(EdgeError, match="not a readable TorchScript"):
        TorchBackend.from_torchscript(tmp_path / "model.ts")


def _clip(path: Path, fps: float, frames: int = 10) -> Path:
    import cv2

    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, (96, 64))
    for i in range(frames):
        writer.write(np.full((64, 96, 3), (i * 20) % 256, np.uint8))
    writer.release()
    return path


def _video_fps_and_frames(path: Path) -> tuple[float, int]:
    import cv2

    cap = cv2.VideoCapture(str(path))
    fps, frames = cap.get(cv2.CAP_PROP_FPS), int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
    cap.release()
    return fps, frames


def test_saved_video_keeps_the_source_rate(tiny_export, tmp_path):
    clip = _clip(tmp_path / "clip.mp4", 5.0)
    out = tmp_path / "annotated.mp4"
    result = runner.invoke(infer_app, [str(tiny_export / "model.onnx"), str(clip), "--save", str(out)])
    assert result.exit_code == 0, result.output
    assert _video_fps_and_frames(out) == (pytest.approx(5.0), 10)
    _one_line_error(runner.invoke(infer_app, [str(tiny_export / "model.onnx"), str(clip), "--save", str(out)]),
                    "already exists")


def test_live_source_video_is_written_at_its_measured_rate(tmp_path):
    from edge.runtime.annotate import FrameSink
    from edge.runtime.classifier import Prediction
    from edge.runtime.sources import Frame
    from edge.runtime.timing import Summary

    sink = FrameSink(show=False, save=tmp_path / "cam.mp4")
    for i in range(12):
        sink(Frame("camera:0", i, np.zeros((48, 64, 3), np.uint8), 0.0), Prediction("c", [("a", 1.0)]), Summary())
        time.sleep(0.1)  # a camera delivering ~10 fps
    sink.close()
    fps, frames = _video_fps_and_frames(tmp_path / "cam.mp4")
    assert frames == 12 and 7 <= fps <= 11


def test_unwritable_outputs_fail_before_any_work(tiny_export, tmp_path):
    clip = _clip(tmp_path / "clip.mp4", 5.0)
    (tmp_path / "file").write_text("x")
    for flag in ("--save", "--summary-json"):
        _one_line_error(runner.invoke(infer_app, [str(tiny_export / "model.onnx"), str(clip), flag,
                                                  str(tmp_path / "file" / "out.mp4")]), "is a file")


def test_sigterm_during_save_leaves_a_playable_video(tiny_export, tmp_path):
    import signal
    import subprocess
    import sys

    clip = _clip(tmp_path / "long.mp4", 25.0, frames=3000)
    out = tmp_path / "annotated.mp4"
    code = "from edge.cli.infer import main; main()"
    proc = subprocess.Popen([sys.executable, "-c", code, str(tiny_export / "model.onnx"), str(clip), "--save",
                             str(out), "--json"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    for _ in range(40):  # wait for the first predictions
        if proc.stdout.readline():
            break
    time.sleep(0.5)
    proc.send_signal(signal.SIGTERM)
    _, stderr = proc.communicate(timeout=30)
    assert "Traceback" not in stderr.decode()
    fps, frames = _video_fps_and_frames(out)
    assert fps == pytest.approx(25.0) and 0 < frames < 3000
    assert not list(tmp_path.glob(".annotated*"))  # no half-written temp file left
