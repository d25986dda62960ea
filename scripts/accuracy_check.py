"""Accuracy check: 5-fold cross-validation of the whole `edge train` + `edge export`, as a user runs them.

Each fold trains on the other folds' photos only (a fresh folder of links), exports ONNX, and
classifies its own held-out photos with the torch-free runtime, so every photo is tested exactly
once by a model that never saw it. The estimate `edge train` printed from its training photos
alone is compared with the fold's tested accuracy.

    python scripts/accuracy_check.py ../shared/data/flowers5 --out benchmarks/accuracy_check/flowers5.json
    python scripts/accuracy_check.py ../shared/data/flowers5 --classes daisy dandelion --train-per-class 60 \
        --out benchmarks/accuracy_check/daisy_dandelion.json
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from edge.atomic import write_json
from edge.estimate import wilson_interval
from edge.runtime import Classifier
from edge.runtime.images import is_image_name
from edge.train.crossval import stratified_folds

EDGE = [sys.executable, "-m", "edge.cli.main"]


def photos(root: Path, classes: list[str] | None) -> tuple[list[Path], np.ndarray, list[str]]:
    names = classes or sorted(p.name for p in root.iterdir() if p.is_dir())
    paths, labels = [], []
    for label, name in enumerate(names):
        found = sorted(p for p in (root / name).iterdir() if is_image_name(p))
        paths += found
        labels += [label] * len(found)
    return paths, np.array(labels), names


def link_folder(dest: Path, paths: list[Path], labels: np.ndarray, names: list[str]) -> Path:
    for path, label in zip(paths, labels):
        (dest / names[label]).mkdir(parents=True, exist_ok=True)
        (dest / names[label] / path.name).symlink_to(path.resolve())
    return dest


def run_fold(work: Path, train: tuple, test: tuple, names: list[str], extra: list[str]) -> dict:
    data = link_folder(work / "data", *train, names)
    start = time.perf_counter()
    subprocess.run([*EDGE, "train", str(data), "--out", str(work / "run"), *extra], check=True,
                   stdout=subprocess.DEVNULL)
    train_seconds = time.perf_counter() - start
    subprocess.run([*EDGE, "export", str(work / "run"), "--out", str(work / "export"), "--format", "onnx"],
                   check=True, stdout=subprocess.DEVNULL)
    metrics = json.loads((work / "run" / "metrics.json").read_text())
    clf = Classifier(work / "export" / "model.onnx")
    predicted = [clf.labels.index(clf.predict(p, k=1)[0][0]) for p in test[0]]
    correct = int(sum(int(p == names.index(clf.labels[y])) for p, y in zip(predicted, test[1])))
    tested = correct / len(test[0])
    low, high = metrics["estimated_accuracy_ci95"]
    return {"train_photos": len(train[0]), "test_photos": len(test[0]), "tested_accuracy": round(tested, 4),
            "test_correct": correct, "estimate": metrics["estimated_accuracy"], "estimate_ci95": [low, high],
            "estimate_within_3_points": abs(metrics["estimated_accuracy"] - tested) <= 0.03,
            "ci_covers_tested": low <= tested <= high, "head_setting": metrics.get("head_setting"),
            "train_seconds": round(train_seconds, 1)}


def summarise(folds: list[dict], args) -> dict:
    correct = sum(f["test_correct"] for f in folds)
    total = sum(f["test_photos"] for f in folds)
    low, high = wilson_interval(correct, total)
    accs = [f["tested_accuracy"] for f in folds]
    return {"data": str(args.data), "classes": args.classes, "train_args": args.train_args,
            "pooled_tested_accuracy": round(correct / total, 4), "pooled_ci95": [round(low, 4), round(high, 4)],
            "photos_tested": total, "fold_accuracy_min": min(accs), "fold_accuracy_max": max(accs),
            "fold_accuracy_std": round(float(np.std(accs)), 4),
            "folds_estimate_within_3_points": sum(f["estimate_within_3_points"] for f in folds),
            "folds_ci_covers": sum(f["ci_covers_tested"] for f in folds), "folds": folds,
            "created": time.strftime("%Y-%m-%d %H:%M")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", type=Path)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--classes", nargs="*", default=None)
    parser.add_argument("--train-per-class", type=int, default=None,
                        help="one split instead of CV: this many photos per class train, the rest test")
    parser.add_argument("--train-args", nargs=argparse.REMAINDER, default=[], help="passed on to edge train")
    args = parser.parse_args()
    paths, labels, names = photos(args.data, args.classes)
    if args.train_per_class:
        train_idx = np.concatenate([np.flatnonzero(labels == c)[: args.train_per_class] for c in range(len(names))])
        splits = [np.setdiff1d(np.arange(len(paths)), train_idx)]
    else:
        splits = stratified_folds(labels, args.folds, seed=12345)
    folds = []
    for i, test_idx in enumerate(splits):
        train_idx = np.setdiff1d(np.arange(len(paths)), test_idx)
        with tempfile.TemporaryDirectory() as tmp:
            pick = lambda idx: ([paths[j] for j in idx], labels[idx])  # noqa: E731
            fold = run_fold(Path(tmp), pick(train_idx), pick(test_idx), names, args.train_args)
        folds.append({"fold": i, **fold})
        print(json.dumps(folds[-1]), flush=True)
    result = summarise(folds, args)
    write_json(args.out, result)
    print(f"pooled tested accuracy {result['pooled_tested_accuracy']:.4f} on {result['photos_tested']} photos; "
          f"estimate within 3 points on {result['folds_estimate_within_3_points']}/{len(folds)} folds, "
          f"CI covers on {result['folds_ci_covers']}/{len(folds)}")


if __name__ == "__main__":
    main()
