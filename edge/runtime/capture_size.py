"""What size a live camera is asked for: frames just big enough for the model, unless a view needs more.

The model resizes every frame's shorter side to the manifest's `resize_size` (256 for efficientnet_lite0)
and keeps a centre crop of it. A camera that already delivers that size spares the CPU the resize: the
Pi camera's ISP scales in hardware (a second, low-resolution stream: edge.runtime.picam_streams), and a
USB camera sends fewer pixels (edge.runtime.camera_size). A view (--show, --save, --serve, --record)
keeps the camera's own size, since people look at it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

VIEW_SIZE = (640, 480)  # picam's main stream, what `picam` has always delivered


@dataclass(frozen=True)
class CaptureRequest:
    """Plain data handed from the command's options and the manifest to the camera openers."""

    min_side: int  # the shorter side the model's resize needs (the manifest's resize_size)
    view: bool  # a view is shown or kept (--show, --save, --serve, --record): keep the camera's size for it
    view_size: tuple[int, int] = VIEW_SIZE  # picam's main stream when a view is kept


def needs_view(opts) -> bool:
    """--show, --save, --serve and --record show or keep the frames people look at."""
    return bool(opts.show or opts.save is not None or opts.serve is not None or opts.record is not None)


def capture_request(opts, manifest) -> CaptureRequest:
    """The request for a run of edge-infer (`opts`: InferOptions) with this model."""
    return CaptureRequest(min_side=manifest.preprocessing.resize_size, view=needs_view(opts))


def smallest_size(aspect: tuple[int, int], min_side: int) -> tuple[int, int]:
    """The smallest even (width, height) with the aspect ratio of `aspect` (within a pixel) and a shorter side
    of `min_side`: 640x480 and 256 -> 342x256. A shorter side of exactly the resize size makes the model's
    resize a no-op: the frame is only cropped."""
    w, h = aspect
    short = min_side + min_side % 2
    long = math.ceil(short * max(w, h) / min(w, h) / 2) * 2
    return (long, short) if w >= h else (short, long)


def size_text(size) -> str:
    """(640, 480) -> "640x480"."""
    return f"{size[0]}x{size[1]}"
