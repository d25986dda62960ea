"""Preprocessing: how a photo becomes a model input. One type, held by the manifest, read by train and runtime.

Like timm's `PretrainedCfg` (input size, interpolation, crop, mean, std with a comment each) and
torchvision's `Weights.transforms`: the zoo's entries carry it, a run's manifest holds it
(`manifest.preprocessing`), training's transforms and the torch-free runtime read the same object.
Plain data, torch-free (core layer).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from edge.errors import EdgeError

INTERPOLATIONS = ("nearest", "bilinear", "bicubic")
MIN_SIZE, MAX_SIZE = 8, 2048  # pixels: a resize_size of 60000 needed 18 GB per image
# How photos are decoded before the resize. "full": every pixel (what a manifest without the field
# means). "draft": a JPEG decodes at the smallest 1/2, 1/4 or 1/8 DCT scale that leaves the shorter
# side at least resize_size (edge.runtime.images.load_rgb); the zoo's entries, so new runs, say it.
DECODES = ("full", "draft")
NEW_RUN_DECODE = "draft"
# How live frames (video, cameras, picam) are resized. "exact": the photo path, Pillow on the whole frame
# (what a manifest without the field means). "live": the same filter on the crop alone with OpenCV,
# within a grey level of it on average (edge.runtime.live_preprocess); new runs write it. Photos and
# training always take the exact path.
FRAME_PREPROCESSES = ("exact", "live")
NEW_RUN_FRAME_PREPROCESS = "live"


@dataclass(frozen=True)
class Preprocessing:
    resize_size: int  # the shorter image side is resized to this before the crop
    crop_size: int  # square center crop taken after the resize: the model's input side
    interpolation: str  # resize filter: nearest | bilinear | bicubic (antialiased, as PIL does)
    mean: tuple[float, float, float]  # per channel, RGB, on 0..1 pixels
    std: tuple[float, float, float]
    decode: str = "full"  # one of DECODES; train, export and runtime all decode as it says
    frame_preprocess: str = "exact"  # one of FRAME_PREPROCESSES: the path video and camera frames take

    @property
    def decode_side(self) -> int | None:
        """`load_rgb(path, pre.decode_side)`: the shorter side a draft decode must keep (None: decode fully)."""
        return self.resize_size if self.decode == "draft" else None

    def at_size(self, crop_size: int) -> Preprocessing:
        """Same recipe for another input size, keeping the resize/crop ratio."""
        resize = int(round(crop_size * self.resize_size / self.crop_size))
        return replace(self, resize_size=resize, crop_size=crop_size)

    def validate(self, source: str = "manifest") -> None:
        if self.interpolation not in INTERPOLATIONS:
            raise EdgeError(f"{source}: manifest field 'interpolation' must be one of {INTERPOLATIONS}")
        if self.frame_preprocess not in FRAME_PREPROCESSES:
            raise EdgeError(f"{source}: manifest field 'frame_preprocess' must be one of {FRAME_PREPROCESSES}; "
                            "upgrade edge or re-export")
        if self.decode not in DECODES:
            raise EdgeError(f"{source}: manifest field 'decode' must be one of {DECODES}; upgrade edge or re-export")
        if not all(math.isfinite(v) for v in (*self.mean, *self.std)):
            raise EdgeError(f"{source}: manifest fields 'mean'/'std' must be finite numbers")
        if any(s <= 0 for s in self.std):
            raise EdgeError(f"{source}: manifest field 'std' must be positive")
        if not MIN_SIZE <= self.crop_size <= self.resize_size <= MAX_SIZE:
            raise EdgeError(f"{source}: manifest fields 'crop_size'/'resize_size' must lie in {MIN_SIZE}..{MAX_SIZE}")
