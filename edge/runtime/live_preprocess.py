"""Live frames (video, cameras, picam) to the model's crop at a fraction of the exact path's cost.

The exact path (edge.runtime.preprocess) gives a frame to Pillow whole: an antialiased resize of every
pixel, then the centre crop. On a 640x480 frame that costs more than an INT8 model's inference. This
path makes the same crop with the same filter, the way OpenCV is fast at it:

1. Only the part of the frame the crop comes from (plus the filter's reach) is touched.
2. A frame 4x or more above the resize size is first halved with `cv2.pyrDown` (a 5-tap Gaussian,
   itself an antialiasing reduce) until it is under 4x.
3. The manifest's filter, stretched by the remaining scale exactly as Pillow stretches it (and sharpened
   by what step 3's sampling loses, see `kernel`), runs as one separable convolution (`cv2.sepFilter2D`);
   the crop's pixel centres are then sampled from the result with bilinear interpolation
   (`cv2.warpAffine`), where Pillow evaluates the filter at each centre.
4. A frame within 1.5x of the resize size is cheap for Pillow itself: it resizes the crop box alone,
   which gives the exact path's pixels (a box is exactly the crop of the whole resize) but for a grey
   level of float rounding on a few pixels. A frame at the resize size is only cropped, as it is there.

On 640x480 frames made from flowers5 photos, steps 2-3 stay 0.3-0.4 grey levels from the exact pixels on
average (0.5 on frames as sharp as a camera's; at most ~12 at edges), 0.8 on 1920x1080 (the pyramid's
Gaussian). `scripts/preprocess_bench.py` measures the cost and the agreement of a real model's answers
with the exact path. Which path an artifact takes is the manifest's `frame_preprocess`.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np
from PIL import Image

from edge.errors import EdgeError
from edge.manifest import Manifest
from edge.runtime.images import check_size

PYRAMID_FROM = 4.0  # halve with pyrDown while the scale is at least this
PILLOW_BELOW = 1.5  # under this scale Pillow resizes the crop box itself (exact, and cheap there)
SHARPEN = 1 / 12  # see kernel()
_PILLOW_FILTERS = {"bilinear": Image.BILINEAR, "bicubic": Image.BICUBIC}
_SUPPORT = {"bilinear": 1.0, "bicubic": 2.0}  # Pillow's filter supports, in output pixels


def _filter(name: str, t: np.ndarray) -> np.ndarray:
    """Pillow's filters (libImaging/Resample.c): a triangle, or the cubic with a = -0.5."""
    t = np.abs(t)
    if name == "bilinear":
        return np.maximum(0.0, 1.0 - t)
    a = -0.5
    near = ((a + 2) * t - (a + 3)) * t * t + 1
    far = (((t - 5) * t + 8) * t - 4) * a
    return np.where(t < 1, near, np.where(t < 2, far, 0.0))


@functools.lru_cache(maxsize=64)  # frames of one size ask for the same few kernels every time
def kernel(name: str, scale: float) -> np.ndarray:
    """The filter stretched by `scale` (as Pillow stretches it when it shrinks), at integer offsets, with
    what bilinear sampling of its result will lose given back: at a random phase, linear interpolation
    passes a frequency w at sinc^2(w/2) = 1 - w^2/12 + ..., and [-a, 1 + 2a, -a] with a = 1/12 cancels
    that second-order loss (on sharp 640x480 frames: 0.51 grey levels from Pillow's pixels, not 0.88)."""
    reach = math.ceil(_SUPPORT[name] * scale)
    weights = np.convolve(_filter(name, np.arange(-reach, reach + 1) / scale), [-SHARPEN, 1 + 2 * SHARPEN, -SHARPEN])
    return (weights / weights.sum()).astype(np.float32)


@dataclass(frozen=True)
class CropBox:
    """Where the manifest's resize + centre crop takes its pixels from, in a frame of `size`."""

    size: tuple[int, int]  # the frame, (width, height)
    resized: tuple[int, int]  # the whole frame after the resize (torchvision's rounding)
    box: tuple[float, float, float, float]  # the crop in frame coordinates (Pillow's `box`: x0, y0, x1, y1)
    crop: tuple[int, int, int, int]  # the crop in resized coordinates (left, top, right, bottom)

    @classmethod
    def of(cls, width: int, height: int, resize: int, crop: int) -> CropBox:
        short, long = (width, height) if width <= height else (height, width)
        new_long = int(resize * long / short)  # torchvision's rounding (Preprocessor.resize_crop uses this too)
        resized = (resize, new_long) if width <= height else (new_long, resize)
        left = int(round((resized[0] - crop) / 2.0))
        top = int(round((resized[1] - crop) / 2.0))
        sx, sy = width / resized[0], height / resized[1]
        return cls((width, height), resized, (left * sx, top * sy, (left + crop) * sx, (top + crop) * sy),
                   (left, top, left + crop, top + crop))

    @property
    def scale(self) -> tuple[float, float]:
        return self.size[0] / self.resized[0], self.size[1] / self.resized[1]


