"""edge-infer's folder pipeline against the backend's bare rate on pre-made tensors.

`python -m edge.bench.pipeline_rate ARTIFACT FOLDER [--out FILE]`: the bare rate runs the same
model, batch size and threads on tensors already preprocessed in memory; the pipeline rate is the
real thing (decode + preprocess on worker threads, overlapped with batched inference).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from edge.runtime import Classifier
from edge.runtime.images import load_rgb
from edge.runtime.pipeline import run_images
from edge.runtime.sources import list_images
from edge.runtime.stats import Summary


def bare_rate(clf: Classifier, x: np.ndarray, batch: int, rounds: int = 3) -> float:
    clf.logits(x[:batch])
    start = time.perf_counter()
    for _ in range(rounds):
        for i in range(0, len(x), batch):
            clf.logits(x[i : i + batch])
    return rounds * len(x) / (time.perf_counter() - start)


def pipeline_rate(clf: Classifier, paths: list[Path], batch: int, workers: int) -> float:
    summary = Summary()
    run_images(clf, paths, 1, batch, workers, lambda p: None, lambda m: None, summary)
    return summary.classified / summary.seconds


def measure(artifact: str, folder: str, threads: int, batches=(8, 16), workers=(1, 2)) -> dict:
    paths = list_images(folder)
    clf = Classifier(artifact, threads=threads)
    x = np.stack([clf.preprocess(load_rgb(p)) for p in paths])
    rows = []
    for batch in batches:
        bare = bare_rate(clf, x, batch)
        for n in workers:
            rate = pipeline_rate(clf, paths, batch, n)
            rows.append({"batch": batch, "workers": n, "bare_ips": round(bare, 1), "pipeline_ips": round(rate, 1),
                         "ratio": round(rate / bare, 3)})
    best = max(rows, key=lambda r: r["pipeline_ips"])
    return {"artifact": artifact, "images": len(paths), "threads": threads, "rows": rows, "best": best}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("artifact")
    parser.add_argument("folder")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out")
    args = parser.parse_args()
    result = measure(args.artifact, args.folder, args.threads)
    if args.out:
        from edge.atomic import write_json

        write_json(args.out, result)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
