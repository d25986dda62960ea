"""The manifest's preprocessing in Pillow + numpy, pixel-for-pixel what training used.

Training's validation transform is torchvision's Resize + CenterCrop + ToTensor + Normalize on
PIL images; torchvision's Resize on a PIL image *is* `Image.resize` with the same filter, so
doing the same steps here gives the same pixels without torch.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

from edge.manifest import Manifest
from edge.runtime.images import load_rgb
from edge.runtime.live_preprocess import CropBox, LiveResizer, as_bgr_frame, bgr_to_image

_FILTERS = {"nearest": Image.NEAREST, "bilinear": Image.BILINEAR, "bicubic": Image.BICUBIC}


class Preprocessor:
    """Callable turning an RGB PIL image into one model input (C,H,W or H,W,C float32)."""

    def __init__(self, manifest: Manifest):
        pre = manifest.preprocessing
        self.resize_size = pre.resize_size
        self.crop_size = pre.crop_size
        self.filter = _FILTERS[pre.interpolation]
        self.decode_side = pre.decode_side  # None: decode fully; else a JPEG's draft keeps this short side
        order = [2, 1, 0] if manifest.channel_order == "BGR" else [0, 1, 2]
        self.order = order
        self.nchw = manifest.layout == "NCHW"
        # Fold /255, mean and std into one multiply-add: x * scale + shift.
        std = np.asarray(pre.std, dtype=np.float32)[order]
        shape = (3, 1, 1) if self.nchw else (1, 1, 3)
        self.scale = (1.0 / (255.0 * std)).astype(np.float32).reshape(shape)
        self.shift = (-np.asarray(pre.mean, dtype=np.float32)[order] / std).astype(np.float32).reshape(shape)
        # Video and camera frames: the manifest's frame path (edge.runtime.live_preprocess); photos never take it.
        self.live = LiveResizer(manifest) if manifest.preprocessing.frame_preprocess == "live" else None

    def load(self, source, name: str | None = None) -> Image.Image:
        """Decode a file or bytes as the manifest says (the same decode training saw)."""
        return load_rgb(source, min_side=self.decode_side, name=name)

    def resize_crop(self, img: Image.Image) -> Image.Image:
        box = CropBox.of(*img.size, self.resize_size, self.crop_size)  # torchvision's rounding, as the live path
        if box.resized != img.size:
            img = img.resize(box.resized, self.filter)
        return img.crop(box.crop)

    def __call__(self, img: Image.Image) -> np.ndarray:
        return self.normalise(np.asarray(self.resize_crop(img)))  # (H, W, 3) uint8

    def frame(self, bgr: np.ndarray) -> np.ndarray:
        """A decoded video or camera frame (OpenCV's uint8 BGR, or grey) -> one model input, by the
        manifest's `frame_preprocess`: "live" resizes the crop alone with OpenCV, "exact" as a photo."""
        bgr = as_bgr_frame(bgr)
        if self.live is None:
            return self(bgr_to_image(bgr))
        return self.normalise(self.live(bgr), bgr=True)

    def normalise(self, pixels: np.ndarray, bgr: bool = False) -> np.ndarray:
        """(H, W, 3) uint8 pixels, RGB (or BGR) -> the model input in its channel order and layout."""
        if (self.order != [0, 1, 2]) != bgr:  # the manifest's channel order differs from the pixels'
            pixels = pixels[..., ::-1]
        if self.nchw:
            pixels = pixels.transpose(2, 0, 1)  # a view: the float pass below writes NCHW directly
        out = np.empty(pixels.shape, dtype=np.float32)
        np.multiply(pixels, self.scale, out=out)  # one pass uint8 -> float32, 5x faster than astype+copy
        out += self.shift
        return out
