"""Load benchmark of `edge-infer MODEL --serve` on 127.0.0.1 (not a timed test): `make serve-bench`.

    python scripts/serve_load.py exports/flowers5 ../shared/data/flowers5 --out benchmarks/serve

In one run: the in-process throughput of the runtime's own folder pipeline (run_images, decode
included, the best batch/workers setting) on the photos; the server under 1, 4, 8, 16 and 64
concurrent keep-alive clients posting the same photos (each level bounded in time and count;
a client answered 503 waits 50 ms and goes on); 10,000 requests for the server's RSS; and the
camera-loop fps of a video source with two viewers (MJPEG + SSE each) against no --serve.
Traffic goes to 127.0.0.1 only.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from edge.atomic import write_json  # noqa: E402
from edge.runtime.autotune import machine_name  # noqa: E402

HOST = "127.0.0.1"


def photos(data: Path) -> list[Path]:
    return sorted(p for p in data.rglob("*.jpg") if p.is_file())


def folder_rate(artifact: Path, paths: list[Path], settings: list[tuple[int, int]]) -> dict:
    """img/s of edge.runtime.pipeline.run_images (decode included) at each (batch, workers); best kept."""
    from edge.runtime import Classifier
    from edge.runtime.pipeline import run_images
    from edge.runtime.timing import Summary

    clf = Classifier(artifact, spin_wait=False)
    run_images(clf, paths[:32], k=3, batch_size=8, workers=2, emit=lambda p: None, on_error=lambda *a: None,
               summary=Summary())  # warm-up
    rates, cpu = {}, {}
    for batch, workers in settings:
        start, cpu_start = time.perf_counter(), own_cpu_s()
        s = run_images(clf, paths, k=3, batch_size=batch, workers=workers, emit=lambda p: None,
                       on_error=lambda *a: None, summary=Summary())
        name = f"batch{batch}_workers{workers}"
        rates[name] = round(s.classified / (time.perf_counter() - start), 1)
        cpu[name] = round(1000 * (own_cpu_s() - cpu_start) / s.classified, 2)
    best = max(rates, key=rates.get)
    return {"img_per_s": rates[best], "best_setting": best, "cpu_ms_per_image": cpu[best], "all": rates,
            "threads": clf.backend.threads}


def own_cpu_s() -> float:
    import resource

    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def process_cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def start_server(args: list[str], log: Path) -> tuple[subprocess.Popen, int]:
    """edge-infer ... --serve 127.0.0.1:0 in a subprocess; (process, port) once it listens."""
    err = open(log, "w")  # noqa: SIM115 - closed when the process ends
    proc = subprocess.Popen([sys.executable, "-m", "edge.cli.infer", *args, "--serve", f"{HOST}:0"],
                            stdout=subprocess.DEVNULL, stderr=err, cwd=ROOT)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        for line in log.read_text().splitlines():
            if line.startswith(f"serving http://{HOST}:"):
                return proc, int(line.split()[1].rsplit(":", 1)[1].strip("/"))
        if proc.poll() is not None:
            break
        time.sleep(0.1)
    proc.kill()
    raise SystemExit(f"server did not start: {log.read_text()[-500:]}")


def stop_server(proc: subprocess.Popen) -> None:
    proc.send_signal(2)
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()


async def one_request(reader, writer, head: bytes, body: bytes) -> tuple[int, bytes]:
    writer.write(head + body)
    await writer.drain()
    header = await reader.readuntil(b"\r\n\r\n")
    status = int(header[9:12])
    length = 0
    for line in header.split(b"\r\n"):
        if line[:15].lower() == b"content-length:":
            length = int(line[15:])
    return status, await reader.readexactly(length)


async def client(port: int, bodies: list[bytes], stop_at: float, budget: list[int], out: list, offset: int) -> None:
    """One keep-alive connection posting photos in turn until the level's time or count runs out."""
    reader, writer = await asyncio.open_connection(HOST, port)
    i = offset
    try:
        while time.monotonic() < stop_at and budget[0] > 0:
            budget[0] -= 1
            body = bodies[i % len(bodies)]
            i += 1
            head = (f"POST /v1/classify HTTP/1.1\r\nHost: {HOST}\r\nContent-Type: image/jpeg\r\n"
                    f"Content-Length: {len(body)}\r\n\r\n").encode()
            start = time.perf_counter()
            try:
                status, _ = await asyncio.wait_for(one_request(reader, writer, head, body), 30)
            except (OSError, asyncio.IncompleteReadError, asyncio.TimeoutError):
                out.append((0, time.perf_counter() - start))
                writer.close()
                reader, writer = await asyncio.open_connection(HOST, port)
                continue
            out.append((status, time.perf_counter() - start))
            if status == 503:
                await asyncio.sleep(0.05)
    finally:
        writer.close()


