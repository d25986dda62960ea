"""Phone-sized photos: edge-infer on 12-MP JPEGs with full decoding vs draft (DCT-scaled) decoding.

    python scripts/phone_photos.py exports/flowers5-draft   # writes benchmarks/phone_photos/result.json

The 4032x3024 JPEGs are flowers5 photos, centre-cropped to 4:3 and upscaled, written under --work
(never into flowers5). The same artifact runs with two copies of its manifest that differ only in
`decode`, alternating full/draft within one run; predictions are compared image by image. It also
counts the flowers5 photos whose decode the draft changes at all at the manifest's resize size.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image, features

from edge.atomic import write_json
from edge.devices.profiles import cpu_model
from edge.estimate import wilson_interval
from edge.runtime import Classifier
from edge.runtime.images import draft_scale, load_rgb
from edge.runtime.preprocess import Preprocessor
from edge.runtime.walk import walk_files

PHONE = (4032, 3024)


def make_phone_photos(data: Path, folder: Path, count: int) -> list[Path]:
    """`count` flowers5 photos (round robin over classes), each as a 4032x3024 (or 3024x4032) JPEG."""
    classes = sorted(p for p in data.iterdir() if p.is_dir())
    pools = [sorted(c.glob("*.jpg")) for c in classes]
    picked = [pools[i % len(pools)][i // len(pools)] for i in range(count)]
    out = []
    for i, src in enumerate(picked):
        dest = folder / src.parent.name / f"{i:03d}_{src.stem}.jpg"
        if not dest.is_file():
            dest.parent.mkdir(parents=True, exist_ok=True)
            with Image.open(src) as img:
                img = img.convert("RGB")
                size = PHONE if img.width >= img.height else PHONE[::-1]
                crop = _crop_to(img.size, size[0] / size[1])
                img.crop(crop).resize(size, Image.BICUBIC).save(dest, "JPEG", quality=92)  # 4:2:0, like a phone
        out.append(dest)
    return out


def _crop_to(size: tuple[int, int], aspect: float) -> tuple[int, int, int, int]:
    w, h = size
    if w / h > aspect:
        cw = round(h * aspect)
        return ((w - cw) // 2, 0, (w - cw) // 2 + cw, h)
    ch = round(w / aspect)
    return (0, (h - ch) // 2, w, (h - ch) // 2 + ch)


def infer(artifact: Path, folder: Path, manifest: Path, summary: Path) -> tuple[dict, dict, float]:
    """One edge-infer process: (its summary, {source: (answer, top-1 class)}, process wall seconds)."""
    exe = Path(sys.executable).with_name("edge-infer")
    cmd = [str(exe), str(artifact), str(folder), "--manifest", str(manifest), "--json", "--top-k", "1",
           "--summary-json", str(summary)]
    start = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"edge-infer failed ({done.returncode}): {' '.join(cmd)}\n{done.stderr[-2000:]}")
    labels = {row["source"]: (row["label"], row["top"][0]["label"]) for row in map(json.loads, done.stdout.splitlines())}
    return json.loads(summary.read_text()), labels, wall


def alternate(artifact: Path, folder: Path, manifests: dict[str, Path], rounds: int, work: Path) -> dict:
    """full, draft, draft, full, ... : the order flips every round so drift hits both alike."""
    runs: dict[str, list] = {name: [] for name in manifests}
    for r in range(rounds):
        order = list(manifests) if r % 2 == 0 else list(manifests)[::-1]
        for name in order:
            summary_path = work / f"summary_{name}_{r}.json"
            summary_path.unlink(missing_ok=True)  # edge-infer writes a new file, never over one
            summary, labels, wall = infer(artifact, folder, manifests[name], summary_path)
            runs[name].append({"img_per_s": summary["fps"], "process_wall_s": round(wall, 2), "summary": summary,
                               "labels": labels})
    return runs


def agreement(artifact: Path, folder: Path, manifests: dict[str, Path], work: Path) -> dict:
    """Draft vs full answers on a larger folder (one run each): 40 photos cannot show 99%."""
    labels = {}
    for name, manifest in manifests.items():
        summary_path = work / f"agreement_{name}.json"
        summary_path.unlink(missing_ok=True)
        labels[name] = infer(artifact, folder, manifest, summary_path)[1]
    full, draft = labels["full"], labels["draft"]
    same = sum(full[k][1] == draft[k][1] for k in full)
    low, high = wilson_interval(same, len(full))
    return {"images": len(full), "top1_agreement": round(same / len(full), 4), "top1_ci95": [low, high],
            "answer_agreement": round(sum(full[k][0] == draft[k][0] for k in full) / len(full), 4),
            "disagreements": {k: {"full": full[k], "draft": draft[k]} for k in sorted(full) if full[k] != draft[k]}}


def decode_ms(paths: list[Path], manifest_side: int, repeats: int = 3) -> dict[str, float]:
    """Decode + resize of one photo on one thread (Pillow), full vs draft, alternating; median ms."""
    times: dict[str, list[float]] = {"full": [], "draft": []}
    for _ in range(repeats):
        for p in paths:
            for name, side in (("full", None), ("draft", manifest_side)):
                start = time.perf_counter()
                img = load_rgb(p, min_side=side)
                img.resize((manifest_side * img.width // img.height, manifest_side), Image.BICUBIC)
                times[name].append((time.perf_counter() - start) * 1000)
    return {name: round(float(np.median(t)), 1) for name, t in times.items()}


def flowers5_changes(data: Path, pre: Preprocessor) -> dict:
    """How many flowers5 photos a draft decode changes at this resize size, checked pixel by pixel."""
    paths = [p for c in sorted(data.iterdir()) if c.is_dir() for p in walk_files(c)]
    scaled = changed = 0
    for p in paths:
        with Image.open(p) as img:
            scaled += draft_scale(img.size, pre.decode_side) > 1
        changed += not np.array_equal(np.asarray(load_rgb(p)), np.asarray(pre.load(p)))
    return {"photos": len(paths), "resize_size": pre.decode_side, "drafted": scaled, "pixels_changed": changed}


def summarise(runs: dict) -> dict:
    rates = {name: [r["img_per_s"] for r in rows] for name, rows in runs.items()}
    full, draft = runs["full"][0]["labels"], runs["draft"][0]["labels"]
    agree = sum(full[s][0] == draft[s][0] for s in full) / len(full)  # the answer, "unknown" included
    agree_top1 = sum(full[s][1] == draft[s][1] for s in full) / len(full)
    ratios = [d / f for f, d in zip(rates["full"], rates["draft"])]
    return {"img_per_s": {n: {"each_round": v, "median": float(np.median(v)), "min": min(v), "max": max(v)}
                          for n, v in rates.items()},
            "speedup_median": round(float(np.median(rates["draft"]) / np.median(rates["full"])), 2),
            "speedup_per_round": [round(x, 2) for x in ratios],
            "answer_agreement_draft_vs_full": agree, "top1_agreement_draft_vs_full": agree_top1, "images": len(full),
            "disagreements": {s: {"full": full[s], "draft": draft[s]} for s in sorted(full) if full[s] != draft[s]}}


def _folder(args: argparse.Namespace, count: int) -> Path:
    folder = args.work / f"photos{count}"
    make_phone_photos(args.data, folder, count)
    return folder


def measure(args: argparse.Namespace) -> dict:
    artifact = args.export / args.artifact if args.export.is_dir() else args.export
    paths = make_phone_photos(args.data, args.work / "photos", args.photos)
    base = Classifier(artifact).manifest
    manifests = {name: args.work / f"manifest_{name}.json" for name in ("full", "draft")}
    for name, path in manifests.items():
        path.write_text(base.with_preprocessing(decode=name).to_json())
    load = os.getloadavg()
    runs = alternate(artifact, args.work / "photos", manifests, args.rounds, args.work)
    return {"cpu_model": cpu_model(), "cores": os.cpu_count(), "machine": platform.machine(),
            "load_average_before": [round(x, 2) for x in load],
            "load_average_after": [round(x, 2) for x in os.getloadavg()],
            "pillow": Image.__version__, "libjpeg_turbo": features.version("libjpeg_turbo"),
            "artifact": str(artifact), "photo_size": list(PHONE), "rounds": args.rounds,
            "command": f"edge-infer {artifact} {args.work / 'photos'} --manifest manifest_{{full,draft}}.json "
                       "--json --top-k 1 --summary-json S",
            **summarise(runs),
            "decode_resize_ms_one_thread": decode_ms(paths[:5], base.preprocessing.resize_size),
            "draft_scale_of_phone_photos": draft_scale(PHONE, base.preprocessing.resize_size),
            "agreement_large": agreement(artifact, _folder(args, args.agreement_photos), manifests, args.work),
            "flowers5": flowers5_changes(args.data, Preprocessor(base.with_preprocessing(decode="draft"))),
            "runs": {n: [{k: v for k, v in r.items() if k != "labels"} for r in rows] for n, rows in runs.items()}}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("export", type=Path, help="an export folder (or one artifact in it)")
    parser.add_argument("--artifact", default="model.int8.onnx")
    parser.add_argument("--data", type=Path, default=Path("../shared/data/flowers5"))
    parser.add_argument("--photos", type=int, default=40)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--agreement-photos", type=int, default=600, help="12-MP copies for the agreement check")
    parser.add_argument("--work", type=Path, default=Path("/tmp/phone_photos"))
    parser.add_argument("--out", type=Path, default=Path("benchmarks/phone_photos/result.json"))
    args = parser.parse_args()
    result = measure(args)
    write_json(args.out, result)
    rate, f5 = result["img_per_s"], result["flowers5"]
    print(f"phone photos: full {rate['full']['median']:.2f} img/s, draft {rate['draft']['median']:.2f} img/s "
          f"({result['speedup_median']}x, rounds {result['speedup_per_round']}); draft vs full: top-1 "
          f"{result['top1_agreement_draft_vs_full']:.1%}, answers {result['answer_agreement_draft_vs_full']:.1%}; "
          f"on {result['agreement_large']['images']} photos top-1 {result['agreement_large']['top1_agreement']:.1%} "
          f"(95% CI {result['agreement_large']['top1_ci95'][0]:.1%}-{result['agreement_large']['top1_ci95'][1]:.1%}); "
          f"flowers5 photos drafted {f5['drafted']}/{f5['photos']}, pixels changed {f5['pixels_changed']} -> {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
