"""Where images come from: files, folders, globs, videos, cameras, the Pi camera, stdin."""

from __future__ import annotations

import glob
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from edge.errors import EdgeError
from edge.runtime.capture_size import CaptureRequest
from edge.runtime.images import is_image_name
from edge.runtime.picam_streams import granted_size, picam_streams
from edge.runtime.walk import glob_files, walk_files

VIDEO_SUFFIXES = {".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg"}
LIVE_KINDS = ("video", "camera", "picamera")  # the kinds of classify_spec read frame by frame (the live loop)


@dataclass
class Frame:
    source: str  # what the user sees: file path, or video/camera name
    index: int  # frame number (0 for still images)
    bgr: np.ndarray  # the decoded frame, OpenCV channel order
    decode_ms: float
    to_classify: np.ndarray | None = None  # a smaller copy of the same view to classify (picam's lores); None: bgr
    outputs: list[np.ndarray] | None = None  # the network's outputs, computed on an AI Camera's sensor; None: on the CPU


def classify_spec(spec: str) -> str:
    """'images' | 'video' | 'camera' | 'picamera' | 'stdin' for a SOURCE argument."""
    if spec == "-":
        return "stdin"
    if spec in ("picam", "picamera"):
        return "picamera"
    # /dev/v4l/by-id/...: the name a USB camera keeps when it is plugged in again (its /dev/videoN may change)
    if spec.isdigit() or spec.startswith(("/dev/video", "/dev/v4l/")) or "://" in spec:
        return "camera"
    if Path(spec).suffix.lower() in VIDEO_SUFFIXES and Path(spec).is_file():
        return "video"
    return "images"


def list_images(spec: str) -> list[Path]:
    """A file, a folder (recursive) or a glob pattern -> sorted image paths."""
    return find_images(spec)[0]


def find_images(spec: str) -> tuple[list[Path], list[Path]]:
    """(image paths, files a folder holds that are left out for their extension); a named file or a
    glob's match is always tried, whatever its name."""
    path = Path(spec)
    if path.is_file():
        return [path], []
    if path.is_dir():
        files = list(walk_files(path))
        return [p for p in files if is_image_name(p)], [p for p in files if not is_image_name(p)]
    if any(ch in spec for ch in "*?["):
        return glob_files(spec), []
    raise EdgeError(f"{spec}: no such file, folder, video or camera; pass an image, folder, glob, video or camera index")


def read_stdin() -> bytes:
    data = sys.stdin.buffer.read()
    if not data:
        raise EdgeError("stdin: no image bytes received; pipe an image in, e.g. `cat photo.jpg | edge-infer MODEL -`")
    return data


def video_frames(path: str, stride: int = 1) -> Iterator[Frame]:
    """Every `stride`-th frame of a video file, in order (files are read, never dropped)."""
    import cv2

    capture = cv2.VideoCapture(path)
    if not capture.isOpened():
        raise EdgeError(f"{path}: OpenCV cannot open this video; check the file or install a codec")
    index = 0
    try:
        while True:
            start = time.perf_counter()
            ok, frame = capture.read()
            if not ok:
                return
            if index % stride == 0:
                yield Frame(path, index, frame, (time.perf_counter() - start) * 1000)
            index += 1
    finally:
        capture.release()


def video_fps(path: str) -> float | None:
    """The frame rate a video file declares, or None when it declares none."""
    import cv2

    capture = cv2.VideoCapture(path)
    try:
        fps = capture.get(cv2.CAP_PROP_FPS) if capture.isOpened() else 0.0
    finally:
        capture.release()
    return fps if fps and 0 < fps < 1000 else None


def open_capture(spec: str):
    import cv2

    quiet_opencv()
    return cv2.VideoCapture(int(spec) if spec.isdigit() else spec)


