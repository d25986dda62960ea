"""`edge bench --sweep-threads`: latency per thread count, saved as a device profile."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from edge.atomic import write_json, write_text
from edge.bench.run import sweep_threads


def record_sweep(result: dict, export_dir: Path, run_dir: Path, out: Path) -> str:
    from edge.export.data import preprocess_all
    from edge.manifest import read_manifest
    from edge.train.api import load_split

    rows = [r for r in result["rows"] if r["format"] not in ("pytorch", "torchscript")]
    fastest = min(rows, key=lambda r: r["latency_ms_p50"])["format"]
    manifest = read_manifest(run_dir / "manifest.json")
    x = preprocess_all([s.path for s in load_split(run_dir, None).val[:4]], manifest)
    sweep = sweep_threads(export_dir, fastest, x.astype(np.float32), os.cpu_count() or 1)
    best = min(sweep, key=lambda r: r["latency_ms_p50"])
    result["thread_sweep"] = {"format": fastest, "rows": sweep}
    write_json(out / "bench.json", result)
    from edge.formats import FORMATS

    fmt = FORMATS[fastest]
    write_text(out / "device-profile.toml", "\n".join([
        'name = "measured"', f'description = "measured by edge bench on {result["machine"]["cpu"]}"',
        f'arch = "{result["machine"]["arch"]}"', "cpu_match = []", f"threads = {best['threads']}",
        f'backend = "{fmt.backend}"', f'precision = "{fmt.precision}"', f'artifact = "{fmt.path}"',
        'input_size_advice = "as trained"', 'camera = "OpenCV"', 'install = "pip install edge-classifier"', ""]))
    return f"thread sweep for {fastest}: " + ", ".join(f"{r['threads']}t {r['latency_ms_p50']:.2f} ms" for r in sweep)
