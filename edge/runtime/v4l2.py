"""The frame sizes a Linux (V4L2) camera offers for a pixel format: VIDIOC_ENUM_FRAMESIZES, by ioctl.

OpenCV can set a capture size but cannot list the sizes a camera offers, and a driver asked for a size
it lacks answers with the nearest one it has (UVC: nearest by area, which may be smaller than asked).
So the sizes are read from the driver first (what `v4l2-ctl --list-framesizes` prints), without
needing v4l-utils installed.
"""

from __future__ import annotations

import os
import struct
from pathlib import Path

# struct v4l2_frmsizeenum: index, pixel_format, type, then a union (discrete: width, height; stepwise:
# min/max/step width, min/max/step height) and two reserved words: 11 __u32, 44 bytes.
_FRMSIZE = struct.Struct("=11I")
VIDIOC_ENUM_FRAMESIZES = (3 << 30) | (_FRMSIZE.size << 16) | (ord("V") << 8) | 74  # _IOWR('V', 74, ...)
DISCRETE, CONTINUOUS, STEPWISE = 1, 2, 3  # V4L2_FRMSIZE_TYPE_*
MAX_SIZES = 64


def device_path(spec: str) -> str | None:
    """The /dev node OpenCV opens for a camera SOURCE (an index is /dev/videoN); None for a stream URL."""
    if spec.isdigit():
        return f"/dev/video{spec}"
    return spec if spec.startswith(("/dev/video", "/dev/v4l/")) else None


def fourcc_code(text: str) -> int:
    return struct.unpack("<I", text.encode("ascii")[:4].ljust(4))[0]


def frame_sizes(device: str, fourcc: int, want: tuple[int, int], ioctl=None) -> list[tuple[int, int]]:
    """The sizes the camera offers for `fourcc`: every discrete size; for a stepwise or continuous range,
    `want` put on its grid (rounded up) and the largest. [] when the device cannot be asked (not V4L2,
    not Linux, no such node)."""
    if not Path(device).exists():
        return []
    if ioctl is None:
        import fcntl

        ioctl = fcntl.ioctl
    try:
        fd = os.open(device, os.O_RDWR | os.O_NONBLOCK)
    except OSError:
        return []
    sizes: list[tuple[int, int]] = []
    try:
        for index in range(MAX_SIZES):
            try:
                answer = ioctl(fd, VIDIOC_ENUM_FRAMESIZES, _FRMSIZE.pack(index, fourcc, *[0] * 9))
            except OSError:  # EINVAL: past the last size (or the format is not offered)
                break
            values = _FRMSIZE.unpack(answer)
            if values[2] == DISCRETE:
                sizes.append((values[3], values[4]))
            elif values[2] in (CONTINUOUS, STEPWISE):
                width, height = (values[3], values[4], values[5]), (values[6], values[7], values[8])
                return [(_on_grid(want[0], *width), _on_grid(want[1], *height)), (width[1], height[1])]
            else:
                break
    finally:
        os.close(fd)
    return sizes


def _on_grid(value: int, low: int, high: int, step: int) -> int:
    step = max(1, step)
    return min(high, max(low, low + -(-(value - low) // step) * step))
