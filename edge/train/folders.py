"""`edge train DATA MORE...`: class folders of several data folders merged by name, in place.

A reviewed `collected/` folder (edge-infer --collect, sorted into class folders) joins the training
set without copying: split.json keeps each folder under `sources`, and the photos of every folder
but the first by their absolute path, so `edge review` can say where each photo came from.
"""

from __future__ import annotations

import os
from pathlib import Path

from edge.errors import EdgeError
from edge.train.data import Split, check_classes, scan_class_folder, stratified_split


def merged_split(roots: list[str | Path], val_fraction: float, seed: int, unknown_as_class: bool = False) -> Split:
    """One split over the union of the folders' classes (a class may come from any of them)."""
    roots = [Path(os.path.abspath(r)) for r in roots]
    skipped: list[str] = []
    left_out: list[str] = []
    found: dict[str, list[Path]] = {}
    for root in roots:
        if not root.is_dir():
            raise EdgeError(f"{root}: data folder not found; pass folders with one sub-folder per class")
        if (root / "train").is_dir() and (root / "val").is_dir():
            raise EdgeError(f"{root}: a train/ + val/ layout cannot be merged with other folders; pass class folders")
        for name, paths in scan_class_folder(root, skipped, left_out, unknown_as_class).items():
            found.setdefault(name, []).extend(paths)
    if len({r.resolve() for r in roots}) < len(roots):
        raise EdgeError("the same data folder was given twice; pass each folder once")
    check_classes(found, roots[0])
    train, val = stratified_split(found, val_fraction, seed)
    split = Split(sorted(found), train, val, roots[0], seed, val_fraction, skipped, left_out=left_out)
    split.sources = [str(r.resolve()) for r in roots]
    return split
