"""Overhead of the live actions, and of a second source (not a timed test: run it on a quiet machine).

    python scripts/actions_bench.py exports/flowers5 clip.mp4 --rounds 5 --out benchmarks/actions

Every run is `edge-infer EXPORT VIDEO --no-realtime --loop --max-frames N --summary-json FILE` in a fresh
process, and its frames/s is the summary's (frames over the loop's time; model loading and the broker's
first connection are outside it). Runs alternate within each round (A B, then B A in the next round), so a
machine that warms up or slows down weighs on both sides alike; one untimed run first fills the caches.

- Actions: none, against all of them at once: --mqtt (a mosquitto this script starts on 127.0.0.1 with a
  temporary config), --on-change (an HTTP server in this script, on 127.0.0.1), --record (a temporary
  folder) and --gpio (only where gpiozero's mock pins work: GPIOZERO_PIN_FACTORY=mock). Acceptance: the
  median fps with all of them is at least 95% of the median with none.
- Sources: `VIDEO` against `a=VIDEO b=VIDEO` (one model, a thread each; N frames each): total frames/s and
  each source's fps.

Writes overhead.json and overhead.md into --out, with the CPU's name (lscpu); stops all it started.
"""

from __future__ import annotations

import argparse
import http.server
import json
import os
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from edge.atomic import write_json  # noqa: E402

HOST = "127.0.0.1"
EDGE_INFER = [sys.executable, "-m", "edge.cli.infer"]
TARGET = 0.95  # fps with every action on, as a share of fps with none


def cpu_name() -> str:
    """lscpu's model name (and core count), else what the runtime's autotune calls this machine."""
    try:
        text = subprocess.run(["lscpu"], capture_output=True, text=True, timeout=10).stdout
        name = next((line.split(":", 1)[1].strip() for line in text.splitlines() if line.startswith("Model name")), "")
    except (OSError, subprocess.TimeoutExpired):
        name = ""
    if not name:
        from edge.runtime.autotune import machine_name

        name = machine_name()
    return f"{name} ({os.cpu_count()} cores)"


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


class Broker:
    """mosquitto on 127.0.0.1 and a free port, anonymous, no persistence; its files in `folder`."""

    def __init__(self, folder: Path):
        if shutil.which("mosquitto") is None:
            raise SystemExit("mosquitto is not installed (apt-get install mosquitto): --mqtt needs a broker")
        self.port, self.folder = free_port(), folder
        lines = [f"listener {self.port} {HOST}", "allow_anonymous true", "persistence false", "log_dest stderr"]
        if os.geteuid() == 0:
            lines.append("user root")  # as root, mosquitto would switch to a user who cannot read the temp folder
        (folder / "mosquitto.conf").write_text("\n".join(lines) + "\n")
        self.log = (folder / "mosquitto.log").open("wb")
        self.proc = subprocess.Popen(["mosquitto", "-c", str(folder / "mosquitto.conf")], stdout=self.log,
                                     stderr=self.log)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and self.proc.poll() is None:
            with socket.socket() as s:
                if s.connect_ex((HOST, self.port)) == 0:
                    return
            time.sleep(0.05)
        self.stop()
        raise SystemExit(f"mosquitto did not start: {(folder / 'mosquitto.log').read_text()[-500:]}")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        self.log.close()


class Webhook:
    """An HTTP server on 127.0.0.1 that answers every POST with 204 and counts them (--on-change's target)."""

    def __init__(self):
        self.posts = 0
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                outer.posts += 1
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer((HOST, 0), Handler)
        self.url = f"http://{HOST}:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def mock_gpio_works() -> bool:
    """gpiozero importable here and its mock pin factory selectable through GPIOZERO_PIN_FACTORY=mock."""
    code = "import gpiozero; d = gpiozero.DigitalOutputDevice(17); d.on(); d.close()"
    try:
        done = subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=60,
                              env=os.environ | {"GPIOZERO_PIN_FACTORY": "mock"})
    except subprocess.TimeoutExpired:
        return False
    return done.returncode == 0


def first_label(export: Path) -> str:
    from edge.export_dir import ExportDir
    from edge.manifest import read_manifest

    folder = ExportDir(export if export.is_dir() else export.parent)
    return read_manifest(folder.manifest_path).labels[0]


def run_edge(export: Path, sources: list[str], extra: list[str], frames: int, work: Path, timeout: float) -> dict:
    """One edge-infer run in a fresh process -> its --summary-json, with the process's CPU seconds and stderr."""
    summary = work / "summary.json"
    summary.unlink(missing_ok=True)
    cmd = [*EDGE_INFER, str(export), *sources, "--no-realtime", "--loop", "--max-frames", str(frames),
           "--summary-json", str(summary), *extra]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    done = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, timeout=timeout,
                          cwd=ROOT, env=os.environ | {"GPIOZERO_PIN_FACTORY": "mock"})
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"edge-infer failed ({done.returncode}): {' '.join(cmd)}\n{done.stderr[-1500:]}")
    data = json.loads(summary.read_text())
    data["cpu_s"] = round(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime, 3)
    data["stderr"] = done.stderr
    return data


def median(values: list[float]) -> float:
    return round(statistics.median(values), 2) if values else float("nan")


def alternate(rounds: int, names: tuple[str, ...], run) -> dict[str, list[dict]]:
    """run(name) for every name in every round, the order reversed each round."""
    out: dict[str, list[dict]] = {name: [] for name in names}
    for r in range(rounds):
        for name in (names if r % 2 == 0 else names[::-1]):
            out[name].append(run(name))
            print(f"round {r + 1}/{rounds} {name}: {out[name][-1]['fps']} fps", file=sys.stderr, flush=True)
    return out


