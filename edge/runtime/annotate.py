"""Draw the prediction and FPS on frames; show them in a window or write an annotated video."""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np

from edge.errors import EdgeError
from edge.runtime.classifier import Prediction
from edge.runtime.sources import Frame
from edge.runtime.timing import Summary

RATE_PROBE_FRAMES = 30  # a live source: frames buffered to measure the rate the video is written at
RATE_PROBE_SECONDS = 2.0


class FrameSink:
    """`fps` is the source's rate (a video file's own, divided by the stride); None for a live
    source, whose rate is measured on the first frames, so the saved video plays in real time.
    The video is written to a temp file and renamed into place on close: a killed run leaves
    either no file or a complete, playable one."""

    def __init__(self, show: bool, save: Path | None, fps: float | None = None):
        self.show, self.save, self.fps = show, save, fps
        self.writer = None
        self.pending: list[tuple[float, np.ndarray]] = []
        self.part = save.with_name(f".{save.stem}.part{save.suffix}") if save is not None else None

    def __call__(self, frame: Frame, prediction: Prediction, summary: Summary) -> None:
        image = draw(frame.bgr, prediction, summary.classified / max(summary.seconds, 1e-9))
        if self.save is not None:
            self._write(image)
        if self.show:
            self._display(image)

    def _write(self, image: np.ndarray) -> None:
        if self.writer is None and self.fps is None:  # live source: buffer until its rate is known
            self.pending.append((time.perf_counter(), image))
            elapsed = self.pending[-1][0] - self.pending[0][0]
            if len(self.pending) >= RATE_PROBE_FRAMES or elapsed >= RATE_PROBE_SECONDS:
                self._flush_pending()
            return
        if self.writer is None:
            self._open(image.shape)
        self.writer.write(image)

    def _flush_pending(self) -> None:
        self.fps = measured_rate([t for t, _ in self.pending])
        self._open(self.pending[0][1].shape)
        for _, image in self.pending:
            self.writer.write(image)
        self.pending = []

    def _open(self, shape: tuple[int, ...]) -> None:
        import cv2

        height, width = shape[:2]
        self.writer = cv2.VideoWriter(str(self.part), cv2.VideoWriter_fourcc(*"mp4v"), float(self.fps), (width, height))
        if not self.writer.isOpened():
            raise EdgeError(f"{self.save}: cannot write video here; choose another --save path (.mp4)")

    def _display(self, image) -> None:
        import cv2

        try:
            cv2.imshow("edge", image)
            if cv2.waitKey(1) & 0xFF in (ord("q"), 27):
                raise KeyboardInterrupt
        except cv2.error:
            raise EdgeError("--show needs a desktop OpenCV: pip install opencv-python (the headless build has no "
                            "windows); or use --save OUT.mp4") from None

    def close(self) -> None:
        if self.pending:  # a short live run: its rate from the frames it had
            self._flush_pending()
        if self.writer is not None:
            self.writer.release()
            self.writer = None
            os.replace(self.part, self.save)
        if self.show:
            import cv2

            try:
                cv2.destroyAllWindows()
            except cv2.error:
                pass


def measured_rate(times: list[float], fallback: float = 10.0) -> float:
    if len(times) < 2 or times[-1] <= times[0]:
        return fallback
    return (len(times) - 1) / (times[-1] - times[0])


def draw(bgr: np.ndarray, prediction: Prediction, fps: float) -> np.ndarray:
    import cv2

    image = bgr.copy()
    label, prob = prediction.top[0]
    first = "unknown" if prediction.unknown else f"{label} {prob:.0%}"
    for y, text in ((28, first), (56, f"{fps:.1f} FPS")):
        cv2.putText(image, text, (10, y), cv2.FONT_HERSHEY_SIMPLEX, 0.8, (0, 0, 0), 4, cv2.LINE_AA)
        cv2.putText(image, text, (10, y), cv2.FONT_HERSHEY_SIMPLEX, 0.8, (255, 255, 255), 2, cv2.LINE_AA)
    return image