class LatestFrameCamera:
    """Grab frames on a thread and keep only the newest: the model never sees stale frames,
    and a slow model makes the stream skip frames instead of falling further behind."""

    def __init__(self, spec: str, opener: Callable[[str], object] = open_capture, reopen_attempts: int = 3):
        self.spec, self.opener, self.reopen_attempts = spec, opener, reopen_attempts
        self.capture = self._open()
        self._frame: np.ndarray | None = None
        self._grabbed = 0
        self._failed = False
        self._cond = threading.Condition()
        self._stop = False
        self._thread = threading.Thread(target=self._grab_loop, daemon=True)
        self._thread.start()

    def _open(self):
        capture = self.opener(self.spec)
        if not capture.isOpened():
            found = ", ".join(list_cameras()) or "none"
            raise EdgeError(f"camera {self.spec}: cannot open it; cameras found: {found} (see --list-cameras)")
        return capture

    def _grab_loop(self) -> None:
        failures = 0
        while not self._stop:
            ok, frame = self.capture.read()
            if ok:
                failures = 0
                with self._cond:
                    self._frame, self._grabbed = frame, self._grabbed + 1
                    self._cond.notify_all()
                continue
            failures += 1
            if failures > self.reopen_attempts or not self._reopen():
                with self._cond:
                    self._failed = True
                    self._cond.notify_all()
                return

    def _reopen(self) -> bool:
        self.capture.release()
        time.sleep(0.2)
        self.capture = self.opener(self.spec)
        return self.capture.isOpened()

    def frames(self, limit: int | None = None) -> Iterator[Frame]:
        seen, count = 0, 0
        while limit is None or count < limit:
            start = time.perf_counter()
            with self._cond:
                self._cond.wait_for(lambda: self._grabbed > seen or self._failed, timeout=5.0)  # noqa: B023
                if self._grabbed == seen:
                    if self._failed:
                        raise EdgeError(f"camera {self.spec}: stopped delivering frames after "
                                        f"{self.reopen_attempts} reopen attempts; check the cable or device")
                    raise EdgeError(f"camera {self.spec}: no frame for 5 s; is another program using it?")
                frame, seen = self._frame, self._grabbed
            yield Frame(f"camera:{self.spec}", seen - 1, frame, (time.perf_counter() - start) * 1000)
            count += 1

    def close(self) -> None:
        self._stop = True
        self._thread.join(timeout=2)
        if not self._thread.is_alive():  # a read still blocked (a hung stream) keeps its capture until collected
            self.capture.release()


# picamera2 comes from apt (it needs the system's libcamera), so a venv sees it only when made with
# --system-site-packages, as the Raspberry Pi documentation for Picamera2 says.
PICAMERA_MISSING = ("picam: picamera2 is not importable from this Python; on Raspberry Pi OS: sudo apt install -y "
                    "python3-picamera2, then use a venv made with `python3 -m venv --system-site-packages` "
                    "(a venv made without it cannot see apt packages: make it again, or `make install-runtime "
                    "SYSTEM_SITE=1`), and install edge there with pip install 'edge-classifier[pi]'")


def picamera_frames(limit: int | None = None, capture: CaptureRequest | None = None,
                    report: Callable[[str], None] | None = None) -> Iterator[Frame]:
    """The Raspberry Pi camera through picamera2 (libcamera), newest frame each time. `capture`: the model's
    size and whether a view is kept, so the ISP scales for the model (edge.runtime.picam_streams); None:
    one 640x480 stream. `report`: told what libcamera was asked for and granted, at each opening."""
    try:
        from picamera2 import Picamera2
    except ImportError:
        raise EdgeError(PICAMERA_MISSING) from None
    camera = Picamera2()
    try:
        streams = picam_streams(capture)
        camera.configure(camera.create_preview_configuration(**streams.configuration()))
        granted = camera.camera_configuration() or {}
        if report is not None and capture is not None:
            report(streams.line(granted))
        streams = granted_size(streams, granted)
        camera.start()
        index = 0
        while limit is None or index < limit:
            start = time.perf_counter()
            frame, small = streams.read(camera)
            yield Frame("picam", index, frame, (time.perf_counter() - start) * 1000, to_classify=small)
            index += 1
    finally:
        camera.close()  # stops it too, and frees the camera for the next Picamera2 (edge.runtime.reopen)


def quiet_opencv() -> None:
    """OpenCV prints a WARN line for every device it cannot open; our own message says it once."""
    import cv2

    cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_ERROR)


def list_cameras(max_index: int = 8) -> list[str]:
    """Video devices OpenCV can open: /dev/video* on Linux, else indices 0..max_index-1."""
    import cv2

    quiet_opencv()
    devices = sorted(glob.glob("/dev/video*"))
    candidates = devices or [str(i) for i in range(max_index)]
    found = []
    for spec in candidates:
        capture = cv2.VideoCapture(int(spec) if spec.isdigit() else spec)
        if capture.isOpened():
            found.append(spec)
        capture.release()
    return found
