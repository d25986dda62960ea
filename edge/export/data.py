"""Images for checking and calibrating exports, preprocessed exactly as the runtime does."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np

from edge.errors import EdgeError
from edge.manifest import Manifest
from edge.runtime.images import is_image_name
from edge.runtime.preprocess import Preprocessor


def preprocess_all(paths: list[Path], manifest: Manifest) -> np.ndarray:
    pre = Preprocessor(manifest)
    return np.stack([pre(pre.load(p)) for p in paths]).astype(np.float32)  # decoded as the runtime will


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


def readable_images(folder: Path, report) -> list[Path]:
    """Every decodable image under `folder`, sorted; unreadable files are counted and named, not fatal
    (as `edge train` skips them)."""
    from edge.runtime.images import load_rgb
    from edge.runtime.walk import walk_files

    paths, skipped = [], []
    for path in sorted(p for p in walk_files(folder) if is_image_name(p)):
        try:
            load_rgb(path, min_side=1)  # every byte decoded, at the cheapest JPEG scale
            paths.append(path)
        except EdgeError as exc:
            skipped.append(str(exc).split(";")[0])
    if skipped:
        report(f"skipped {len(skipped)} unreadable file(s) in {folder}: {skipped[0]}" + (" ..." if len(skipped) > 1 else ""))
    if not paths:
        raise EdgeError(f"{folder}: no readable images found to check and calibrate on; pass --data with some photos")
    return paths


def split_check_calibration(paths: list[Path], calibration_size: int, check_size: int) -> tuple[list[Path], list[Path]]:
    """(check, calibration) from one folder, disjoint: no photo that calibrates INT8 also checks it."""
    step = max(1, len(paths) // max(calibration_size, 1)) if calibration_size else len(paths) + 1
    calibration = paths[::step][:calibration_size] if calibration_size else []
    taken = set(calibration)
    rest = [p for p in paths if p not in taken] or paths  # a tiny folder: check on what there is
    return rest[:: max(1, len(rest) // check_size)][:check_size], calibration
