"""Throughput timing measures inference, not a backend's first call at a new shape."""

from __future__ import annotations

import time

import numpy as np

from edge.runtime.timing import images_per_second


def test_images_per_second_warms_the_last_smaller_batch():
    compiled = set()

    def run(batch: np.ndarray) -> None:  # as OpenVINO's backend: each new input shape compiles once
        if batch.shape not in compiled:
            compiled.add(batch.shape)
            time.sleep(0.5)

    rate = images_per_second(run, np.zeros((120, 3), np.float32), 32)
    assert compiled == {(32, 3), (24, 3)}
    assert rate > 1000  # timing the 24-image batch's compile would hold it under 120 / 0.5 = 240 img/s
