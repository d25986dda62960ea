"""An OpenCV camera asked for the smallest size it offers that the model's resize still fits in.

OpenCV opens a V4L2 camera at 640x480 (or what the driver keeps); a model that resizes to 256 needs
only 342x256 of it. So, unless a view is kept (edge.runtime.capture_size), the camera's own sizes are
listed (edge.runtime.v4l2), the smallest one whose shorter side is at least the resize size is asked for,
preferring the aspect ratio it opened with (another aspect is often another crop of the sensor), and
what it granted is said once. A stream URL, or a camera whose sizes cannot be listed, keeps its size.
"""

from __future__ import annotations

from collections.abc import Callable

from edge.runtime.capture_size import CaptureRequest, size_text, smallest_size
from edge.runtime.report import report_stderr
from edge.runtime.sources import open_capture
from edge.runtime.v4l2 import device_path, frame_sizes

Size = tuple[int, int]


def choose_size(offered: list[Size], opened: Size, min_side: int) -> Size | None:
    """The smallest offered size with a shorter side of at least `min_side`, in the aspect of `opened` when
    one is; None when none is smaller than `opened` (keep it)."""
    fits = sorted({s for s in offered if min(s) >= min_side}, key=lambda s: (s[0] * s[1], s))
    same = [s for s in fits if abs(s[0] * opened[1] - s[1] * opened[0]) <= 0.01 * s[1] * opened[0]]
    best = (same or fits or [None])[0]
    return best if best is not None and best[0] * best[1] < opened[0] * opened[1] else None


def ask_size(capture, spec: str, min_side: int, sizes=frame_sizes) -> str:
    """Set the capture to the chosen size; one line saying what was asked for and what the camera granted."""
    import cv2

    def size() -> Size:
        return int(capture.get(cv2.CAP_PROP_FRAME_WIDTH)), int(capture.get(cv2.CAP_PROP_FRAME_HEIGHT))

    opened, device = size(), device_path(spec)
    offered = sizes(device, int(capture.get(cv2.CAP_PROP_FOURCC)), smallest_size(opened, min_side)) if device else []
    if not offered:
        return f"camera {spec}: kept {size_text(opened)}: the sizes it offers cannot be listed (not a V4L2 camera)"
    choice = choose_size(offered, opened, min_side)
    if choice is None:
        return (f"camera {spec}: kept {size_text(opened)}: none of its {len(offered)} sizes is smaller with a shorter "
                f"side of at least {min_side}")
    capture.set(cv2.CAP_PROP_FRAME_WIDTH, choice[0])
    capture.set(cv2.CAP_PROP_FRAME_HEIGHT, choice[1])
    granted = size()
    if min(granted) < min_side:  # the driver gave a smaller size than asked: the model would upscale it
        capture.set(cv2.CAP_PROP_FRAME_WIDTH, opened[0])
        capture.set(cv2.CAP_PROP_FRAME_HEIGHT, opened[1])
        return f"camera {spec}: asked for {size_text(choice)}, granted {size_text(granted)}; back to {size_text(size())}"
    return (f"camera {spec}: asked for {size_text(choice)}, the smallest of its {len(offered)} sizes with a shorter "
            f"side of at least {min_side} (the model's resize; opened at {size_text(opened)}); granted {size_text(granted)}")


def camera_opener(spec: str, request: CaptureRequest | None, opener=open_capture, sizes=frame_sizes,
                  report: Callable[[str], None] = report_stderr) -> Callable[[str], object]:
    """An `opener` for sources.LatestFrameCamera: `opener` itself when a view is kept (or no request), else
    one that also asks for the model's size at every (re)opening and says what was granted the first time."""
    if request is None or request.view:
        return opener
    said: list[str] = []

    def open_sized(name: str):
        capture = opener(name)
        if capture.isOpened():
            line = ask_size(capture, name, request.min_side, sizes)
            if not said:
                said.append(line)
                report(line)
        return capture

    return open_sized