def run_level(port: int, bodies: list[bytes], clients: int, seconds: float, max_requests: int) -> dict:
    out: list[tuple[int, float]] = []
    budget = [max_requests]

    async def main():
        stop_at = time.monotonic() + seconds
        await asyncio.gather(*(client(port, bodies, stop_at, budget, out, k * 37) for k in range(clients)))

    start = time.perf_counter()
    asyncio.run(main())
    return summarise(out, time.perf_counter() - start, clients)


def summarise(out: list[tuple[int, float]], seconds: float, clients: int) -> dict:
    ok = np.array([t for s, t in out if s == 200]) * 1000
    busy = np.array([t for s, t in out if s == 503]) * 1000
    errors = sum(1 for s, _ in out if s not in (200, 503))
    row = {"clients": clients, "requests": len(out), "ok": int(ok.size), "rejected_503": int(busy.size),
           "errors": errors, "seconds": round(seconds, 2), "throughput_per_s": round(ok.size / seconds, 1)}
    if ok.size:
        row |= {"p50_ms": round(float(np.percentile(ok, 50)), 1), "p99_ms": round(float(np.percentile(ok, 99)), 1),
                "max_ms": round(float(ok.max()), 1)}
    if busy.size:
        row |= {"503_p99_ms": round(float(np.percentile(busy, 99)), 1), "503_max_ms": round(float(busy.max()), 1)}
    return row


def get_json(port: int, path: str) -> dict:
    import urllib.request

    with urllib.request.urlopen(f"http://{HOST}:{port}{path}", timeout=10) as r:
        return json.loads(r.read())


def load_levels(artifact: Path, bodies: list[bytes], levels: list[int], seconds: float, max_requests: int,
                rss_requests: int, workdir: Path) -> dict:
    proc, port = start_server([str(artifact)], workdir / "server.log")
    try:
        run_level(port, bodies, 4, 2.0, 400)  # warm-up: every batch size, allocator settled
        rss_before = rss_mb(proc.pid)
        rows = []
        for c in levels:
            cpu_start = process_cpu_s(proc.pid)
            rows.append(run_level(port, bodies, c, seconds, max_requests))
            rows[-1]["server_cpu_ms_per_ok"] = round(1000 * (process_cpu_s(proc.pid) - cpu_start) / max(rows[-1]["ok"], 1), 2)
        health = get_json(port, "/healthz")
        after = run_level(port, bodies, 1, 1.0, 20)
        rss = rss_run(proc.pid, port, bodies, rss_requests)
    finally:
        stop_server(proc)
    rss["before_levels_mb"] = round(rss_before, 1)
    return {"levels": rows, "healthy_after_levels": health, "good_request_after": after["ok"] > 0 and after["errors"] == 0,
            "rss": rss}


def rss_run(pid: int, port: int, bodies: list[bytes], requests: int, chunk: int = 1000) -> dict:
    """`requests` posts by 8 clients in chunks, RSS after each; growth from the start (after the levels,
    every batch size and the 64-client burst already seen) to the end."""
    start_mb, samples, done, ok, errors, seconds = rss_mb(pid), [], 0, 0, 0, 0.0
    while done < requests:
        row = run_level(port, bodies, 8, 120.0, min(chunk, requests - done))
        done, ok, errors, seconds = done + row["requests"], ok + row["ok"], errors + row["errors"], seconds + row["seconds"]
        samples.append((done, round(rss_mb(pid), 1)))
    end_mb = samples[-1][1]
    return {"requests": done, "ok": ok, "errors": errors, "throughput_per_s": round(ok / seconds, 1),
            "before_mb": round(start_mb, 1), "after_mb": end_mb, "rss_mb_by_request": samples,
            "growth_percent": round(100 * (end_mb / start_mb - 1), 2),
            "growth_after_first_1000_percent": round(100 * (end_mb / samples[0][1] - 1), 2)}


