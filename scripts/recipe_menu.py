"""The recipe menu on a photo folder: every recipe on the same repeated folds, paired gains over Lite0.

What `edge train --max-cost X` prints, for every recipe at once (no budget), plus what the one-input
graph costs: each recipe with its in-graph resize (what deploys) against the same backbones each fed
its own native preprocessing (two inputs: not one graph), paired on the same folds.

    python scripts/recipe_menu.py ../shared/data/flowers5 --out benchmarks/recipes/flowers5_menu.json
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from edge.atomic import write_json
from edge.train import crossval, paired, recipe_head, recipes
from edge.train.config import TrainConfig
from edge.train.session import open_session


def native_bank(name: str, banks: dict) -> crossval.FeatureBank:
    """A multi recipe's backbones each at its own native preprocessing (the single recipes' features)."""
    parts = [banks[p] for p in recipes.part_names(name)]
    cat = lambda attr: torch.cat([getattr(b, attr) for b in parts], dim=-1)  # noqa: E731
    return crossval.FeatureBank(cat("center"), cat("flipped"), cat("augmented"), parts[0].labels, parts[0].num_classes)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", type=Path)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--repeats", type=int, default=recipe_head.REPEATS)
    args = parser.parse_args()
    torch.set_num_threads(2)
    with tempfile.TemporaryDirectory() as tmp:
        cfg = TrainConfig(data=str(args.data), out=str(Path(tmp) / "run"), max_cost=100).validate()
        s = open_session(cfg, False, print)
        names = recipes.candidates(cfg)
        start = time.perf_counter()
        banks, _ = recipe_head.recipe_banks(names, s)
        extract = time.perf_counter() - start
    multi = [n for n in names if "+" in n and all(p in banks for p in recipes.part_names(n))]
    natives = {f"{n} (native sizes)": native_bank(n, banks) for n in multi}
    n = len(next(iter(banks.values())).labels)
    start = time.perf_counter()
    comparison = paired.compare({**banks, **natives}, np.arange(n), repeats=args.repeats, k=cfg.cv_folds,
                                settings=crossval.grid(0), seed=cfg.seed)
    rows = paired.gains(comparison, cfg.model)
    costs = {name: recipes.cost(name, cfg) for name in names}
    menu = recipes.menu_rows(names, costs, cfg, rows, chosen="")
    for line in recipes.menu_lines(menu, cfg.model, n):
        print(line)
    resize = {}
    for name in multi:  # deployable (one input, in-graph resize) minus native sizes, paired
        diff = comparison.fold_accuracy[name] - comparison.fold_accuracy[f"{name} (native sizes)"]
        mean, low, high = paired.corrected_interval(diff, comparison.test_share)
        resize[name] = {"native_estimate": round(rows[f"{name} (native sizes)"]["estimate"], 4),
                        "one_input_estimate": round(rows[name]["estimate"], 4), "one_input_minus_native": round(mean, 4),
                        "ci95": [round(low, 4), round(high, 4)]}
        print(f"{recipes.short(name)}: one input + in-graph resize minus native sizes {100 * mean:+.2f} points "
              f"(95% CI {100 * low:+.2f} to {100 * high:+.2f})")
    from edge.bench.machine import machine_info

    write_json(args.out, {"data": str(args.data), "photos": n, "repeats": args.repeats, "folds": cfg.cv_folds,
                          "reference": cfg.model, "interval": "Nadeau-Bengio corrected resampled t over the "
                          f"{args.repeats}x{cfg.cv_folds} paired fold differences; gain_ci95_bootstrap_photos: "
                          "percentile bootstrap over photos, for comparison (ignores training-set variation)",
                          "head": "L2 logistic regression, each recipe's strength chosen once by 5-fold CV on the "
                                  "photos compared",
                          "menu": menu, "resize_cost": resize, "extract_seconds": round(extract, 1),
                          "compare_seconds": round(time.perf_counter() - start, 1),
                          "fold_accuracy": {k: [round(float(a), 4) for a in v]
                                            for k, v in comparison.fold_accuracy.items()},
                          "machine": machine_info(2), "created": time.strftime("%Y-%m-%d %H:%M")})
    print(json.dumps({"written": str(args.out)}))


if __name__ == "__main__":
    main()
