"""Soak: 10,000 camera-sized frames through edge-infer's frame loop; RSS must stay flat (±10 %).

    python scripts/soak.py exports/flowers5/model.int8.onnx --frames 10000 --out benchmarks/soak/result.json
"""

from __future__ import annotations

import argparse
import resource
import sys
from pathlib import Path

import numpy as np

from edge.atomic import write_json
from edge.runtime import Classifier
from edge.runtime.pipeline import run_frames
from edge.runtime.sources import Frame
from edge.runtime.timing import Summary


def rss_mb() -> float:
    """Current resident set size (Linux /proc), in MB."""
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * resource.getpagesize() / 1e6


def frames(n: int, every: int, samples: list[tuple[int, float]]):
    rng = np.random.default_rng(0)
    base = rng.integers(0, 255, (480, 640, 3), dtype=np.uint8)
    for i in range(n):
        if i % every == 0:
            samples.append((i, round(rss_mb(), 1)))
        yield Frame("soak", i, np.roll(base, i, axis=1), 0.0)  # a new frame each time, like a camera
    samples.append((n, round(rss_mb(), 1)))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("artifact")
    parser.add_argument("--frames", type=int, default=10_000)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/soak/result.json"))
    args = parser.parse_args()
    clf = Classifier(args.artifact)
    samples: list[tuple[int, float]] = []
    summary = run_frames(clf, frames(args.frames, 1000, samples), k=3, emit=lambda p: None, summary=Summary())
    warm = samples[1][1]  # after the first 1000 frames: allocators and caches have settled
    peak = max(r for _, r in samples[1:])
    flat = peak <= warm * 1.10
    result = {"artifact": args.artifact, "frames": args.frames, "rss_mb_by_frame": samples, "rss_after_warmup_mb": warm,
              "rss_peak_mb": peak, "growth_percent": round(100 * (peak / warm - 1), 2), "flat_within_10_percent": flat,
              "fps": round(summary.classified / summary.seconds, 1)}
    write_json(args.out, result)
    print(f"soak: {args.frames} frames, RSS {warm} -> peak {peak} MB ({result['growth_percent']:+.1f} %), "
          f"{result['fps']} fps: {'flat' if flat else 'GROWING'}")
    return 0 if flat else 1


if __name__ == "__main__":
    sys.exit(main())
