"""A stand-in for picamera2 on a Raspberry Pi AI Camera, for tests only (we have no AI Camera).

Put this folder on PYTHONPATH and EDGE_FAKE_IMX500 at a tensor fixture (tests/runtime/data/imx500_tensors.json):
each frame's metadata then carries the output tensor the exported network's quantized ONNX gave for one
real photo, as libcamera hands the sensor's output to picamera2 ("CnnOutputTensor", a flat float list).
The first frame has none, as while the camera is still loading the network. What the code under test
does with the camera (in order) is appended to EDGE_FAKE_IMX500_LOG, one JSON object a line.
"""

from __future__ import annotations

import json
import os

import numpy as np

FRAME = (480, 640, 3)


def record(event: str, **details) -> None:
    path = os.environ.get("EDGE_FAKE_IMX500_LOG")
    if path:
        with open(path, "a", encoding="utf-8") as log:
            log.write(json.dumps({"event": event, **details}) + "\n")


def tensors() -> list[dict]:
    with open(os.environ["EDGE_FAKE_IMX500"], encoding="utf-8") as f:
        return json.load(f)["photos"]


class FakeRequest:
    def __init__(self, entry: dict | None):
        self.entry = entry

    def get_metadata(self) -> dict:
        if self.entry is None:  # the network is still uploading: no output tensor yet
            return {"SensorTimestamp": 0}
        outputs = [np.asarray(self.entry["logits"], np.float32), np.asarray([self.entry["score"]], np.float32)]
        return {"CnnOutputTensor": [float(v) for o in outputs for v in o.ravel()],
                "FakeOutputShapes": [list(o.shape) for o in outputs]}

    def make_array(self, stream: str) -> np.ndarray:
        return np.zeros(FRAME, np.uint8)

    def release(self) -> None:
        pass


class Picamera2:
    @staticmethod
    def global_camera_info() -> list[dict]:
        return [{"Model": "imx500", "Num": 0, "Id": "/base/axi/pcie@120000/rp1/i2c@88000/imx500@1a"}]

    def __init__(self, camera_num: int = 0):
        record("Picamera2", camera_num=camera_num)
        self.photos, self.next = tensors(), 0

    def create_preview_configuration(self, main=None, **kwargs) -> dict:
        return {"main": main, **kwargs}

    def configure(self, config: dict) -> None:
        record("configure", main=config.get("main"))

    def start(self) -> None:
        record("start")

    def capture_request(self) -> FakeRequest:
        entry = None if self.next == 0 else self.photos[(self.next - 1) % len(self.photos)]  # then round again
        self.next += 1
        return FakeRequest(entry)

    def close(self) -> None:
        record("close")
