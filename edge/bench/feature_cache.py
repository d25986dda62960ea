"""Cached-feature head training against the textbook frozen-backbone loop, same data, one process.

`python -m edge.bench.feature_cache DATA --out benchmarks/feature_cache.json`
"""

from __future__ import annotations

import argparse
import json
import tempfile
from dataclasses import replace

from edge.atomic import write_json
from edge.train.config import TrainConfig
from edge.train.run import head_phase
from edge.train.session import open_session


def compare(data: str, naive_epochs: int = 2, head_epochs: int = 30, views: int = 4) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        cfg = TrainConfig(data=data, out=tmp, strategy="feature-extract", head_epochs=head_epochs,
                          feature_views=views)
        cached: dict = {}
        head_phase(open_session(cfg, False, lambda *_: None), cached)
        naive: dict = {}
        head_phase(open_session(replace(cfg, cache_features=False, epochs=naive_epochs), False, lambda *_: None),
                   naive)
    naive_epoch = sum(naive["naive_head_epoch_seconds"]) / naive_epochs
    cached_epoch = cached["head_seconds_per_epoch"]
    amortized = cached_epoch + cached["feature_extract_seconds"] / head_epochs
    return {
        "data": data, "head_epochs": head_epochs, "feature_views": views,
        "naive_epoch_seconds": round(naive_epoch, 2),
        "cached_feature_extract_seconds": cached["feature_extract_seconds"],
        "cached_epoch_seconds": cached_epoch,
        "speedup_per_epoch": round(naive_epoch / cached_epoch, 1),
        "speedup_amortized_over_run": round(naive_epoch / amortized, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("data")
    parser.add_argument("--out", default="benchmarks/feature_cache.json")
    args = parser.parse_args()
    result = compare(args.data)
    write_json(args.out, result)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
