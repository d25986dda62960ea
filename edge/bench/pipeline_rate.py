"""edge-infer's folder pipeline against the backend's bare rate on pre-made tensors.

`python -m edge.bench.pipeline_rate ARTIFACT FOLDER [--out FILE]`: the bare rate runs the same
model, batch size and threads on tensors already preprocessed in memory; the pipeline rate is the
real thing (decode + preprocess on worker threads, overlapped with batched inference). The
ceiling is what the cores allow at all: when inference alone keeps every core busy, decoding
and resizing each photo must take core time from it.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from edge.runtime import Classifier
from edge.runtime.pipeline import run_images
from edge.runtime.sources import list_images
from edge.runtime.timing import Summary, images_per_second


def pipeline_rate(clf: Classifier, paths: list[Path], batch: int, workers: int) -> float:
    summary = Summary()
    run_images(clf, paths, k=1, batch_size=batch, workers=workers, emit=lambda p: None, on_error=lambda s, e: None,
               summary=summary)
    return summary.classified / summary.seconds


def ceiling_ips(bare_ips: float, preprocess_ms: float, cores: int) -> float:
    """The most a pipeline can reach when every core is busy: inference takes `cores` cores for
    1/bare seconds per image, decode + preprocess `preprocess_ms` of one core."""
    return cores / (cores / bare_ips + preprocess_ms / 1000)


def measure(artifact: str, folder: str, threads: int, batches=(8, 16), workers=(1, 2)) -> dict:
    paths = list_images(folder)
    bare_clf = Classifier(artifact, threads=threads)  # the backend at its fastest on its own
    clf = Classifier(artifact, threads=threads, spin_wait=False)  # as edge-infer runs a folder
    x = np.stack([clf.preprocess(clf.preprocess.load(p)) for p in paths])
    start = time.perf_counter()  # a second, warm pass on one core: decode + preprocess per image
    for p in paths:
        clf.preprocess(clf.preprocess.load(p))
    preprocess_ms = (time.perf_counter() - start) * 1000 / len(paths)
    rows = []
    for batch in batches:
        bare = images_per_second(bare_clf.logits, x, batch, rounds=3)
        for n in workers:
            rate = pipeline_rate(clf, paths, batch, n)
            rows.append({"batch": batch, "workers": n, "bare_ips": round(bare, 1), "pipeline_ips": round(rate, 1),
                         "ratio": round(rate / bare, 3)})
    best_bare = max(r["bare_ips"] for r in rows)
    best = max(rows, key=lambda r: r["pipeline_ips"])
    ceiling = ceiling_ips(best_bare, preprocess_ms, threads)
    return {"artifact": artifact, "images": len(paths), "threads": threads, "rows": rows, "best": best,
            "best_bare_ips": best_bare, "ratio_to_best_bare": round(best["pipeline_ips"] / best_bare, 3),
            "decode_preprocess_ms_per_image": round(preprocess_ms, 3), "ceiling_ips": round(ceiling, 1),
            "ratio_to_ceiling": round(best["pipeline_ips"] / ceiling, 3)}


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
