"""`edge-infer --collect` on a video: the rate limit, no near-duplicates, and what it costs in fps.

Makes a clip of flower photos (each held for a second) between non-flower frames (noise, flat
colour, gradients), then runs edge-infer on it with and without --collect, alternating, and writes
the fps of each run, how many frames were saved and the closest pHash distance between two saves.

    python scripts/collect_rate.py exports/flowers5/model.int8.onnx ../shared/data/flowers5 \
        --work /tmp/collect --out benchmarks/review/collect.json
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import numpy as np

FPS, SIZE = 30.0, (640, 480)


def non_flower(n: int, rng) -> np.ndarray:
    w, h = SIZE
    kind = n % 3
    if kind == 0:
        return rng.integers(0, 255, (h, w, 3), dtype=np.uint8)
    if kind == 1:
        return np.full((h, w, 3), rng.integers(0, 255, 3), dtype=np.uint8)
    ramp = np.linspace(0, 255, w, dtype=np.float32)[None, :, None] * rng.random(3)[None, None, :]
    return np.repeat(ramp, h, axis=0).astype(np.uint8)


def make_clip(path: Path, data: Path, seconds: int) -> dict:
    import cv2

    photos = sorted(data.rglob("*.jpg"))
    rng = np.random.default_rng(0)
    picks = [photos[i] for i in rng.choice(len(photos), seconds, replace=False)]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), FPS, SIZE)
    for n, p in enumerate(picks):  # odd seconds: a flower photo, even seconds: something else
        frame = cv2.resize(cv2.imread(str(p)), SIZE) if n % 2 else non_flower(n, rng)
        for _ in range(int(FPS)):
            writer.write(frame)
    writer.release()
    shown = [str(p.relative_to(data)) if n % 2 else None for n, p in enumerate(picks)]  # per second: photo or None
    return {"frames": int(seconds * FPS), "fps": FPS, "seconds": seconds, "size": list(SIZE), "photo_per_second": shown}


def infer(artifact: str, clip: Path, summary: Path, collect: Path | None, threads: int) -> dict:
    cmd = [sys.executable, "-m", "edge.cli.infer", artifact, str(clip), "--summary-json", str(summary),
           "--threads", str(threads)]
    if collect is not None:
        cmd += ["--collect", str(collect)]
    import resource

    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    done = subprocess.run(cmd, capture_output=True, text=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(done.stderr[-2000:])
    row = json.loads(summary.read_text())
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)  # the whole process, start-up too
    return {**row, "cpu_seconds": round(cpu, 2), "cpu_ms_per_frame": round(1000 * cpu / max(row["classified"], 1), 2),
            "collect_line": next((line for line in done.stderr.splitlines() if line.startswith("collect:")), None)}


def closest_pair(folder: Path) -> int | None:
    import cv2

    from edge.runtime.collect import phash

    hashes = [phash(cv2.imread(str(p))) for p in sorted(folder.rglob("*.jpg"))]
    dists = [bin(a ^ b).count("1") for i, a in enumerate(hashes) for b in hashes[i + 1:]]
    return min(dists) if dists else None


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("artifact")
    ap.add_argument("data", type=Path)
    ap.add_argument("--work", type=Path, required=True)
    ap.add_argument("--seconds", type=int, default=60)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--out", type=Path, required=True)
    a = ap.parse_args()
    a.work.mkdir(parents=True, exist_ok=True)
    clip = a.work / "clip.mp4"
    info = make_clip(clip, a.data, a.seconds)
    runs = []
    for r in range(a.repeats):
        for mode in (("off", "on") if r % 2 == 0 else ("on", "off")):  # alternate: drift hits both alike
            folder = a.work / f"collected-{r}" if mode == "on" else None
            row = infer(a.artifact, clip, a.work / f"summary-{r}-{mode}.json", folder, a.threads)
            if folder is not None:
                row["saved"] = len(list(folder.rglob("*.jpg")))
                row["closest_phash_distance"] = closest_pair(folder)
                row["sidecars"] = len(list(folder.rglob("*.json")))
            runs.append({"round": r, "collect": mode, **row})
    off = [x["fps"] for x in runs if x["collect"] == "off"]
    on = [x["fps"] for x in runs if x["collect"] == "on"]
    cpu_off = [x["cpu_ms_per_frame"] for x in runs if x["collect"] == "off"]
    cpu_on = [x["cpu_ms_per_frame"] for x in runs if x["collect"] == "on"]
    result = {"clip": info, "artifact": a.artifact, "threads": a.threads, "rate_per_minute": 10.0,
              "max_saves_allowed": int(a.seconds / 60 * 10) + 1, "fps_off": off, "fps_on": on,
              "fps_ratio_median": round(float(np.median(on) / np.median(off)), 4),
              "fps_ratio_per_round": [round(x / y, 4) for x, y in zip(on, off)],
              "cpu_ms_per_frame_off": cpu_off, "cpu_ms_per_frame_on": cpu_on,
              "cpu_ratio_median": round(float(np.median(cpu_off) / np.median(cpu_on)), 4),  # > 0.95: within 5%
              "saved": [x["saved"] for x in runs if x["collect"] == "on"],
              "closest_phash_distance": [x["closest_phash_distance"] for x in runs if x["collect"] == "on"],
              "runs": runs}
    from edge.atomic import write_json

    write_json(a.out, result)
    print(json.dumps({k: v for k, v in result.items() if k not in ("runs", "clip")}))


if __name__ == "__main__":
    main()
