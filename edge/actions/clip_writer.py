"""One event clip being written: frames into a hidden temp MP4, published with its sidecar when done."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from edge.actions.clip_files import publish, temp_path
from edge.errors import EdgeError


class ClipWriter:
    def __init__(self, path: Path, fps: float, size: tuple[int, int]):
        """`size`: (width, height) of every frame; `fps`: the rate the clip plays at."""
        import cv2

        self.path, self.fps, self.size, self.frames = path, fps, size, 0
        self.temp = temp_path(path.parent, ".mp4")
        self.writer = cv2.VideoWriter(str(self.temp), cv2.VideoWriter_fourcc(*"mp4v"), float(fps), size)
        if not self.writer.isOpened():
            self.temp.unlink(missing_ok=True)
            raise EdgeError(f"--record {path.parent}: OpenCV cannot write an MP4 there; check the disk, or choose another DIR")

    def write(self, image: np.ndarray) -> None:
        if (image.shape[1], image.shape[0]) != self.size:  # a camera that came back at another resolution
            import cv2

            image = cv2.resize(image, self.size, interpolation=cv2.INTER_AREA)
        self.writer.write(image)
        self.frames += 1

    def finish(self, sidecar: dict) -> Path:
        """Close the video, then put the sidecar and the clip in place (each whole, by rename)."""
        self.writer.release()
        publish(self.temp, self.path, {**sidecar, "frames": self.frames, "fps": round(self.fps, 3)})
        return self.path

    def abandon(self) -> None:
        self.writer.release()
        self.temp.unlink(missing_ok=True)


@dataclass
class Recording:
    """A clip being written, with what its sidecar tells: the changes in it, its first and last frame."""

    writer: ClipWriter
    end: float  # frame time at which it ends
    changes: list  # the Change events recorded in it, the one that started it first
    start: float = 0.0  # frame time its pre-roll starts at (the first change's time - --pre)
    walls: list[float] = field(default_factory=list)  # time.time() of the first and the last frame
    indices: list[int | None] = field(default_factory=list)  # frame number of the first and the last frame

    def add(self, image: np.ndarray, wall: float, index: int | None) -> None:
        self.writer.write(image)
        self.walls = [self.walls[0] if self.walls else wall, wall]
        self.indices = [self.indices[0] if self.indices else index, index]
