"""The fake picamera2's IMX500 helper: what edge uses of picamera2.devices.IMX500, nothing more."""

from __future__ import annotations

import os

import numpy as np

from picamera2 import record


class IMX500:
    def __init__(self, network_file: str, camera_id: str = ""):
        if not os.path.isfile(network_file):
            raise RuntimeError(f"Firmware file {network_file} does not exist.")  # as picamera2's IMX500 says
        record("IMX500", network_file=network_file)

    @property
    def camera_num(self) -> int:
        return 0

    def show_network_fw_progress_bar(self) -> None:
        pass

    def set_inference_roi_abs(self, roi: tuple) -> None:
        record("roi", roi=list(roi))

    def get_outputs(self, metadata: dict, add_batch: bool = False):
        """As picamera2's: the flat float tensor cut into the network's outputs (shapes from the metadata)."""
        flat = metadata.get("CnnOutputTensor")
        if not flat:
            return None
        values, outputs, offset = np.fromiter(flat, dtype=np.float32), [], 0
        for shape in metadata["FakeOutputShapes"]:
            size = int(np.prod(shape))
            tensor = values[offset : offset + size].reshape(shape, order="F")
            outputs.append(np.expand_dims(tensor, 0) if add_batch else tensor)
            offset += size
        return outputs
