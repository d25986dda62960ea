"""Accuracy check: 5-fold cross-validation of the whole `edge train` + `edge export`, as a user runs them.

Each fold trains on the other folds' photos only (a fresh folder of links), exports ONNX, and
classifies its own held-out photos with the torch-free runtime, so every photo is tested exactly
once by a model that never saw it. The estimate `edge train` printed from its training photos
alone is compared with the fold's tested accuracy.

A 120-photo fold is a noisy yardstick (one photo is 0.83 points), so the result also says how often
an estimate that knew the true accuracy exactly, up to the binomial noise of its own 480 photos,
would pass the same per-fold checks (`unbiased_reference`), and `--repeats` runs the whole check
on further fold partitions to measure the bias and the spread of estimate minus tested accuracy.

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
    predicted = [clf.labels.index(clf.predict(p, k=1).top[0][0]) for p in test[0]]
    correct = int(sum(int(p == names.index(clf.labels[y])) for p, y in zip(predicted, test[1])))
    tested = correct / len(test[0])
    low, high = metrics["estimated_accuracy_ci95"]
    return {"train_photos": len(train[0]), "test_photos": len(test[0]), "tested_accuracy": round(tested, 4),
            "test_correct": correct, "estimate": metrics["estimated_accuracy"], "estimate_ci95": [low, high],
            "estimate_within_3_points": abs(metrics["estimated_accuracy"] - tested) <= 0.03,
            "ci_covers_tested": low <= tested <= high, "head_setting": metrics.get("head_setting"),
            "train_seconds": round(train_seconds, 1)}


def unbiased_reference(accuracy: float, train: int, test: int, folds: int, draws: int = 100_000) -> dict:
    """The per-fold checks' pass rates for an ideal estimate: right on average, off only by the
    binomial noise of its `train` photos, compared with a binomial `test`-photo fold."""
    rng = np.random.default_rng(0)
    estimate = rng.binomial(train, accuracy, draws) / train
    tested = rng.binomial(test, accuracy, draws) / test
    low, high = (np.array(b) for b in zip(*(wilson_interval(int(round(e * train)), train) for e in estimate[:20_000])))
    within = np.abs(estimate - tested) <= 0.03
    covers = (low <= tested[:20_000]) & (tested[:20_000] <= high)
    per_set = lambda hits: hits[: len(hits) // folds * folds].reshape(-1, folds).sum(1)  # noqa: E731
    return {"accuracy": round(accuracy, 4), "train_photos": train, "test_photos": test,
            "fold_within_3_points": round(float(within.mean()), 3), "fold_ci_covers": round(float(covers.mean()), 3),
            f"all_{folds}_within_3_points": round(float((per_set(within) == folds).mean()), 3),
            f"at_least_{folds - 1}_of_{folds}_covered": round(float((per_set(covers) >= folds - 1).mean()), 3)}


def agreement(folds: list[dict]) -> dict:
    """How the printed estimates met the tested accuracies, over every fold run."""
    diff = np.array([f["estimate"] - f["tested_accuracy"] for f in folds])
    return {"folds": len(folds), "mean_estimate_minus_tested": round(float(diff.mean()), 4),
            "sd_estimate_minus_tested": round(float(diff.std(ddof=1)), 4) if len(diff) > 1 else None,
            "share_within_3_points": round(float(np.mean([f["estimate_within_3_points"] for f in folds])), 3),
            "share_ci_covers": round(float(np.mean([f["ci_covers_tested"] for f in folds])), 3)}


def partitions(folds: list[dict]) -> list[dict]:
    """Each fold partition on its own: what one 5-fold check of it would report."""
    out = []
    for repeat in sorted({f.get("repeat", 0) for f in folds}):
        part = [f for f in folds if f.get("repeat", 0) == repeat]
        out.append({"repeat": repeat, "pooled_tested_accuracy": round(sum(f["test_correct"] for f in part)
                                                                      / sum(f["test_photos"] for f in part), 4),
                    "folds_estimate_within_3_points": sum(f["estimate_within_3_points"] for f in part),
                    "folds_ci_covers": sum(f["ci_covers_tested"] for f in part), "folds": len(part)})
    return out


def summarise(folds: list[dict], args) -> dict:
    first = [f for f in folds if f.get("repeat", 0) == 0]  # the first partition: every photo tested once
    correct = sum(f["test_correct"] for f in first)
    total = sum(f["test_photos"] for f in first)
    low, high = wilson_interval(correct, total)
    accs = [f["tested_accuracy"] for f in first]
    reference = unbiased_reference(correct / total, first[0]["train_photos"], first[0]["test_photos"], len(first))
    return {"data": str(args.data), "classes": args.classes, "train_args": args.train_args,
            "pooled_tested_accuracy": round(correct / total, 4), "pooled_ci95": [round(low, 4), round(high, 4)],
            "photos_tested": total, "fold_accuracy_min": min(accs), "fold_accuracy_max": max(accs),
            "fold_accuracy_std": round(float(np.std(accs)), 4),
            "folds_estimate_within_3_points": sum(f["estimate_within_3_points"] for f in first),
            "folds_ci_covers": sum(f["ci_covers_tested"] for f in first),
            "all_runs": agreement(folds), "partitions": partitions(folds), "unbiased_reference": reference,
            "folds": folds,
            "created": time.strftime("%Y-%m-%d %H:%M")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", type=Path)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=1, help="fold partitions to run (each a new shuffle)")
    parser.add_argument("--classes", nargs="*", default=None)
    parser.add_argument("--train-per-class", type=int, default=None,
                        help="one split instead of CV: this many photos per class train, the rest test")
    parser.add_argument("--train-args", nargs=argparse.REMAINDER, default=[], help="passed on to edge train")
    args = parser.parse_args()
    paths, labels, names = photos(args.data, args.classes)
    folds = []
    for repeat in range(args.repeats):
        for i, test_idx in enumerate(test_splits(labels, names, args, seed=12345 + repeat)):
            train_idx = np.setdiff1d(np.arange(len(paths)), test_idx)
            with tempfile.TemporaryDirectory() as tmp:
                pick = lambda idx: ([paths[j] for j in idx], labels[idx])  # noqa: E731
                fold = run_fold(Path(tmp), pick(train_idx), pick(test_idx), names, args.train_args)
            folds.append({"repeat": repeat, "fold": i, **fold})
            print(json.dumps(folds[-1]), flush=True)
    result = summarise(folds, args)
    write_json(args.out, result)
    first = result["folds_estimate_within_3_points"], result["folds_ci_covers"], len(result["folds"]) // args.repeats
    print(f"pooled tested accuracy {result['pooled_tested_accuracy']:.4f} on {result['photos_tested']} photos; "
          f"estimate within 3 points on {first[0]}/{first[2]} folds, CI covers on {first[1]}/{first[2]}")
    print(f"all {len(folds)} folds: {json.dumps(result['all_runs'])}")
    print(f"an ideal estimate would pass: {json.dumps(result['unbiased_reference'])}")


def test_splits(labels: np.ndarray, names: list[str], args, seed: int) -> list[np.ndarray]:
    if args.train_per_class:  # one split: the first photos of each class train, the rest test
        train_idx = np.concatenate([np.flatnonzero(labels == c)[: args.train_per_class] for c in range(len(names))])
        return [np.setdiff1d(np.arange(len(labels)), train_idx)]
    return stratified_folds(labels, args.folds, seed=seed)


if __name__ == "__main__":
    main()