def as_bgr_frame(array: np.ndarray) -> np.ndarray:
    """An OpenCV frame (uint8 BGR, or grey) as (H, W, 3) uint8; EdgeError for anything else."""
    if array.dtype != np.uint8:
        raise EdgeError(f"array of dtype {array.dtype}: pass uint8 pixels 0-255 (e.g. (x * 255).astype(np.uint8))")
    if array.ndim == 2:
        array = np.repeat(array[:, :, None], 3, axis=2)
    if array.ndim != 3 or array.shape[2] != 3:
        raise EdgeError(f"array of shape {array.shape}: pass an (H, W, 3) BGR or (H, W) grey image")
    check_size((array.shape[1], array.shape[0]), "array")
    return array


def bgr_to_image(bgr: np.ndarray) -> Image.Image:
    """(H, W, 3) BGR -> RGB PIL image, swapping the channels in Pillow's copy (no numpy copy first)."""
    return Image.frombytes("RGB", (bgr.shape[1], bgr.shape[0]), np.ascontiguousarray(bgr), "raw", "BGR")


class LiveResizer:
    """Callable: a (H, W, 3) uint8 BGR frame -> the (crop, crop, 3) uint8 BGR pixels the manifest's
    resize + centre crop gives. Frames of one size share their geometry (computed once)."""

    def __init__(self, manifest: Manifest):
        pre = manifest.preprocessing
        self.resize, self.crop, self.interpolation = pre.resize_size, pre.crop_size, pre.interpolation
        self._boxes: dict[tuple[int, int], CropBox] = {}

    def box(self, width: int, height: int) -> CropBox:
        key = (width, height)
        if key not in self._boxes:
            self._boxes[key] = CropBox.of(width, height, self.resize, self.crop)
        return self._boxes[key]

    def __call__(self, bgr: np.ndarray) -> np.ndarray:
        box = self.box(bgr.shape[1], bgr.shape[0])
        if box.resized == box.size:  # the exact path skips the resize too: the crop alone
            left, top, right, bottom = box.crop
            return bgr[top:bottom, left:right]
        if self.interpolation == "nearest":  # cheap on the whole frame; with a box Pillow picks other pixels
            left, top, right, bottom = box.crop
            return np.asarray(bgr_to_image(bgr).resize(box.resized, Image.NEAREST))[top:bottom, left:right, ::-1]
        if min(box.scale) < PILLOW_BELOW:
            return self._pillow(bgr, box)
        return self._opencv(bgr, box)

    def _pillow(self, bgr: np.ndarray, box: CropBox) -> np.ndarray:
        """Pillow on the box, cut out with the filter's reach: the exact path's pixels, for less."""
        x0, y0, x1, y1 = box.box
        sx, sy = box.scale
        reach = 2 * _SUPPORT[self.interpolation]
        a, b, c, d = _bounds(bgr, x0 - reach * max(sx, 1), y0 - reach * max(sy, 1),
                             x1 + reach * max(sx, 1), y1 + reach * max(sy, 1))
        image = bgr_to_image(bgr[b:d, a:c])
        rgb = image.resize((self.crop, self.crop), _PILLOW_FILTERS[self.interpolation],
                           box=(x0 - a, y0 - b, x1 - a, y1 - b))
        return np.asarray(rgb)[:, :, ::-1]

    def _opencv(self, bgr: np.ndarray, box: CropBox) -> np.ndarray:
        import cv2

        (x0, y0, x1, y1), (sx, sy) = box.box, box.scale
        while min(sx, sy) >= PYRAMID_FROM:  # halve: pyrDown's output pixel i is centred on input pixel 2i
            a, b, c, d = _bounds(bgr, x0 - 8, y0 - 8, x1 + 8, y1 + 8, even=True)
            bgr = cv2.pyrDown(bgr[b:d, a:c])
            x0, x1, y0, y1 = (x0 - a) / 2 + 0.25, (x1 - a) / 2 + 0.25, (y0 - b) / 2 + 0.25, (y1 - b) / 2 + 0.25
            sx, sy = sx / 2, sy / 2
        kx, ky = kernel(self.interpolation, sx), kernel(self.interpolation, sy)
        rx, ry = len(kx) // 2 + 2, len(ky) // 2 + 2
        a, b, c, d = _bounds(bgr, x0 - rx, y0 - ry, x1 + rx, y1 + ry)
        blurred = cv2.sepFilter2D(bgr[b:d, a:c], -1, kx, ky, borderType=cv2.BORDER_REPLICATE)
        # output pixel i samples the frame at x0 + (i + 0.5) * sx (pixel-centre coordinates, as Pillow)
        to_source = np.float32([[sx, 0, x0 - a + 0.5 * sx - 0.5], [0, sy, y0 - b + 0.5 * sy - 0.5]])
        return cv2.warpAffine(blurred, to_source, (self.crop, self.crop),
                              flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP, borderMode=cv2.BORDER_REPLICATE)


def _bounds(image: np.ndarray, x0: float, y0: float, x1: float, y1: float, even: bool = False):
    """Integer (left, top, right, bottom) covering the given box, clipped to the image."""
    left, top = max(0, math.floor(x0)), max(0, math.floor(y0))
    if even:  # pyrDown's grid starts on an even pixel, so the halved coordinates stay simple
        left, top = left - left % 2, top - top % 2
    return left, top, min(image.shape[1], math.ceil(x1)), min(image.shape[0], math.ceil(y1))
