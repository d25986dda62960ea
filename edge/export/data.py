"""Images for checking and calibrating exports, preprocessed exactly as the runtime does."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np

from edge.errors import EdgeError
from edge.manifest import Manifest
from edge.runtime.images import is_image_name, load_rgb
from edge.runtime.preprocess import Preprocessor


def preprocess_all(paths: list[Path], manifest: Manifest) -> np.ndarray:
    pre = Preprocessor(manifest)
    return np.stack([pre(load_rgb(p)) for p in paths]).astype(np.float32)


def balanced_calibration(samples: list, limit: int, seed: int = 0) -> list[Path]:
    """Up to `limit` training images (anything with .path and .label), the same number per class."""
    by_class: dict[int, list[Path]] = {}
    for s in samples:
        by_class.setdefault(s.label, []).append(s.path)
    rng = random.Random(seed)
    for paths in by_class.values():
        rng.shuffle(paths)
    picked: list[Path] = []
    queues = [list(v) for _, v in sorted(by_class.items())]
    while len(picked) < limit and any(queues):
        for queue in queues:
            if queue and len(picked) < limit:
                picked.append(queue.pop())
    return picked


def synthetic_images(count: int, seed: int = 0) -> list:
    """Pictures of nothing: noise, flat colours and gradients (in turn), as RGB PIL images."""
    from PIL import Image

    rng = np.random.default_rng(seed)
    images = []
    for i in range(count):
        if i % 3 == 0:
            pixels = rng.integers(0, 256, (240, 320, 3), dtype=np.uint8)
        elif i % 3 == 1:
            pixels = np.full((240, 320, 3), rng.integers(0, 256, 3), dtype=np.uint8)
        else:
            a, b = rng.integers(0, 256, 3), rng.integers(0, 256, 3)
            pixels = (a + (b - a) * np.linspace(0, 1, 320)[None, :, None] * np.ones((240, 1, 1))).astype(np.uint8)
        images.append(Image.fromarray(pixels))
    return images


def synthetic_unknowns(manifest: Manifest, count: int = 24, seed: int = 0) -> np.ndarray:
    """Inputs that are none of the classes, preprocessed like photos: the unknown decision is
    checked on them as well as on the labelled photos."""
    pre = Preprocessor(manifest)
    return np.stack([pre(image) for image in synthetic_images(count, seed)]).astype(np.float32)


def folder_images(folder: Path, limit: int) -> list[Path]:
    paths = sorted(p for p in folder.rglob("*") if p.is_file() and is_image_name(p))
    if not paths:
        raise EdgeError(f"{folder}: no images found for calibration; pass --data with some photos")
    return paths[:: max(1, len(paths) // limit)][:limit]
