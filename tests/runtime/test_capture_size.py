"""The camera asked for the model's size: picam's streams (a fake picamera2 that records its configuration and
hands back frames in picamera2's layouts), OpenCV cameras (a fake capture and a fake list of sizes), V4L2."""

from __future__ import annotations

import struct
import sys
import time
import types

import cv2
import numpy as np
import pytest

from edge.manifest import SCHEMA_VERSION, Manifest
from edge.preprocessing import Preprocessing
from edge.runtime import sources
from edge.runtime.camera_size import camera_opener, choose_size
from edge.runtime.capture_size import CaptureRequest, capture_request, smallest_size
from edge.runtime.options import InferOptions
from edge.runtime.picam_streams import yuv420_to_bgr
from edge.runtime.v4l2 import VIDIOC_ENUM_FRAMESIZES, frame_sizes

MAIN = np.full((480, 640, 3), (0, 0, 200), np.uint8)  # the view: red (BGR)
SMALL = np.full((256, 342, 3), (200, 0, 0), np.uint8)  # what the ISP scales for the model: blue, to tell them apart


def to_yuv420(bgr: np.ndarray, stride: int) -> np.ndarray:
    """BGR -> picamera2's YUV420 array in sYCC (full range), rows padded to `stride` as libcamera may."""
    h, w = bgr.shape[:2]
    ycrcb = cv2.cvtColor(bgr, cv2.COLOR_BGR2YCrCb)
    out = np.zeros((h * 3 // 2, stride), np.uint8)
    out[:h, :w] = ycrcb[:, :, 0]
    planes = out[h:].reshape(2, h // 2, stride // 2)
    planes[0][:, :w // 2] = cv2.resize(ycrcb[:, :, 2], (w // 2, h // 2), interpolation=cv2.INTER_AREA)  # U = Cb
    planes[1][:, :w // 2] = cv2.resize(ycrcb[:, :, 1], (w // 2, h // 2), interpolation=cv2.INTER_AREA)  # V = Cr
    return out


class FakePicamera2:
    """Records what it is asked; grants sizes as told (libcamera may align them); frames in picamera2's layouts."""

    log: list = []
    grant: dict = {}

    def __init__(self):
        self.config = None

    def create_preview_configuration(self, main=None, lores=None, raw=None, **kwargs):
        FakePicamera2.log.append({"main": main, "lores": lores, "raw": raw})
        return {"main": dict(main), "lores": dict(lores) if lores else None, "raw": raw}

    def configure(self, config):
        for name, size in FakePicamera2.grant.items():
            config[name]["size"] = size
        self.config = config

    def camera_configuration(self):
        return self.config

    def start(self):
        pass

    def _array(self, name):
        time.sleep(0.02)  # a camera's pace: --save's video writer takes its frame rate from the first frames
        size = self.config[name]["size"]
        if self.config[name]["format"] == "YUV420":
            return to_yuv420(cv2.resize(SMALL, size), stride=(size[0] + 63) // 64 * 64)
        return (MAIN if tuple(size) == (640, 480) else cv2.resize(SMALL, size)).copy()

    def capture_array(self, name="main"):
        return self._array(name)

    def capture_arrays(self, names):
        return [self._array(n) for n in names], {}

    def close(self):
        pass


@pytest.fixture
def picamera2(monkeypatch):
    FakePicamera2.log, FakePicamera2.grant = [], {}
    monkeypatch.setitem(sys.modules, "picamera2", types.SimpleNamespace(Picamera2=FakePicamera2))
    return FakePicamera2


def test_sizes_keep_the_aspect_and_reach_the_resize():
    assert smallest_size((640, 480), 256) == (342, 256)  # 341.3 up to even: a shorter side of exactly 256
    assert smallest_size((640, 480), 224) == (300, 224)
    assert smallest_size((1280, 720), 256) == (456, 256)
    assert smallest_size((480, 640), 256) == (256, 342)


@pytest.mark.parametrize("flag,value", [("show", True), ("save", "x.mp4"), ("serve", "8080"), ("record", "clips")])
def test_a_view_is_kept_for_show_save_serve_and_record(flag, value):
    m = Manifest(SCHEMA_VERSION, "x", ("a",), (3, 224, 224), Preprocessing(256, 224, "bicubic", (0.5,) * 3, (0.5,) * 3),
                 "RGB", "NCHW", "int8", {}, {}, "")
    assert capture_request(InferOptions(source="picam"), m) == CaptureRequest(256, view=False)
    assert capture_request(InferOptions(source="picam", **{flag: value}), m) == CaptureRequest(256, view=True)


def test_picam_without_a_request_is_the_640x480_stream_it_always_was(picamera2):
    frame = next(sources.picamera_frames(1))
    assert picamera2.log == [{"main": {"format": "RGB888", "size": (640, 480)}, "lores": None, "raw": None}]
    assert frame.bgr.shape == (480, 640, 3) and frame.to_classify is None


def test_picam_with_a_view_classifies_a_lores_stream_at_the_models_size(picamera2):
    lines = []
    frame = next(sources.picamera_frames(1, CaptureRequest(256, view=True), lines.append))
    assert picamera2.log == [{"main": {"format": "RGB888", "size": (640, 480)},
                              "lores": {"format": "YUV420", "size": (342, 256)}, "raw": None}]
    assert frame.bgr.shape == (480, 640, 3) and tuple(frame.bgr[0, 0]) == (0, 0, 200)  # the view, for people
    assert frame.to_classify.shape == (256, 342, 3)  # lores, converted from sYCC: the blue it was
    assert np.abs(frame.to_classify.astype(int) - SMALL[0, 0]).max() <= 2
    assert lines == ["picam: asked libcamera for main 640x480 RGB888, lores 342x256 YUV420; the model classifies lores"]


def test_picam_without_a_view_asks_for_the_small_size_alone(picamera2):
    frame = next(sources.picamera_frames(1, CaptureRequest(256, view=False), lambda _: None))
    # raw stays 640x480: libcamera picks the sensor mode (the field of view) the 640x480 stream had
    assert picamera2.log == [{"main": {"format": "RGB888", "size": (342, 256)}, "lores": None, "raw": {"size": (640, 480)}}]
    assert frame.bgr.shape == (256, 342, 3) and frame.to_classify is None


def test_picam_reads_lores_at_the_size_libcamera_granted(picamera2):
    picamera2.grant = {"lores": (352, 256)}
    lines = []
    frame = next(sources.picamera_frames(1, CaptureRequest(256, view=True), lines.append))
    assert frame.to_classify.shape == (256, 352, 3)
    assert "lores 342x256 YUV420 (granted 352x256)" in lines[0]


def test_a_model_bigger_than_the_view_classifies_the_view(picamera2):
    next(sources.picamera_frames(1, CaptureRequest(512, view=False)))
    assert picamera2.log[0]["main"]["size"] == (640, 480) and picamera2.log[0]["lores"] is None


def test_yuv420_full_range_comes_back_as_the_colours_it_was():
    rng = np.random.default_rng(0)
    smooth = cv2.resize(rng.integers(0, 255, (6, 8, 3), dtype=np.uint8), (342, 256), interpolation=cv2.INTER_CUBIC)
    back = yuv420_to_bgr(to_yuv420(smooth, stride=384), 342, 256)
    assert np.abs(back.astype(int) - smooth).mean() < 2  # chroma at half resolution, rounding: nothing more
    video_range = cv2.cvtColor(np.ascontiguousarray(to_yuv420(smooth, 342)), cv2.COLOR_YUV2BGR_I420)
    assert np.abs(video_range.astype(int) - smooth).mean() > 5  # what OpenCV's own YUV420 conversion would give


class FakeCapture:
    """An OpenCV capture of a camera opened at 640x480 that grants what is set (or `grants`)."""

    def __init__(self, grants=None):
        self.size, self.grants, self.sets = [640, 480], grants, []

    def isOpened(self):
        return True

    def get(self, prop):
        if prop == cv2.CAP_PROP_FOURCC:
            return float(struct.unpack("<I", b"YUYV")[0])
        return float(self.size[0] if prop == cv2.CAP_PROP_FRAME_WIDTH else self.size[1])

    def set(self, prop, value):
        self.sets.append((prop, value))
        index = 0 if prop == cv2.CAP_PROP_FRAME_WIDTH else 1
        self.size[index] = int(value) if self.grants is None else self.grants[index]
        return True


OFFERED = [(640, 480), (160, 120), (320, 240), (352, 288), (424, 240), (1280, 720), (960, 540), (800, 600)]


def test_the_smallest_offered_size_that_fits_in_the_opened_aspect():
    assert choose_size(OFFERED, (640, 480), 224) == (320, 240)
    assert choose_size(OFFERED + [(342, 256)], (640, 480), 256) == (342, 256)
    assert choose_size(OFFERED, (1280, 720), 256) == (960, 540)
    assert choose_size(OFFERED, (640, 480), 256) is None  # no smaller 4:3 size fits; 352x288 would squeeze the view
    assert choose_size([(352, 288), (1280, 720)], (640, 480), 256) == (352, 288)  # another aspect only when no 4:3 fits
    assert choose_size([(160, 120), (640, 480)], (640, 480), 256) is None  # nothing smaller fits: keep it


def test_an_opencv_camera_is_asked_for_the_size_and_says_what_it_granted():
    captures, lines = [], []

    def opener(spec):
        captures.append(FakeCapture())
        return captures[-1]

    open_sized = camera_opener("0", CaptureRequest(224, view=False), opener, lambda *a: OFFERED, lines.append)
    open_sized("0"), open_sized("0")  # opened, then reopened after a loss: asked both times, said once
    assert [c.size for c in captures] == [[320, 240], [320, 240]]
    assert len(lines) == 1 and "asked for 320x240" in lines[0] and "granted 320x240" in lines[0]


def test_a_driver_that_grants_less_than_the_model_needs_is_put_back():
    capture, lines = FakeCapture(grants=(176, 144)), []
    camera_opener("0", CaptureRequest(224, view=False), lambda s: capture, lambda *a: OFFERED, lines.append)("0")
    assert "granted 176x144; back to" in lines[0]


def test_a_view_or_a_stream_keeps_the_cameras_size():
    assert camera_opener("0", CaptureRequest(224, view=True), sources.open_capture) is sources.open_capture
    capture, lines = FakeCapture(), []
    camera_opener("rtsp://cam/live", CaptureRequest(224, view=False), lambda s: capture, lambda *a: OFFERED,
                  lines.append)("rtsp://cam/live")
    assert capture.sets == [] and "kept 640x480" in lines[0]


def test_v4l2_frame_sizes_are_read_from_the_driver(tmp_path):
    device = tmp_path / "video0"
    device.write_bytes(b"")
    answers = [(1, 640, 480), (1, 320, 240)]

    def ioctl(fd, request, arg):
        index, fourcc, *_ = struct.unpack("=11I", arg)
        assert request == VIDIOC_ENUM_FRAMESIZES == 0xC02C564A and fourcc == 0x56595559  # YUYV
        if index >= len(answers):
            raise OSError(22, "Invalid argument")
        kind, w, h = answers[index]
        return struct.pack("=11I", index, fourcc, kind, w, h, *[0] * 6)

    assert frame_sizes(str(device), 0x56595559, (344, 258), ioctl) == [(640, 480), (320, 240)]

    def stepwise(fd, request, arg):
        return struct.pack("=11I", 0, 0, 3, 160, 1920, 16, 120, 1080, 8, 0, 0)

    assert frame_sizes(str(device), 0, (344, 258), stepwise) == [(352, 264), (1920, 1080)]
    assert frame_sizes(str(tmp_path / "missing"), 0, (344, 258)) == []


def color_model(tmp_path):
    """A model that answers the frame's dominant colour (tests/runtime/color_model.py) at a 72/64 manifest."""
    from tests.runtime.color_model import write_color_model

    m = Manifest(SCHEMA_VERSION, "color", ("red", "green", "blue"), (3, 64, 64),
                 Preprocessing(72, 64, "bilinear", (0.5,) * 3, (0.5,) * 3, frame_preprocess="live"), "RGB", "NCHW",
                 "fp32", {}, {}, "")
    (tmp_path / "export").mkdir()
    (tmp_path / "export" / "manifest.json").write_text(m.to_json())
    return write_color_model(tmp_path / "export", tmp_path / "model")


@pytest.mark.parametrize("save,classified,config", [
    (False, "blue", {"main": {"format": "RGB888", "size": (96, 72)}, "lores": None, "raw": {"size": (640, 480)}}),
    (True, "blue", {"main": {"format": "RGB888", "size": (640, 480)}, "lores": {"format": "YUV420", "size": (96, 72)},
                    "raw": None})])
def test_edge_infer_on_picam_classifies_the_stream_made_for_the_model(picamera2, tmp_path, capsys, save, classified,
                                                                       config):
    """The view (red, 640x480) is what --save writes; the model sees the small stream (blue) in both cases."""
    import json

    from edge.runtime.infer import run_infer

    model, lines = color_model(tmp_path), []
    opts = InferOptions(artifact=model, source="picam", max_frames=3, json_lines=True,
                        save=tmp_path / "view.mp4" if save else None)
    run_infer(opts, artifact=model, threads=1, report=lines.append)
    assert picamera2.log == [config]
    out = capsys.readouterr()
    assert [json.loads(line)["label"] for line in out.out.splitlines()] == [classified] * 3
    assert "picam: asked libcamera for main " in out.err  # what it asked for and was granted, on stderr
    if save:
        capture = cv2.VideoCapture(str(tmp_path / "view.mp4"))
        ok, first = capture.read()
        assert ok and first.shape == (480, 640, 3) and first[240, 320, 2] > 150  # the red view was kept
