"""Live-frame preprocessing against the exact path and against the inference it feeds.

For each artifact: on 640x480 BGR frames, the p50 of today's frame path (a numpy copy to RGB, then
Pillow on the whole frame), of the exact path as frames take it now (the channel swap in Pillow's
copy: the same pixels), of the live path (edge.runtime.live_preprocess) and of batch-1 inference
(`Classifier.answers`, what edge-infer times as inference), measured in alternating rounds in one
process: a shared machine's drift hits all four alike. With --photos, also the live path's top-1
and unknown-decision agreement with the exact path, on the photos as frames (native size), on
640x480 frames made from them, and on the frames of an MP4 made from those (three views a photo).

    python scripts/preprocess_bench.py exports/flowers5/model.int8.onnx exports/flowers5/model.int8.tflite \
        --photos ../shared/data/flowers5 --edge-infer --out benchmarks/preprocess

--edge-infer adds `edge-infer ARTIFACT video.mp4` on a 1,200-frame 640x480 video of the photos, with the
artifact's manifest saying exact, then live (--manifest), alternating: frames/s before and after.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

from edge.atomic import write_json, write_text
from edge.bench.glass import camera_frame
from edge.estimate import wilson_interval
from edge.runtime import Classifier
from edge.runtime.classifier import as_rgb_image
from edge.runtime.images import load_rgb
from edge.runtime.preprocess import Preprocessor
from edge.runtime.sources import list_images

SIZE = (640, 480)
STAGES = ("today", "exact", "live", "inference")
LOOP = ("exact_in_loop", "inference_after_exact", "live_in_loop", "inference_after_live")


def at_one_to_one(img: Image.Image, size=SIZE) -> np.ndarray:
    """The photo's own pixels in the middle of a frame, the rest mirrored: as sharp as a camera frame."""
    import cv2

    rgb = np.asarray(img)[:, :, ::-1]
    h, w = rgb.shape[:2]
    top, left = max(0, (h - size[1]) // 2), max(0, (w - size[0]) // 2)
    rgb = rgb[top:top + size[1], left:left + size[0]]
    h, w = rgb.shape[:2]
    dy, dx = size[1] - h, size[0] - w
    return cv2.copyMakeBorder(np.ascontiguousarray(rgb), dy // 2, dy - dy // 2, dx // 2, dx - dx // 2, cv2.BORDER_REFLECT)


def video_frames(photos: list[Image.Image], path: Path) -> list[np.ndarray]:
    """Three views a photo (whole, then two 85% pans), written as MP4 and read back (codec losses included)."""
    import cv2

    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 30.0, SIZE)
    for img in photos:
        for zoom, at in ((1.0, (0.5, 0.5)), (0.85, (0.0, 0.2)), (0.85, (1.0, 0.8))):
            writer.write(camera_frame(img, zoom=zoom, at=at))
    writer.release()
    capture, frames = cv2.VideoCapture(str(path)), []
    while True:
        ok, frame = capture.read()
        if not ok:
            return frames
        frames.append(frame)


def frame_sets(folder: str, work: Path) -> dict[str, list[np.ndarray]]:
    photos = [load_rgb(p) for p in list_images(folder)]
    return {"photos at their own size": [np.asarray(img)[:, :, ::-1].copy() for img in photos],
            "640x480 frames": [camera_frame(img) for img in photos],
            "640x480 frames, photo at 1:1": [at_one_to_one(img) for img in photos],
            "640x480 MP4 frames": video_frames(photos, work / "frames.mp4")}


def answers(clf: Classifier, inputs: list[np.ndarray]) -> list[tuple[str, bool]]:
    out = []
    for i in range(0, len(inputs), 16):
        out += [(top[0][0], unknown) for top, unknown, _ in clf.answers(np.stack(inputs[i:i + 16]), 1)]
    return out


def noisy(frame: np.ndarray, rng) -> np.ndarray:
    """The frame with every value moved by -1, 0 or +1: how fragile the model's answers are on a set."""
    return np.clip(frame.astype(np.int16) + rng.integers(-1, 2, frame.shape), 0, 255).astype(np.uint8)


def agreement(clf: Classifier, exact: Preprocessor, live: Preprocessor, frames: list[np.ndarray]) -> dict:
    """Top-1 and unknown-decision agreement of the live path with the exact one, with 95% intervals; beside
    it, the same for the exact path on the frames with +-1 grey level of noise (the set's own noise floor)."""
    rng = np.random.default_rng(0)
    xe, xl = [exact.frame(f) for f in frames], [live.frame(f) for f in frames]
    grey = float(np.mean([np.abs(a - b).mean() for a, b in zip(xe, xl)]) / exact.scale.ravel()[0])
    base = answers(clf, xe)
    row = {"frames": len(frames), "mean_abs_grey_levels": round(grey, 3)}
    for prefix, other in (("", answers(clf, xl)), ("noise_", answers(clf, [exact.frame(noisy(f, rng)) for f in frames]))):
        for key, i in (("top1", 0), ("unknown", 1)):
            same = sum(a[i] == b[i] for a, b in zip(base, other))
            low, high = wilson_interval(same, len(frames))
            row[f"{prefix}{key}_agreement"] = round(same / len(frames), 4)
            row[f"{prefix}{key}_disagreements"] = len(frames) - same
            row[f"{prefix}{key}_ci95"] = [round(low, 4), round(high, 4)]
    return row


def stage_calls(clf: Classifier, exact: Preprocessor, live: Preprocessor, frame: np.ndarray) -> dict:
    x = live.frame(frame)[None]
    return {"today": lambda: exact(as_rgb_image(frame)), "exact": lambda: exact.frame(frame),
            "live": lambda: live.frame(frame), "inference": lambda: clf.answers(x, 3)}


def _timed(call, out: list[float]) -> None:
    start = time.perf_counter()
    call()
    out.append((time.perf_counter() - start) * 1000)


def timing(runs: dict[str, dict], rounds: int, per_round: int) -> dict[str, dict]:
    """p50/p90 per artifact and stage, in alternating rounds (every stage of every artifact each round).
    Each stage alone (calls in a row), then as edge-infer's frame loop runs them: a frame's preprocessing
    right after the previous frame's inference (ONNX Runtime's threads may still be spinning then)."""
    times = {name: {s: [] for s in (*STAGES, *LOOP)} for name in runs}
    for _ in range(rounds):
        for name, calls in runs.items():
            for stage in STAGES:
                for _ in range(3):
                    calls[stage]()
                for _ in range(per_round):
                    _timed(calls[stage], times[name][stage])
            for path in ("exact", "live"):
                for _ in range(per_round):
                    _timed(calls[path], times[name][f"{path}_in_loop"])
                    _timed(calls["inference"], times[name][f"inference_after_{path}"])
    result = {}
    for name, stages in times.items():
        row = {f"{s}_ms_p50": round(float(np.percentile(t, 50)), 3) for s, t in stages.items()}
        row |= {f"{s}_ms_p90": round(float(np.percentile(t, 90)), 3) for s, t in stages.items()}
        row["live_over_inference"] = round(row["live_ms_p50"] / row["inference_ms_p50"], 3)
        row["exact_over_inference"] = round(row["exact_ms_p50"] / row["inference_ms_p50"], 3)
        row["live_over_inference_in_loop"] = round(row["live_in_loop_ms_p50"] / row["inference_after_live_ms_p50"], 3)
        row["exact_over_inference_in_loop"] = round(row["exact_in_loop_ms_p50"] / row["inference_after_exact_ms_p50"], 3)
        result[name] = row
    return result


def edge_infer_video(clfs: dict[str, Classifier], photos: list[Image.Image], work: Path, rounds: int = 3) -> dict:
    """`edge-infer ARTIFACT video.mp4` on 1,200 640x480 frames (photos x 4 views), each artifact with its
    manifest saying `exact`, then `live` (--manifest), alternating: frames/s and the summary's p50s."""
    import cv2

    video = work / "video.mp4"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"mp4v"), 30.0, SIZE)
    views = ((1.0, (0.5, 0.5)), (0.85, (0.0, 0.2)), (0.85, (1.0, 0.8)), (0.7, (0.5, 0.5)))
    for i in range(1200):
        zoom, at = views[i % 4]
        writer.write(camera_frame(photos[(i // 4) % len(photos)], zoom=zoom, at=at))
    writer.release()
    out = {}
    for name, clf in clfs.items():
        out[name] = {"exact": [], "live": []}
        for _ in range(rounds):
            for path in ("exact", "live"):
                out[name][path].append(_edge_infer(clf, path, video, work))
    return out


def _edge_infer(clf: Classifier, path: str, video: Path, work: Path) -> dict:
    import json
    import subprocess
    import sys

    manifest, summary = work / f"manifest.{path}.json", work / "summary.json"
    manifest.write_text(clf.manifest.with_preprocessing(frame_preprocess=path).to_json())
    summary.unlink(missing_ok=True)
    command = [str(Path(sys.executable).with_name("edge-infer")), str(clf.path), str(video), "--manifest", str(manifest),
               "--summary-json", str(summary), "--threads", str(clf.backend.threads)]
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    data = json.loads(summary.read_text())
    return {k: data.get(k) for k in ("classified", "fps", "decode_ms_p50", "preprocess_ms_p50", "inference_ms_p50")}


def markdown(result: dict) -> str:
    m = result["machine"]
    lines = [f"# Live-frame preprocessing: {m['cpu']} ({m['cores']} cores, {result['threads']} inference threads)", "",
             f"{result['created']}; {SIZE[0]}x{SIZE[1]} BGR frames; p50 over {result['rounds']} alternating rounds "
             f"of {result['per_round']} calls. `today`: a numpy copy to RGB, then Pillow on the whole frame; "
             "`exact`: the same pixels, channels swapped in Pillow's copy; `live`: edge.runtime.live_preprocess.", "",
             "| artifact | today ms | exact ms | live ms | inference ms | live / inference | exact / inference |",
             "|---|---|---|---|---|---|---|"]
    for name, r in result["timing"].items():
        lines.append(f"| {name} | {r['today_ms_p50']} | {r['exact_ms_p50']} | {r['live_ms_p50']} | "
                     f"{r['inference_ms_p50']} | {r['live_over_inference']} | {r['exact_over_inference']} |")
    lines += ["", "As edge-infer's frame loop runs them (each frame's preprocessing right after the previous inference):",
              "", "| artifact | exact ms | inference ms | exact / inference | live ms | inference ms | live / inference |",
              "|---|---|---|---|---|---|---|"]
    for name, r in result["timing"].items():
        lines.append(f"| {name} | {r['exact_in_loop_ms_p50']} | {r['inference_after_exact_ms_p50']} | "
                     f"{r['exact_over_inference_in_loop']} | {r['live_in_loop_ms_p50']} | "
                     f"{r['inference_after_live_ms_p50']} | {r['live_over_inference_in_loop']} |")
    if result.get("agreement"):
        lines += ["", f"Agreement of the live path with the exact one ({result['photos']}):", "",
                  "| artifact | frames | n | top-1 | 95% CI | unknown decision | 95% CI | mean abs grey levels "
                  "| +-1 noise: top-1 | unknown |", "|---|---|---|---|---|---|---|---|---|---|"]
        for name, sets in result["agreement"].items():
            for kind, r in sets.items():
                lines.append(f"| {name} | {kind} | {r['frames']} | {r['top1_agreement']:.4f} | {r['top1_ci95']} | "
                             f"{r['unknown_agreement']:.4f} | {r['unknown_ci95']} | {r['mean_abs_grey_levels']} | "
                             f"{r['noise_top1_agreement']:.4f} | {r['noise_unknown_agreement']:.4f} |")
        lines += ["", "+-1 noise: the exact path on the frames with every value moved by -1, 0 or +1 at random, "
                  "against the exact path: how often the model's answer flips on a set for no resampling at all."]
    if result.get("edge_infer"):
        lines += ["", "`edge-infer ARTIFACT video.mp4` on 1,200 640x480 frames, the manifest saying exact or live "
                  "(alternating runs; frames/s, then the summary's preprocess / inference p50 ms):", "",
                  "| artifact | path | run | frames/s | preprocess ms | inference ms |", "|---|---|---|---|---|---|"]
        for name, paths in result["edge_infer"].items():
            for path, runs in paths.items():
                lines += [f"| {name} | {path} | {i + 1} | {r['fps']} | {r['preprocess_ms_p50']} | {r['inference_ms_p50']} |"
                          for i, r in enumerate(runs)]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("artifacts", nargs="+")
    parser.add_argument("--photos", help="An image folder: also measure agreement on frames made from it.")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--per-round", type=int, default=30)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/preprocess"))
    parser.add_argument("--edge-infer", action="store_true", help="Also run edge-infer on a 1,200-frame video of the photos.")
    args = parser.parse_args()
    from edge.runtime.autotune import machine_name

    clfs = {Path(a).name: Classifier(a, threads=args.threads) for a in args.artifacts}
    pres = {n: (Preprocessor(c.manifest.with_preprocessing(frame_preprocess="exact")),
                Preprocessor(c.manifest.with_preprocessing(frame_preprocess="live"))) for n, c in clfs.items()}
    result = {"machine": {"cpu": machine_name(), "cores": os.cpu_count()}, "threads": args.threads,
              "created": time.strftime("%Y-%m-%d %H:%M"), "rounds": args.rounds, "per_round": args.per_round,
              "photos": args.photos, "agreement": {}}
    with tempfile.TemporaryDirectory() as tmp:
        sets = frame_sets(args.photos, Path(tmp)) if args.photos else {}
        if args.edge_infer and args.photos:
            photos = [load_rgb(p) for p in list_images(args.photos)]
            result["edge_infer"] = edge_infer_video(clfs, photos, Path(tmp))
    frame = sets["640x480 frames"][0] if sets else np.random.default_rng(0).integers(0, 255, (480, 640, 3), np.uint8)
    result["timing"] = timing({n: stage_calls(c, *pres[n], frame) for n, c in clfs.items()}, args.rounds, args.per_round)
    for name, clf in clfs.items():
        if sets:
            result["agreement"][name] = {kind: agreement(clf, *pres[name], frames) for kind, frames in sets.items()}
    args.out.mkdir(parents=True, exist_ok=True)
    write_json(args.out / "result.json", result)
    write_text(args.out / "result.md", markdown(result))
    print(markdown(result))


if __name__ == "__main__":
    main()