def make_video(paths: list[Path], out: Path, frames: int) -> Path:
    import cv2

    writer = cv2.VideoWriter(str(out), cv2.VideoWriter_fourcc(*"mp4v"), 30.0, (640, 480))
    for i in range(frames):
        if i % 4 == 0:
            frame = cv2.resize(cv2.imread(str(paths[(i // 4) % len(paths)])), (640, 480))
        writer.write(frame)
    writer.release()
    return out


class Viewer(threading.Thread):
    """Reads /stream.mjpg or /v1/events as a browser would, counting what arrives."""

    def __init__(self, port: int, path: str, marker: bytes):
        super().__init__(daemon=True)
        self.port, self.path, self.marker, self.count = port, path, marker, 0
        self.stop = threading.Event()

    def run(self) -> None:
        import http.client

        conn = http.client.HTTPConnection(HOST, self.port, timeout=2)
        conn.request("GET", self.path)
        response = conn.getresponse()
        tail = b""
        while not self.stop.is_set():
            try:
                chunk = response.read1(65536)
            except (TimeoutError, OSError):
                continue
            if not chunk:
                break
            self.count += (tail + chunk).count(self.marker)
            tail = chunk[-len(self.marker):]
        conn.close()


def plain_fps(artifact: Path, video: Path, workdir: Path) -> float:
    out = workdir / f"plain-{time.monotonic_ns()}.json"
    subprocess.run([sys.executable, "-m", "edge.cli.infer", str(artifact), str(video), "--summary-json", str(out)],
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT, check=True, timeout=300)
    return json.loads(out.read_text())["fps"]


def served_fps(artifact: Path, video: Path, workdir: Path, viewers: int = 2) -> dict:
    proc, port = start_server([str(artifact), str(video)], workdir / "live.log")
    readers = [Viewer(port, path, marker) for _ in range(viewers)
               for path, marker in (("/stream.mjpg", b"--edgeframe"), ("/v1/events", b"data: {"))]
    try:
        for r in readers:
            r.start()
        samples, deadline, first = [], time.monotonic() + 300, None
        while time.monotonic() < deadline:
            health = get_json(port, "/healthz")
            if first is None and health["frames"] > 0:
                first = (health["frames"], process_cpu_s(proc.pid))
            if health["source"] == "done":
                cpu_ms = 1000 * (process_cpu_s(proc.pid) - first[1]) / max(health["frames"] - first[0], 1)
                break
            if health["source"] == "running" and health["viewers"] == viewers:
                samples.append(health["fps"])
            time.sleep(0.5)
        seconds = max(health.get("frames", 0) / max(health["fps"], 1e-9), 1e-9)
    finally:
        for r in readers:
            r.stop.set()
        stop_server(proc)
    mjpeg = [r.count for r in readers if r.path == "/stream.mjpg"]
    sse = [r.count for r in readers if r.path == "/v1/events"]
    return {"fps": health["fps"], "frames": health["frames"], "cpu_ms_per_frame": round(cpu_ms, 2),
            "live_fps_median_with_viewers": float(np.median(samples)) if samples else None,
            "mjpeg_frames_per_viewer": mjpeg, "mjpeg_fps_per_viewer": [round(m / seconds, 1) for m in mjpeg],
            "sse_events_per_viewer": sse}


def viewer_check(artifact: Path, paths: list[Path], workdir: Path, frames: int, repeats: int) -> dict:
    video = make_video(paths, workdir / "clip.mp4", frames)
    plain, served, unwatched = [], [], []
    for _ in range(repeats):  # alternated, so a busy neighbour hurts each side alike
        plain.append(plain_fps(artifact, video, workdir))
        served.append(served_fps(artifact, video, workdir))
        unwatched.append(served_fps(artifact, video, workdir, viewers=0))
    ratio = float(np.median([s["fps"] for s in served]) / np.median(plain))
    cpu_ratio = np.median([u["cpu_ms_per_frame"] for u in unwatched]) / np.median([s["cpu_ms_per_frame"] for s in served])
    return {"video_frames": frames, "size": "640x480", "no_serve_fps": plain,
            "serve_no_viewers_fps": [u["fps"] for u in unwatched], "serve_no_viewers": unwatched,
            "serve_two_viewers": served, "ratio_median": round(ratio, 3),
            "ratio_vs_serve_no_viewers": round(float(np.median([s["fps"] for s in served])
                                                     / np.median([u["fps"] for u in unwatched])), 3),
            "cpu_per_frame_ratio_no_viewers_vs_two": round(float(cpu_ratio), 3), "target": ">= 0.90"}


def checks(result: dict) -> dict:
    folder = result["folder_pipeline"]["img_per_s"]
    rows = {r["clients"]: r for r in result["server"]["levels"]}
    c8, c64 = rows.get(8), rows.get(64)
    out = {}
    if c8:
        out["8_clients_throughput_vs_folder"] = round(c8["throughput_per_s"] / folder, 3)
        out["8_clients_ok"] = (c8["throughput_per_s"] >= 0.85 * folder and c8["errors"] == 0 and c8["rejected_503"] == 0
                               and c8["p99_ms"] <= 3 * c8["p50_ms"])
    if c64:
        out["64_clients_ok"] = (c64["errors"] == 0 and c64.get("max_ms", 0) <= 5000
                                and c64.get("503_max_ms", 0) <= 1000 and result["server"]["good_request_after"])
    out["rss_ok"] = result["server"]["rss"]["growth_percent"] <= 10 and result["server"]["rss"]["errors"] == 0
    if "viewers" in result:
        out["viewer_fps_ok"] = result["viewers"]["ratio_median"] >= 0.90
    return out


def markdown(result: dict) -> str:
    f = result["folder_pipeline"]
    lines = [f"# edge-infer --serve load benchmark ({result['artifact']})", "",
             f"CPU: {result['cpu']} ({result['cores']} cores); `{result['command']}`", "",
             f"In-process folder pipeline (run_images, decode included): **{f['img_per_s']} img/s** at {f['best_setting']} "
             f"(before the server levels; after them: {result['folder_pipeline_after']['img_per_s']} img/s)", "",
             f"CPU per image: folder pipeline {f['cpu_ms_per_image']} ms (this process); server per answered request "
             "in the last column (server process only; the load client is separate)", "",
             "| clients | requests | ok | 503 | errors | req/s | p50 ms | p99 ms | max ms | 503 max ms | server CPU ms/req |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in result["server"]["levels"]:
        lines.append(f"| {r['clients']} | {r['requests']} | {r['ok']} | {r['rejected_503']} | {r['errors']} | "
                     f"{r['throughput_per_s']} | {r.get('p50_ms', '-')} | {r.get('p99_ms', '-')} | {r.get('max_ms', '-')} | "
                     f"{r.get('503_max_ms', '-')} | {r['server_cpu_ms_per_ok']} |")
    rss = result["server"]["rss"]
    lines += ["", f"RSS over {rss['requests']} requests (8 clients, {rss['throughput_per_s']} req/s, {rss['errors']} errors), "
              f"after the levels above: {rss['before_mb']} -> {rss['after_mb']} MB ({rss['growth_percent']:+.1f}%; "
              f"{rss['growth_after_first_1000_percent']:+.1f}% after the first 1000; {rss['before_levels_mb']} MB "
              f"before the levels); by request: {rss['rss_mb_by_request']}"]
    if "viewers" in result:
        v = result["viewers"]
        lines += ["", f"Camera loop ({v['video_frames']} frames {v['size']} video): no --serve {v['no_serve_fps']} fps; "
                  f"--serve, no viewer {v['serve_no_viewers_fps']} fps; "
                  f"--serve with 2 viewers {[s['fps'] for s in v['serve_two_viewers']]} fps; ratio {v['ratio_median']} "
                  f"(vs --serve without viewers {v['ratio_vs_serve_no_viewers']}; server CPU per frame without / with "
                  f"the viewers {v['cpu_per_frame_ratio_no_viewers_vs_two']}) "
                  f"(MJPEG per viewer {[s['mjpeg_fps_per_viewer'] for s in v['serve_two_viewers']]} fps)"]
    lines += ["", "Checks: " + ", ".join(f"{k} = {v}" for k, v in result["checks"].items()), ""]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", type=Path, help="export folder or artifact")
    parser.add_argument("data", type=Path, help="photo folder (read only)")
    parser.add_argument("--artifact", default="model.int8.onnx", help="the artifact inside an export folder")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "serve")
    parser.add_argument("--levels", type=int, nargs="+", default=[1, 4, 8, 16, 64])
    parser.add_argument("--seconds", type=float, default=8.0, help="time bound of each level")
    parser.add_argument("--max-requests", type=int, default=4000, help="count bound of each level")
    parser.add_argument("--rss-requests", type=int, default=10_000)
    parser.add_argument("--video-frames", type=int, default=1200)
    parser.add_argument("--repeats", type=int, default=3, help="alternated runs of the viewer check")
    parser.add_argument("--no-viewers", action="store_true", help="skip the camera-loop check")
    args = parser.parse_args()
    artifact = args.model / args.artifact if args.model.is_dir() else args.model
    paths = photos(args.data)
    bodies = [p.read_bytes() for p in paths]
    settings = [(8, 2), (16, 2), (8, 3), (32, 2)]
    result = {"artifact": str(artifact), "photos": len(paths), "cpu": machine_name(), "cores": len(os.sched_getaffinity(0)),
              "command": " ".join(["python", *sys.argv]), "folder_pipeline": folder_rate(artifact, paths, settings)}
    with tempfile.TemporaryDirectory(prefix="serve-bench-") as tmp:
        result["server"] = load_levels(artifact, bodies, args.levels, args.seconds, args.max_requests,
                                       args.rss_requests, Path(tmp))
        result["folder_pipeline_after"] = folder_rate(artifact, paths, [tuple(map(int, result["folder_pipeline"]
                                                      ["best_setting"].replace("batch", "").split("_workers")))])
        if not args.no_viewers:
            result["viewers"] = viewer_check(artifact, paths, Path(tmp), args.video_frames, args.repeats)
    result["checks"] = checks(result)
    write_json(args.out / "load.json", result)
    (args.out / "load.md").write_text(markdown(result))
    print(markdown(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
