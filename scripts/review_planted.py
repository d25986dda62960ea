"""Plant label errors and count how many `edge review` ranks among its top suspects.

Copies DATA to a work folder, moves --per-class photos of every class into another (random) class,
trains with the default `edge train` settings, reviews the run, and writes where the planted photos
ranked among the suspects (cleanlab on the out-of-fold probabilities).

    python scripts/review_planted.py ../shared/data/flowers5 --work /tmp/planted \
        --out benchmarks/review/planted.json
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import time
from pathlib import Path


def plant(src: Path, dst: Path, per_class: int, seed: int) -> list[dict]:
    """Copy `src` to `dst`, then move `per_class` photos of each class into a random other class."""
    shutil.copytree(src, dst)
    rng = random.Random(seed)
    classes = sorted(p.name for p in dst.iterdir() if p.is_dir())
    moved = []
    for c in classes:
        for p in rng.sample(sorted((dst / c).glob("*.jpg")), per_class):
            wrong = rng.choice([x for x in classes if x != c])
            shutil.move(p, dst / wrong / p.name)
            moved.append({"path": f"{wrong}/{p.name}", "true": c, "given": wrong})
    return moved


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("data", type=Path)
    ap.add_argument("--work", type=Path, required=True, help="new folder for the copy and the run")
    ap.add_argument("--per-class", type=int, default=3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--top", type=int, default=30)
    ap.add_argument("--run", type=Path, help="an already trained run of the planted copy (skips training)")
    ap.add_argument("--out", type=Path, required=True)
    a = ap.parse_args()
    from edge.atomic import write_json
    from edge.review.build import review

    data, run = a.work / "data", a.run or a.work / "run"
    if a.run is None:
        moved = plant(a.data, data, a.per_class, a.seed)
        from edge.train.config import TrainConfig
        from edge.train.run import train

        start = time.perf_counter()
        train(TrainConfig(data=str(data), out=str(run)))
        train_s = round(time.perf_counter() - start, 1)
    else:
        moved, train_s = json.loads((a.work / "moved.json").read_text()), None
    result = review(source=run)
    ranks = {s["path"]: s["rank"] for s in result.data["suspects"]}
    for m in moved:
        m["rank"] = ranks.get(m["path"])
        m["suggested"] = next((s["suggested"] for s in result.data["suspects"] if s["path"] == m["path"]), None)
    found = sum(1 for m in moved if m["rank"] is not None and m["rank"] <= a.top)
    summary = {"data": str(a.data), "planted": len(moved), "seed": a.seed, "top": a.top,
               f"planted_in_top_{a.top}": found, "suspects": len(result.data["suspects"]),
               "suggested_true_label": sum(1 for m in moved if m["suggested"] == m["true"]),
               "estimated_accuracy_of_the_planted_run": result.data["accuracy"]["value"], "train_seconds": train_s,
               "moved": moved}
    write_json(a.out, summary)
    print(f"{found} of {len(moved)} planted label errors in the top {a.top} of {len(result.data['suspects'])} suspects")


if __name__ == "__main__":
    main()
