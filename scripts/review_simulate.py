"""How well each label-quality ranking finds planted label errors, simulated on a run's oof.json.

A photo's out-of-fold prediction never saw its own label, so relabelling 3 photos per class of a
clean run and ranking again is close to planting them and retraining (the other 14 wrong labels
move the heads a little). Repeated over seeds, it compares the rankings on many plantings.

    python scripts/review_simulate.py runs/flowers5/oof.json --seeds 40 --out benchmarks/review/simulated.json
"""

from __future__ import annotations

import argparse
import json
import random
from pathlib import Path

import numpy as np


def plant(labels: np.ndarray, classes: int, per_class: int, seed: int) -> tuple[np.ndarray, set[int]]:
    rng, given, planted = random.Random(seed), labels.copy(), set()
    for c in range(classes):
        for i in rng.sample([int(i) for i in np.flatnonzero(labels == c)], per_class):
            given[i] = rng.choice([x for x in range(classes) if x != c])
            planted.add(i)
    return given, planted


def rankings(given: np.ndarray, probs: np.ndarray) -> dict[str, np.ndarray]:
    from cleanlab.filter import find_label_issues
    from cleanlab.rank import get_label_quality_scores

    out = {m: np.argsort(get_label_quality_scores(given, probs, method=m), kind="stable")
           for m in ("self_confidence", "normalized_margin", "confidence_weighted_entropy")}
    out["find_label_issues (flagged only)"] = find_label_issues(given, probs, return_indices_ranked_by="self_confidence",
                                                                n_jobs=1)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("oof", type=Path)
    ap.add_argument("--seeds", type=int, default=40)
    ap.add_argument("--per-class", type=int, default=3)
    ap.add_argument("--top", type=int, default=30)
    ap.add_argument("--out", type=Path, required=True)
    a = ap.parse_args()
    oof = json.loads(a.oof.read_text())
    probs = np.array([r["probs"] for r in oof["photos"]])
    probs /= probs.sum(1, keepdims=True)
    labels = np.array([r["label"] for r in oof["photos"]])
    found: dict[str, list[int]] = {}
    for seed in range(a.seeds):
        given, planted = plant(labels, probs.shape[1], a.per_class, seed)
        for name, order in rankings(given, probs).items():
            found.setdefault(name, []).append(sum(int(i) in planted for i in order[: a.top]))
    planted_n = a.per_class * probs.shape[1]
    summary = {name: {"mean": round(float(np.mean(v)), 2), "min": min(v), "max": max(v),
                      f"seeds_with_at_least_{round(0.8 * planted_n)}": sum(x >= round(0.8 * planted_n) for x in v)}
               for name, v in found.items()}
    from edge.atomic import write_json

    write_json(a.out, {"oof": str(a.oof), "seeds": a.seeds, "planted": planted_n, "top": a.top, "summary": summary,
                       "found_per_seed": found})
    print(json.dumps(summary, indent=1))


if __name__ == "__main__":
    main()
