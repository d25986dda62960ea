"""Images for checking and calibrating exports, preprocessed exactly as the runtime does."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np

from edge.errors import EdgeError
from edge.manifest import Manifest
from edge.runtime.images import is_image_name, load_rgb
from edge.runtime.preprocess import Preprocessor
from edge.train.data import Sample, Split


def preprocess_all(paths: list[Path], manifest: Manifest) -> np.ndarray:
    pre = Preprocessor(manifest)
    return np.stack([pre(load_rgb(p)) for p in paths]).astype(np.float32)


def load_split(run_dir: Path, data_override: Path | None) -> Split:
    path = run_dir / "split.json"
    if not path.is_file():
        raise EdgeError(f"{run_dir}: no split.json; export a run folder written by `edge train`")
    split = Split.load(path, data_override)
    missing = [s.path for s in split.val[:1] + split.train[:1] if not s.path.is_file()]
    if missing:
        raise EdgeError(f"{missing[0]}: training data moved; pass --data DIR pointing at the dataset folder")
    return split


def balanced_calibration(samples: list[Sample], limit: int, seed: int = 0) -> list[Path]:
    """Up to `limit` training images, the same number from every class (round-robin)."""
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


def folder_images(folder: Path, limit: int) -> list[Path]:
    paths = sorted(p for p in folder.rglob("*") if p.is_file() and is_image_name(p))
    if not paths:
        raise EdgeError(f"{folder}: no images found for calibration; pass --data with some photos")
    return paths[:: max(1, len(paths) // limit)][:limit]
