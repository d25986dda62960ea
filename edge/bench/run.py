"""`edge bench RUN_DIR`: export what is missing, then measure every format in this process."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from edge.atomic import write_json, write_text
from edge.bench import machine, measure
from edge.bench.report import markdown, plot
from edge.errors import EdgeError
from edge.export.parity import runner, size_mb
from edge.formats import FORMATS, flag_slow_int8
from edge.train import api

ALL = ["pytorch", *FORMATS]  # eager PyTorch, then every artifact of the format table


def _is_stale(run_dir: Path, export_dir: Path) -> bool:
    """An export made from another checkpoint than the run's current one."""
    from edge.manifest import read_manifest

    manifest = export_dir / "manifest.json"
    if not manifest.is_file():
        return True
    return read_manifest(manifest).source_sha256 != api.file_sha256(run_dir / api.CHECKPOINT_NAME)


def _ensure_exports(run_dir: Path, export_dir: Path, names: list[str], log) -> None:
    missing = [n for n in names if n != "pytorch" and not (export_dir / FORMATS[n].path).is_file()]
    if missing or _is_stale(run_dir, export_dir):
        from edge.export.pipeline import export

        log(f"exporting {', '.join(missing) or 'all formats (export is from an older checkpoint)'}")
        # force: bench may replace its own earlier export; claim_export_dir still refuses any other folder
        export(source=str(run_dir), out=export_dir, formats=[n for n in names if n != "pytorch"], log=log, force=True)


def _loader(name: str, run_dir: Path, export_dir: Path, threads: int) -> Callable:
    if name == "pytorch":
        from edge.export.torch_backend import TorchBackend

        return lambda: TorchBackend(api.load_run(run_dir).model, threads).load().run
    fmt = FORMATS[name]
    return lambda: runner(fmt.backend, export_dir / fmt.path, threads)


def _artifact(name: str, run_dir: Path, export_dir: Path) -> Path:
    return run_dir / api.CHECKPOINT_NAME if name == "pytorch" else export_dir / FORMATS[name].path


def _precision(name: str) -> str:
    return "fp32" if name == "pytorch" else FORMATS[name].precision


def _floors(run_dir: Path, threads: int) -> dict:
    run = api.load_run(run_dir)
    gflops = machine.model_gflops(run.model, tuple(run.manifest.input_size))
    return {"model_gflops": round(gflops, 4), "peak_fp32_gflops": round(machine.peak_fp32_gflops(threads), 1),
            "peak_int8_gops": round(machine.peak_int8_gops(threads), 1)}


def bench(*, run_dir: Path, export_dir: Path, out: Path, formats: list[str] | None = None, threads: int = 2,
          repeats: int = 100, log=print) -> dict:
    from edge.export.data import preprocess_all
    from edge.manifest import read_manifest

    unknown = [n for n in formats or [] if n not in ALL]
    if unknown:
        raise EdgeError(f"unknown format '{unknown[0]}'; choose from: {', '.join(ALL)}")
    names = [n for n in ALL if n in (formats or ALL)]
    _ensure_exports(run_dir, export_dir, names, log)
    manifest = read_manifest(run_dir / "manifest.json")
    split = api.load_split(run_dir)
    x, y = preprocess_all([s.path for s in split.val], manifest), np.array([s.label for s in split.val])
    info = {**machine.machine_info(threads), **_floors(run_dir, threads)}
    order = ["pytorch"] + [n for n in names if n != "pytorch"]
    rows, reference = [], None
    for name in order:  # each format alone in memory, so its peak RSS is its own
        row, logits = measure.measure(_loader(name, run_dir, export_dir, threads), x, y, reference)
        reference = logits if reference is None else reference
        precision = _precision(name)
        peak = info["peak_int8_gops"] if precision == "int8" else info["peak_fp32_gflops"]
        rows.append({"format": name, "precision": precision, **row,
                     "size_mb": size_mb(_artifact(name, run_dir, export_dir)),
                     "floor_ms": round(info["model_gflops"] / peak * 1000, 3)})
    latencies = measure.interleaved_latencies({n: _loader(n, run_dir, export_dir, threads)() for n in order}, x,
                                              repeats)
    for row in rows:
        p50, p90 = latencies[row["format"]]
        row.update(latency_ms_p50=round(p50, 3), latency_ms_p90=round(p90, 3))
        log(f"{row['format']:14s} p50 {p50:.2f} ms  acc {row['accuracy']:.4f}  "
            f"agree {row['top1_agreement']:.4f}  {row['throughput_ips']:.0f} img/s")
    base = rows[0]["accuracy"]
    for row in rows:
        row["accuracy_drop"] = round(100 * (base - row["accuracy"]), 2)
    flag_slow_int8(rows, "format", "latency_ms_p50")
    result = {"machine": info, "run": str(run_dir), "images": len(x), "created": time.strftime("%Y-%m-%d %H:%M"),
              "rows": rows}
    out.mkdir(parents=True, exist_ok=True)
    write_json(out / "bench.json", result)
    write_text(out / "bench.md", markdown(result))
    plot(result, out / "bench.png")
    return result


def sweep_threads(export_dir: Path, fmt: str, x: np.ndarray, max_threads: int) -> list[dict]:
    """Batch-1 latency per thread count for one format."""
    rows = []
    for threads in range(1, max_threads + 1):
        run = runner(FORMATS[fmt].backend, export_dir / FORMATS[fmt].path, threads)
        p50, p90 = measure.latency_percentiles(run, x, 50)
        rows.append({"threads": threads, "latency_ms_p50": round(p50, 3), "latency_ms_p90": round(p90, 3)})
    return rows

