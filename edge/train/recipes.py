"""Recipes: which frozen backbones feed the head, what they cost, and what `auto` deploys within a budget.

`--max-cost X` (units of EfficientNet-Lite0's FLOPs at 224 px; `--target-device NAME` takes X from a
device profile) lets `auto` consider every recipe of `recipes` that costs at most X, beside `--model`.
All of them are scored on the same repeated folds of cached features (edge.train.paired); a costlier
recipe is deployed only when its paired gain over the cheapest has a 95 % interval above zero. The
estimate printed is the nested one with that choice inside each outer fold. X = 1 (the default) does
none of this: `--model` alone, trained exactly as before.
"""

from __future__ import annotations

import functools

from edge.errors import EdgeError
from edge.preprocessing import Preprocessing
from edge.train.config import TrainConfig
from edge.train.zoo import get_entry

REFERENCE = ("efficientnet_lite0", 224)  # the unit of --max-cost
# ONNX INT8 batch-1 p50 on the machine the README's backbone table was measured on (2-core EPYC):
# benchmarks/backbones/*_export_report.json and benchmarks/flowers5/export_report.json. A recipe's
# figure is the sum over its branches (they run one after the other); the menu says so.
MEASURED_INT8_MS = {"efficientnet_lite0": 2.75, "efficientnet_lite1": 4.16, "efficientnet_lite2": 4.54}


def budget(cfg: TrainConfig) -> float:
    """The most a recipe may cost, in Lite0 FLOPs: --max-cost, or the --target-device profile's."""
    if not cfg.target_device:
        return cfg.max_cost
    if cfg.max_cost != TrainConfig.max_cost:
        raise EdgeError("give --max-cost or --target-device (whose profile sets the budget), not both")
    from edge.devices.profiles import get_profile

    return get_profile(cfg.target_device).max_cost


def searching(cfg: TrainConfig) -> bool:
    """Compare recipes only when the budget allows more than Lite0: the default run is unchanged."""
    return budget(cfg) > 1.0


def candidates(cfg: TrainConfig) -> list[str]:
    """--model first, then the configured recipes, each once."""
    names = [cfg.model] + [r.strip() for r in cfg.recipes.split(",") if r.strip()]
    for name in names:
        get_entry(name)  # an unknown zoo name fails here, before any feature is extracted
    return list(dict.fromkeys(names))


def input_preprocessing(name: str, cfg: TrainConfig) -> Preprocessing:
    """What a run of zoo model (or recipe) `name` feeds it: the entry's preprocessing, at --image-size if given."""
    pre = get_entry(name).preprocessing
    return pre.at_size(cfg.image_size) if cfg.image_size else pre


def part_names(name: str) -> list[str]:
    return name.split("+")


@functools.cache
def backbone_gflops(name: str, size: int) -> float:
    """GFLOPs (2 x multiply-adds) of one batch-1 forward of a zoo backbone at `size` px, counted."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    from edge.train.models import build_imagenet_model

    model = build_imagenet_model(get_entry(name), pretrained=False, weights=None).eval()
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        model(torch.zeros(1, 3, size, size))
    return counter.get_total_flops() / 1e9


def branch_sizes(name: str, cfg: TrainConfig) -> list[int]:
    """The size each backbone of a recipe runs at inside its graph."""
    from edge.train.multi_backbone import branch_size

    natives = [get_entry(p).preprocessing.crop_size for p in part_names(name)]
    size = input_preprocessing(name, cfg).crop_size
    return [branch_size(size, native, max(natives)) for native in natives]


def gflops(name: str, cfg: TrainConfig) -> float:
    return sum(backbone_gflops(p, s) for p, s in zip(part_names(name), branch_sizes(name, cfg)))


def cost(name: str, cfg: TrainConfig) -> float:
    return gflops(name, cfg) / backbone_gflops(*REFERENCE)


def int8_ms(name: str) -> float | None:
    parts = [MEASURED_INT8_MS.get(p) for p in part_names(name)]
    return None if None in parts else round(sum(parts), 2)


def short(name: str) -> str:
    """efficientnet_lite0+efficientnet_lite1 -> Lite0+Lite1 (other names stay as they are)."""
    return "+".join(p.replace("efficientnet_lite", "Lite") for p in part_names(name))


def menu_rows(names: list[str], costs: dict[str, float], cfg: TrainConfig, rows: dict[str, dict],
              chosen: str) -> list[dict]:
    """The menu as data (metrics.json, benchmarks): one dict per recipe, evaluated or over budget."""
    out = []
    for name in names:
        row = {"recipe": name, "gflops": round(gflops(name, cfg), 3), "cost_x_lite0": round(costs[name], 2),
               "onnx_int8_ms": int8_ms(name), "chosen": name == chosen}
        if name in rows:
            r = rows[name]
            row.update(estimate=round(r["estimate"], 4), gain=round(r["gain"], 4),
                       gain_ci95=[round(v, 4) for v in r["gain_ci95"]],
                       gain_ci95_bootstrap_photos=[round(v, 4) for v in r["gain_ci95_bootstrap_photos"]],
                       folds_positive=r["folds_positive"], folds_negative=r["folds_negative"], folds=r["folds"])
        else:
            row["skipped"] = "over budget"
        out.append(row)
    return out


def menu_lines(menu: list[dict], reference: str, photos: int) -> list[str]:
    """The printed menu: recipe, estimate +- interval, paired gain +- interval, GFLOPs, INT8 ms."""
    from edge.estimate import wilson_interval

    lines = [f"{'recipe':22s} {'estimate (95% CI)':19s} {'gain vs ' + short(reference) + ' (95% CI)':26s} "
             f"{'GFLOPs':>6s} {'x Lite0':>7s} {'INT8 ms*':>8s}"]
    for row in menu:
        ms = "-" if row["onnx_int8_ms"] is None else f"{row['onnx_int8_ms']:.2f}"
        tail = f"{row['gflops']:6.2f} {row['cost_x_lite0']:7.2f} {ms:>8s}" + ("  <- chosen" if row["chosen"] else "")
        if "estimate" not in row:
            lines.append(f"{short(row['recipe']):22s} {'over budget':19s} {'':26s} {tail}")
            continue
        low, high = wilson_interval(round(row["estimate"] * photos), photos)
        gl, gh = row["gain_ci95"]
        gain = "-" if row["recipe"] == reference else f"{100 * row['gain']:+.1f} ({100 * gl:+.1f} to {100 * gh:+.1f})"
        lines.append(f"{short(row['recipe']):22s} {100 * row['estimate']:5.1f}% ({100 * low:.1f}-{100 * high:.1f}) "
                     f"{gain:26s} {tail}")
    lines.append("* ONNX INT8 batch-1 ms: the sum of each backbone's, measured by `edge export` on a 2-core EPYC "
                 "(README backbone table); estimates are means over the same repeated folds")
    return lines
