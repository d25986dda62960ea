"""A run folder without training: real photos, a split.json and an oof.json with made-up predictions."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np

from tests.conftest import CLASSES, make_dataset


def plant(data: Path, moves: int = 1) -> list[str]:
    """Move the first `moves` photos of each class into the next class's folder; their new paths."""
    chosen = {name: sorted((data / name).glob("*.jpg"))[:moves] for name in CLASSES}  # before any move
    planted = []
    for c, name in enumerate(CLASSES):
        wrong = CLASSES[(c + 1) % len(CLASSES)]
        for p in chosen[name]:
            shutil.move(p, data / wrong / p.name)
            planted.append(f"{wrong}/{p.name}")
    return planted


def fake_run(root: Path, n_per_class: int = 8, moves: int = 1, seed: int = 0) -> tuple[Path, list[str]]:
    """A run whose out-of-fold predictions know the truth: planted photos get their true class."""
    data = make_dataset(root / "data", n_per_class)
    truth = {p.name: c for c, name in enumerate(CLASSES) for p in (data / name).glob("*.jpg")}  # names are unique
    planted = plant(data, moves)
    rng = np.random.default_rng(seed)
    rows, split_rows = [], []
    for c, name in enumerate(CLASSES):
        for p in sorted((data / name).glob("*.jpg")):
            rel = f"{name}/{p.name}"
            true = truth[p.name]
            logits = rng.normal(0, 0.5, len(CLASSES))
            logits[true] += 3.0
            probs = np.exp(logits) / np.exp(logits).sum()
            rows.append({"path": rel, "label": c, "probs": [round(float(x), 6) for x in probs],
                         "score": round(float(0.8 - 0.3 * (rel in planted) + rng.normal(0, 0.02)), 6)})
            split_rows.append([rel, c])
    run = root / "run"
    run.mkdir()
    (run / "config.json").write_text("{}")
    split = {"root": str(data), "seed": 0, "val_fraction": 0.2, "classes": list(CLASSES), "train": split_rows,
             "val": [], "skipped": []}
    (run / "split.json").write_text(json.dumps(split))
    oof = {"schema": 1, "method": "nested 5-fold CV", "root": str(data), "classes": list(CLASSES), "temperature": 1.0,
           "unknown_score": "cosine_to_class_mean", "unknown_threshold": 0.7, "photos": rows}
    (run / "oof.json").write_text(json.dumps(oof))
    return run, planted
