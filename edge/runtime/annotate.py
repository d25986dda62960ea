"""Draw the prediction and FPS on frames; show them in a window or write an annotated video."""

from __future__ import annotations

from pathlib import Path

from edge.errors import EdgeError
from edge.runtime.classifier import Prediction
from edge.runtime.sources import Frame
from edge.runtime.stats import Summary


class FrameSink:
    def __init__(self, show: bool, save: Path | None, fps: float = 30.0):
        self.show, self.save, self.fps = show, save, fps
        self.writer = None

    def __call__(self, frame: Frame, prediction: Prediction, summary: Summary) -> None:
        import cv2

        image = frame.bgr.copy()
        label, prob = prediction.top[0]
        fps = summary.classified / max(summary.seconds, 1e-9)
        for y, text in ((28, f"{label} {prob:.0%}"), (56, f"{fps:.1f} FPS")):
            cv2.putText(image, text, (10, y), cv2.FONT_HERSHEY_SIMPLEX, 0.8, (0, 0, 0), 4, cv2.LINE_AA)
            cv2.putText(image, text, (10, y), cv2.FONT_HERSHEY_SIMPLEX, 0.8, (255, 255, 255), 2, cv2.LINE_AA)
        if self.save is not None:
            self._write(image)
        if self.show:
            self._display(image)

    def _write(self, image) -> None:
        import cv2

        if self.writer is None:
            height, width = image.shape[:2]
            self.save.parent.mkdir(parents=True, exist_ok=True)
            self.writer = cv2.VideoWriter(str(self.save), cv2.VideoWriter_fourcc(*"mp4v"), self.fps, (width, height))
            if not self.writer.isOpened():
                raise EdgeError(f"{self.save}: cannot write video here; choose another --save path (.mp4)")
        self.writer.write(image)

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
        if self.writer is not None:
            self.writer.release()
        if self.show:
            import cv2

            try:
                cv2.destroyAllWindows()
            except cv2.error:
                pass
