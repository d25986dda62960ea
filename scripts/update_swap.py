"""What an update costs a live run: a 30 fps video plays through `edge-infer --update-from URL` while a new
version is published on a local http.server; the frames lost at the swap, the per-frame latency (p50/p99)
before and in the swap window, and the self-test's agreement figure.

    python scripts/update_swap.py --old exports/flowers --new exports/flowers2 --out benchmarks/updates/swap.json

The video is flowers5 photos at 640x480, each held for half a second, played at its own rate (--realtime),
so frames arrive as a camera's would. The swap window runs from the moment the new version is published
(download, checks, load and self-test all run beside the live loop) to 2 s after the first frame it answered.
"""

from __future__ import annotations

import argparse
import http.server
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from functools import partial
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
FPS = 30.0


def make_video(path: Path, seconds: float, photos: Path) -> Path:
    import cv2

    images = [cv2.resize(cv2.imread(str(p)), (640, 480), interpolation=cv2.INTER_AREA)
              for p in sorted(photos.rglob("*.jpg"))[::7][:200]]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), FPS, (640, 480))
    for i in range(int(seconds * FPS)):
        writer.write(images[(i // int(FPS / 2)) % len(images)])
    writer.release()
    return path


class Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def serve(root: Path):
    handler = partial(Quiet, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/door/"


def publish(export: Path, pub: Path) -> None:
    """Copy the export beside, then rename it into place: the server never shows half a folder."""
    staging = pub.with_name(pub.name + ".new")
    shutil.copytree(export, staging, ignore=shutil.ignore_patterns(".edge-tune.json"))
    if pub.exists():
        shutil.rmtree(pub)
    os.replace(staging, pub)
    report = pub / "export_report.json"
    stamp = time.time() + 2  # Last-Modified has whole seconds
    os.utime(report, (stamp, stamp))


def percentiles(values: list[float]) -> dict:
    return {"n": len(values), "p50": round(float(np.percentile(values, 50)), 2),
            "p99": round(float(np.percentile(values, 99)), 2), "max": round(float(max(values)), 2)} if values else {}


def run(old: Path, new: Path, seconds: float, publish_at: float, photos: Path, artifact: str) -> dict:
    work = Path(tempfile.mkdtemp(prefix="update-swap-"))
    video = make_video(work / "clip.mp4", seconds, photos)
    pub = work / "pub" / "door"
    pub.parent.mkdir()
    publish(old, pub)
    server, url = serve(work / "pub")
    env = dict(os.environ, PYTHONUNBUFFERED="1", PYTHONPATH=str(ROOT))
    args = [str(old / artifact), str(video), "--realtime", "--json", "--threads", "1", "--update-from", url,
            "--update-every", "1", "--state-dir", str(work / "state")]
    proc = subprocess.Popen([sys.executable, "-c", "from edge.cli.infer import main; main()", *args], env=env,
                            stdout=subprocess.PIPE, stderr=(work / "stderr").open("wb"), text=True)
    rows, started, published = [], time.monotonic(), None
    for line in proc.stdout:
        now = time.monotonic() - started
        rows.append((now, json.loads(line)))
        if published is None and now >= publish_at:
            publish(new, pub)
            published = time.monotonic() - started
    proc.wait()
    server.shutdown()
    stderr = (work / "stderr").read_text()
    shutil.rmtree(work, ignore_errors=True)
    return figures(rows, published, stderr, proc.returncode)


def figures(rows: list[tuple[float, dict]], published: float | None, stderr: str, code: int) -> dict:
    versions = [r["model_version"] for _, r in rows]
    frames = [r["frame"] for _, r in rows]
    swap = next((i for i, v in enumerate(versions) if v != versions[0]), None)
    total = [sum(r["latency_ms"].values()) for _, r in rows]
    inference = [r["latency_ms"]["inference"] for _, r in rows]
    arrival = np.diff([t for t, _ in rows]) * 1000
    out = {"exit_code": code, "frames": len(rows), "missing_frame_indices": int(frames[-1] + 1 - len(set(frames))),
           "versions": list(dict.fromkeys(versions)), "swap_frame": None if swap is None else frames[swap],
           "self_test": next((line for line in stderr.splitlines() if "self-test" in line), None)}
    if swap is None or published is None:
        return out
    start = next(i for i, (t, _) in enumerate(rows) if t >= published)
    end = next((i for i, (t, _) in enumerate(rows) if t >= rows[swap][0] + 2.0), len(rows))
    before, window = slice(int(FPS * 3), start), slice(start, end)  # 3 s warm-up left out of "before"
    period = 1000 / FPS
    out.update({
        "frames_lost_at_swap": int(frames[swap] - frames[swap - 1] - 1),
        "window_s": round(rows[end - 1][0] - rows[start][0], 2),
        "frame_ms_before": percentiles(total[before]), "frame_ms_in_window": percentiles(total[window]),
        "inference_ms_before": percentiles(inference[before]), "inference_ms_in_window": percentiles(inference[window]),
        # a camera keeps only its newest frame: a frame that took over one period would have cost the next one
        "frames_over_one_period_before": int(sum(t > period for t in total[before])),
        "frames_over_one_period_in_window": int(sum(t > period for t in total[window])),
        "arrival_gap_ms_max_in_window": round(float(arrival[start:end - 1].max()), 1),
    })
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--old", type=Path, required=True, help="the export folder running at start")
    parser.add_argument("--new", type=Path, required=True, help="the export folder published mid-run (same labels)")
    parser.add_argument("--artifact", default="model.onnx", help="the artifact of --old edge-infer runs")
    parser.add_argument("--seconds", type=float, default=40.0)
    parser.add_argument("--publish-at", type=float, default=15.0)
    parser.add_argument("--photos", type=Path, default=next((p for p in (ROOT / "data" / "flowers5",
                                                                      ROOT.parent / "shared" / "data" / "flowers5")
                                                             if p.is_dir()), ROOT / "data" / "flowers5"))
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    result = run(args.old, args.new, args.seconds, args.publish_at, args.photos, args.artifact)
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor()) if Path("/proc/cpuinfo").exists() else ""
    result["machine"] = {"cpu": cpu, "cores": os.cpu_count(), "python": platform.python_version()}
    print(json.dumps(result, indent=2))
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