def actions(args, work: Path) -> dict:
    broker, hook = Broker(work), Webhook()
    try:
        record = work / "clips"
        without_record = ["--mqtt", f"mqtt://{HOST}:{broker.port}", "--mqtt-name", "bench", "--on-change", hook.url]
        gpio = mock_gpio_works()
        if gpio:
            without_record += ["--gpio", f"17={first_label(args.export)}"]
        extra = {"none": [], "all": [*without_record, "--record", str(record)], "no_record": without_record}
        flags = "--mqtt --on-change --record" + (" --gpio" if gpio else "")
        fired: list[dict] = []

        def run(name: str) -> dict:
            posts, clips = hook.posts, len(list(record.glob("*.mp4"))) if record.is_dir() else 0
            data = run_edge(args.export, [str(args.video)], extra[name], args.frames, work, args.timeout)
            if name == "all":
                time.sleep(0.2)  # the last POSTs of the run arrive
                fired.append({"webhook_posts": hook.posts - posts, "clips": len(list(record.glob("*.mp4"))) - clips,
                              "mqtt_connected": "mqtt: connected" in data["stderr"]})
            return data

        runs = alternate(args.rounds, ("none", "all", "no_record"), run)
    finally:
        hook.stop()
        broker.stop()
    none, every = median([r["fps"] for r in runs["none"]]), median([r["fps"] for r in runs["all"]])
    return {"flags": flags, "gpio": gpio, "fired": fired,
            "none": rows(runs["none"]), "all": rows(runs["all"]), "ratio": round(every / none, 3),
            "ok": every >= TARGET * none, "no_record": rows(runs["no_record"]),
            "ratio_no_record": round(median([r["fps"] for r in runs["no_record"]]) / none, 3)}


def sources(args, work: Path) -> dict:
    video = str(args.video)
    specs = {"one": [video], "two": [f"a={video}", f"b={video}"]}
    runs = alternate(args.rounds, ("one", "two"),
                     lambda name: run_edge(args.export, specs[name], [], args.frames, work, args.timeout))
    two = runs["two"]
    return {"one": rows(runs["one"]), "two": rows(two),
            "two_per_source_fps": {name: [r["sources"][name]["fps"] for r in two] for name in ("a", "b")},
            "two_batches": [next((line for line in r["stderr"].splitlines() if line.startswith("inference calls")), "")
                            for r in two]}


def rows(runs: list[dict]) -> dict:
    return {"fps": [r["fps"] for r in runs], "median_fps": median([r["fps"] for r in runs]),
            "frames": [r["classified"] for r in runs],
            "cpu_ms_per_frame": [round(1000 * r["cpu_s"] / max(r["classified"], 1), 2) for r in runs]}


def markdown(result: dict) -> str:
    a, s = result["actions"], result["sources"]
    lines = [f"# Overhead of the live actions and of a second source ({result['export']}, {result['video']})", "",
             f"CPU: {result['cpu']}; `{result['command']}`", "",
             f"Each run: {result['frames']} frames per source (--no-realtime --loop --max-frames), a fresh process; "
             f"{result['rounds']} rounds, the order flipped each round.", "",
             "| run | fps per round | median fps | CPU ms/frame (process) |", "|---|---|---|---|"]
    without = a["flags"].replace(" --record", "")
    for name, label in (("none", "no action"), ("all", f"all actions ({a['flags']})"),
                        ("no_record", f"all but --record ({without})")):
        lines.append(f"| {label} | {a[name]['fps']} | {a[name]['median_fps']} | {a[name]['cpu_ms_per_frame']} |")
    lines += ["", f"All but --record / none: **{a['ratio_no_record']:.3f}**.", "",
              f"All actions / none: **{a['ratio']:.3f}** (target >= {TARGET}: {'pass' if a['ok'] else 'FAIL'}); "
              f"--gpio {'on (gpiozero mock pins)' if a['gpio'] else 'left out (gpiozero mock pins not available)'}; "
              f"actions that fired per run: {a['fired']}", "",
              "| sources | total frames/s per round | median | per-source fps |", "|---|---|---|---|",
              f"| one (VIDEO) | {s['one']['fps']} | {s['one']['median_fps']} | - |",
              f"| two (a=VIDEO b=VIDEO) | {s['two']['fps']} | {s['two']['median_fps']} | "
              f"a {s['two_per_source_fps']['a']}, b {s['two_per_source_fps']['b']} |", "",
              f"Two sources / one, total frames/s: **{s['two']['median_fps'] / s['one']['median_fps']:.3f}**; "
              f"batches: {s['two_batches']}", ""]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("export", type=Path, help="an export folder (or artifact) edge-infer runs")
    parser.add_argument("video", type=Path, help="a video file, played with --loop")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--frames", type=int, default=1500, help="frames per source and run (--max-frames)")
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds one run may take")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "actions")
    args = parser.parse_args()
    if not args.video.is_file():
        raise SystemExit(f"{args.video}: no such video")
    with tempfile.TemporaryDirectory(prefix="edge-actions-bench-") as tmp:
        work = Path(tmp)
        run_edge(args.export, [str(args.video)], [], min(args.frames, 200), work, args.timeout)  # untimed: caches
        result = {"export": str(args.export), "video": str(args.video), "cpu": cpu_name(), "rounds": args.rounds,
                  "frames": args.frames, "command": " ".join(["python", *sys.argv]),
                  "actions": actions(args, work), "sources": sources(args, work)}
    args.out.mkdir(parents=True, exist_ok=True)
    write_json(args.out / "overhead.json", result)
    (args.out / "overhead.md").write_text(markdown(result))
    print(markdown(result))


if __name__ == "__main__":
    main()
