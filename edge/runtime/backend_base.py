"""The interface every inference backend implements (each imports its library only in load())."""

from __future__ import annotations

from pathlib import Path

import numpy as np


class Backend:
    name = "base"
    library = ""  # the Python package load() imports: checked before an export folder offers the artifact
    extra = ""  # the pip extra that installs it

    def __init__(self, path: str | Path, threads: int | None = None, precision: str | None = None,
                 spin_wait: bool = True):
        self.path = Path(path)
        self.threads = threads
        self.precision = precision  # OpenVINO inference precision hint ("f32" keeps FP32 exact)
        # ONNX Runtime's worker threads busy-wait between runs: the lowest latency when the model
        # has the CPU to itself, but stolen time when decode threads need the cores (folders).
        self.spin_wait = spin_wait

    def load(self) -> Backend:
        raise NotImplementedError

    def run(self, batch: np.ndarray) -> np.ndarray:
        """(N, ...) float32 inputs -> (N, classes) float32 logits."""
        return self.run_all(batch)[0]

    def run_all(self, batch: np.ndarray) -> list[np.ndarray]:
        """Every output: logits first, then (when the model has it) the unknown score (N,)."""
        raise NotImplementedError

    def output_count(self) -> int:
        raise NotImplementedError

    def embedded_manifest(self) -> str | None:
        """The manifest JSON stored inside the artifact, if any."""
        return None


def missing_library(backend: type[Backend] | Backend) -> str:
    """What to install for a backend whose library is absent (one clause, for an error or a note)."""
    how = f"pip install 'edge-classifier[{backend.extra}]'" if backend.extra else f"pip install {backend.library}"
    return f"{backend.name} models need the {backend.library} package: {how}"
