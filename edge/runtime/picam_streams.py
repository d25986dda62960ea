"""What `picam` asks libcamera for, and how its frames come back as (view, frame to classify).

Without a request (or for a model that needs the whole view) it is what picam always was: one 640x480
RGB888 stream ("main"), classified as it is. With a CaptureRequest the ISP scales in hardware:
- a view kept (--show, --save, --serve, --record): main stays 640x480 RGB888 for people, and a second
  stream ("lores", YUV420, the only format Pi 4's ISP gives it) at the 4:3 size whose shorter side is
  the model's resize size (342x256 for 256: the model's resize is then a no-op, only the crop is left)
  is what the model classifies;
- no view: main itself is that small size, in RGB888, and `raw` keeps 640x480, so libcamera picks the
  same sensor mode (the same field of view) as the 640x480 stream would.
RGB888 in picamera2 is B, G, R in memory: already OpenCV's order.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from edge.runtime.capture_size import VIEW_SIZE, CaptureRequest, size_text, smallest_size


@dataclass(frozen=True)
class PicamStreams:
    main: dict  # picamera2's main stream: {"format", "size"}
    lores: dict | None = None  # the low-resolution stream the model classifies; None: classify main
    raw: dict | None = None  # the raw stream's size: pins libcamera's sensor mode; None: picamera2's default

    def configuration(self) -> dict:
        """Keyword arguments for Picamera2.create_preview_configuration."""
        extra = {"lores": self.lores} if self.lores else {}
        return {"main": self.main, **extra, **({"raw": self.raw} if self.raw else {})}

    def read(self, camera) -> tuple[np.ndarray, np.ndarray | None]:
        """(view, to_classify) from the next request: both streams of one request when there are two."""
        if self.lores is None:
            return camera.capture_array("main"), None
        (main, lores), _ = camera.capture_arrays(["main", "lores"])
        return main, yuv420_to_bgr(lores, *self.lores["size"])

    def line(self, granted: dict) -> str:
        """What was asked for and what libcamera granted (picamera2 writes the granted sizes back)."""
        streams = [("main", self.main)] + ([("lores", self.lores)] if self.lores else [])
        parts = []
        for name, asked in streams:
            got = tuple((granted.get(name) or {}).get("size") or asked["size"])
            said = f"{name} {size_text(asked['size'])} {asked['format']}"
            parts.append(said + ("" if got == tuple(asked["size"]) else f" (granted {size_text(got)})"))
        classify = "lores" if self.lores else "main"
        return f"picam: asked libcamera for {', '.join(parts)}; the model classifies {classify}"


def picam_streams(request: CaptureRequest | None) -> PicamStreams:
    view = {"format": "RGB888", "size": VIEW_SIZE if request is None else request.view_size}
    if request is None:
        return PicamStreams(view)
    small = smallest_size(view["size"], request.min_side)
    if small[0] >= view["size"][0] or small[1] >= view["size"][1]:  # the model needs the whole view
        return PicamStreams(view)
    if request.view:
        return PicamStreams(view, lores={"format": "YUV420", "size": small})
    return PicamStreams({"format": "RGB888", "size": small}, raw={"size": view["size"]})


def granted_size(streams: PicamStreams, granted: dict) -> PicamStreams:
    """The streams with the lores size libcamera granted (it may align what was asked)."""
    got = (granted.get("lores") or {}).get("size")
    if streams.lores is None or not got:
        return streams
    return PicamStreams(streams.main, {**streams.lores, "size": tuple(got)}, streams.raw)


def yuv420_to_bgr(yuv: np.ndarray, width: int, height: int) -> np.ndarray:
    """picamera2's YUV420 array ((height * 3/2, stride): Y rows, then the U and V planes) -> BGR.

    Preview configurations are sYCC, full-range BT.601 (picamera2's default for them); OpenCV's own
    YUV420 conversions assume video range (Y 16-235), so this converts as JPEG does, through YCrCb."""
    import cv2

    stride = yuv.shape[1]
    y = yuv[:height, :width]
    chroma = yuv[height:height + height // 2].reshape(2, height // 2, stride // 2)  # U plane, then V plane
    u, v = (cv2.resize(np.ascontiguousarray(c[:, :width // 2]), (width, height), interpolation=cv2.INTER_LINEAR)
            for c in chroma)
    return cv2.cvtColor(cv2.merge([np.ascontiguousarray(y), v, u]), cv2.COLOR_YCrCb2BGR)
