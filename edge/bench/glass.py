"""Glass to label: what a camera frame (or a photo) costs from pixels to an answer, stage by stage.

The bench's latency is tensor-in: the model alone on a preprocessed batch of one. A device pays more:
the frame is resized, cropped and normalised (the manifest's frame path), the model runs, and its
outputs become a label (softmax, top-k, the unknown threshold). Per torch-free artifact, the p50 of
each stage and of their sum, for:
- a 640x480 BGR frame (a USB camera, a video, picam's main stream),
- a frame at the model's size (a camera asked for it, picam without a view: edge.runtime.capture_size),
- picam's lores stream at that size (YUV420, converted first: "decode"),
- a 640x480 JPEG (a photo sent to --serve: decoded as the manifest says, then the photo path).
Measured in alternating rounds, like the tensor-in latency: a shared machine's drift hits all alike.
"""

from __future__ import annotations

import io
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image

FRAME = (640, 480)
STAGES = ("decode", "preprocess", "inference", "postprocess")


def camera_frame(img: Image.Image, size: tuple[int, int] = FRAME, zoom: float = 1.0,
                 at: tuple[float, float] = (0.5, 0.5)) -> np.ndarray:
    """The photo's largest box of the frame's aspect (times `zoom`, centred at `at`), resized to a BGR frame."""
    w, h = img.size
    bw = min(w, h * size[0] / size[1]) * zoom
    bh = bw * size[1] / size[0]
    x0, y0 = (w - bw) * at[0], (h - bh) * at[1]
    return np.asarray(img.resize(size, Image.BICUBIC, box=(x0, y0, x0 + bw, y0 + bh)))[:, :, ::-1].copy()


def inputs(photo: Path, resize_size: int) -> dict[str, tuple[Callable, object]]:
    """kind -> (decode, what it decodes): each kind's input, made once from one photo."""
    from edge.runtime.capture_size import smallest_size
    from edge.runtime.images import load_rgb
    from edge.runtime.picam_streams import yuv420_to_bgr

    img = load_rgb(photo)
    frame, small = camera_frame(img), smallest_size(FRAME, resize_size)
    small_frame = camera_frame(img, small)
    jpeg = io.BytesIO()
    Image.fromarray(frame[:, :, ::-1]).save(jpeg, "JPEG", quality=90)
    yuv = _yuv420(small_frame)
    return {f"{FRAME[0]}x{FRAME[1]} BGR frame": (None, frame),
            f"{small[0]}x{small[1]} BGR frame": (None, small_frame),
            f"{small[0]}x{small[1]} YUV420 (picam lores)": (lambda data: yuv420_to_bgr(data, *small), yuv),
            f"{FRAME[0]}x{FRAME[1]} JPEG": ("photo", jpeg.getvalue())}


def _yuv420(bgr: np.ndarray) -> np.ndarray:
    """picamera2's YUV420 layout (full range) of a frame: Y rows, then the U and V planes."""
    import cv2

    h, w = bgr.shape[:2]
    ycrcb = cv2.cvtColor(bgr, cv2.COLOR_BGR2YCrCb)
    half = [cv2.resize(ycrcb[:, :, c], (w // 2, h // 2), interpolation=cv2.INTER_AREA) for c in (2, 1)]
    return np.concatenate([ycrcb[:, :, 0], np.concatenate(half).reshape(h // 2, w)])


def one_call(clf, decode, data) -> dict[str, float]:
    """One input to its label, each stage timed (ms)."""
    times, t0 = {}, time.perf_counter()
    if decode == "photo":
        img = clf.preprocess.load(data, name="request")
        t1 = time.perf_counter()
        x = clf.preprocess(img)[None]
    else:
        frame = data if decode is None else decode(data)
        t1 = time.perf_counter()
        x = clf.preprocess.frame(frame)[None]
    t2 = time.perf_counter()
    outputs = clf.outputs(x)
    t3 = time.perf_counter()
    clf.decide(outputs, 3)
    t4 = time.perf_counter()
    for stage, (a, b) in zip(STAGES, ((t0, t1), (t1, t2), (t2, t3), (t3, t4))):
        times[stage] = (b - a) * 1000
    return times


def measure(clfs: dict, photo: Path, repeats: int = 100, rounds: int = 5) -> dict[str, dict]:
    """name -> kind -> {"ms_p50", "<stage>_ms_p50"}: glass-to-label for each Classifier in `clfs`."""
    kinds = {name: inputs(photo, clf.manifest.preprocessing.resize_size) for name, clf in clfs.items()}
    times = {name: {kind: [] for kind in kinds[name]} for name in clfs}
    per_round = max(1, repeats // rounds)
    for _ in range(rounds):
        for name, clf in clfs.items():
            for kind, (decode, data) in kinds[name].items():
                for _ in range(3):
                    one_call(clf, decode, data)
                times[name][kind] += [one_call(clf, decode, data) for _ in range(per_round)]
    return {name: {kind: _summary(calls) for kind, calls in by_kind.items()} for name, by_kind in times.items()}


def _summary(calls: list[dict[str, float]]) -> dict[str, float]:
    out = {"ms_p50": round(float(np.percentile([sum(c.values()) for c in calls], 50)), 3)}
    out |= {f"{s}_ms_p50": round(float(np.percentile([c[s] for c in calls], 50)), 3) for s in STAGES}
    return out


def add_to_rows(rows: list[dict], artifacts: dict[str, tuple[Path, str]], photo: Path, threads: int,
                repeats: int, log=print) -> None:
    """row["glass"] for every row named in `artifacts` (name -> (file, backend)); a row whose artifact
    cannot load in the runtime (its library missing) says why instead."""
    from edge.errors import EdgeError
    from edge.runtime.classifier import Classifier

    clfs = {}
    for name, (path, backend) in artifacts.items():
        try:
            clfs[name] = Classifier(path, backend=backend, threads=threads)
        except EdgeError as exc:
            log(f"glass to label: {name} skipped ({exc})")
    measured = measure(clfs, photo, repeats) if clfs else {}
    for row in rows:
        if row["format"] in measured:
            row["glass"] = measured[row["format"]]


def markdown_lines(result: dict) -> list[str]:
    rows = [r for r in result["rows"] if r.get("glass")]
    if not rows:
        return []
    lines = ["", "Glass to label (p50 ms; the split is each stage's own p50; tensor-in is the latency above):", "",
             "| format | input | glass to label | decode | preprocess | inference | postprocess | tensor-in |",
             "|---|---|---|---|---|---|---|---|"]
    for row in rows:
        for kind, g in row["glass"].items():
            lines.append(f"| {row['format']} | {kind} | {g['ms_p50']} | {g['decode_ms_p50']} | {g['preprocess_ms_p50']} | "
                         f"{g['inference_ms_p50']} | {g['postprocess_ms_p50']} | {row['latency_ms_p50']} |")
    return lines


def table(result: dict):
    """The same as a rich Table for the command line, or None when no row has it."""
    from rich.table import Table

    rows = [r for r in result["rows"] if r.get("glass")]
    if not rows:
        return None
    out = Table(title="glass to label, p50 ms (decode + preprocess + inference + postprocess)")
    for col in ("format", "input", "glass to label", "decode", "preprocess", "inference", "postprocess", "tensor-in"):
        out.add_column(col, justify="left" if col in ("format", "input") else "right")
    for row in rows:
        for kind, g in row["glass"].items():
            out.add_row(row["format"], kind, f"{g['ms_p50']:.2f}", *(f"{g[s + '_ms_p50']:.2f}" for s in STAGES),
                        f"{row['latency_ms_p50']:.2f}")
    return out
