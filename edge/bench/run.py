"""`edge bench RUN_DIR`: export what is missing, then measure every format in this process."""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from edge.atomic import write_json, write_text
from edge.bench import glass, machine, measure
from edge.bench.report import markdown, plot
from edge.errors import EdgeError
from edge.export.parity import runner, size_mb
from edge.export_dir import ExportDir
from edge.formats import FORMATS, flag_slow_int8
from edge.hashing import file_sha256
from edge.train import api

# eager PyTorch, then every artifact of the format table that runs on a CPU (imx500 runs on its camera's sensor)
ALL = ["pytorch", *(name for name, f in FORMATS.items() if not f.sensor)]


def _is_stale(run_dir: Path, export_dir: Path) -> bool:
    """An export made from another checkpoint than the run's current one."""
    from edge.manifest import read_manifest

    manifest = ExportDir(export_dir).manifest_path
    if not manifest.is_file():
        return True
    return read_manifest(manifest).source_sha256 != file_sha256(run_dir / api.CHECKPOINT_NAME)


def _export_folders(run_dir: Path, export_dir: Path, names: list[str], force: bool, workdir: Path,
                    log) -> dict[str, Path]:
    """The folder each format is measured from. Bench writes into the export folder only when it is
    empty or with `force`; formats it lacks are otherwise exported into `workdir` for this bench only,
    so an export (and the tune cache beside it) is never replaced behind the user's back."""
    from edge.export.pipeline import export

    wanted = [n for n in names if n != "pytorch"]
    missing = [n for n in wanted if not (export_dir / FORMATS[n].path).is_file()]
    empty = not export_dir.exists() or (export_dir.is_dir() and not any(export_dir.iterdir()))
    stale = not empty and _is_stale(run_dir, export_dir)
    if empty or (force and (missing or stale)):
        held = [n for n, f in FORMATS.items() if not empty and (export_dir / f.path).is_file()]
        log(f"exporting {', '.join(dict.fromkeys(held + wanted))} into {export_dir}"
            + (" (--force: it is replaced)" if not empty else ""))
        export(source=str(run_dir), out=export_dir, formats=list(dict.fromkeys(held + wanted)), log=log, force=force)
        return {n: export_dir for n in wanted}
    if stale:
        raise EdgeError(f"{export_dir}: exported from another checkpoint than {run_dir}'s; pass --force to "
                        "re-export it, or choose a new --export-dir")
    if missing:
        log(f"{export_dir} lacks {', '.join(missing)}: exporting them into a temporary folder for this bench "
            f"({export_dir} is left as it is; --force re-exports it with them)")
        export(source=str(run_dir), out=workdir / "export", formats=missing, log=log)
    return {n: workdir / "export" if n in missing else export_dir for n in wanted}


def _loader(name: str, run_dir: Path, folders: dict[str, Path], threads: int) -> Callable:
    if name == "pytorch":
        from edge.export.torch_backend import TorchBackend

        return lambda: TorchBackend(api.load_run(run_dir).model, threads).load().run
    fmt = FORMATS[name]
    return lambda: runner(fmt.backend, folders[name] / fmt.path, threads)


def _artifact(name: str, run_dir: Path, folders: dict[str, Path]) -> Path:
    return run_dir / api.CHECKPOINT_NAME if name == "pytorch" else folders[name] / FORMATS[name].path


def _precision(name: str) -> str:
    return "fp32" if name == "pytorch" else FORMATS[name].precision


@dataclass
class Entry:
    """One row of the bench: a name, how to load it, its precision and file."""

    name: str
    load: Callable
    precision: str
    path: Path | None
    peer: bool = False
    note: str = ""


def _floors(run: api.LoadedRun, threads: int) -> dict:
    gflops = machine.model_gflops(run.model, tuple(run.manifest.input_size))
    bf16 = machine.peak_bf16_gflops(threads) if machine.has_bf16() else None
    return {"model_gflops": round(gflops, 4), "peak_fp32_gflops": round(machine.peak_fp32_gflops(threads), 1),
            "peak_bf16_gflops": round(bf16, 1) if bf16 else None,
            "peak_int8_gops": round(machine.peak_int8_gops(threads), 1),
            "memory_gbs": round(machine.memory_bandwidth_gbs(), 1)}


def floor_ms(info: dict, precision: str, size_mb: float) -> tuple[float, str]:
    """The larger of the compute floor (FLOPs / measured peak) and the memory floor (the weights
    read once / measured bandwidth); and which one it is."""
    peak = {"int8": info["peak_int8_gops"], "bf16": info.get("peak_bf16_gflops")}.get(precision)
    compute = info["model_gflops"] / (peak or info["peak_fp32_gflops"]) * 1000
    memory = size_mb / 1000 / info["memory_gbs"] * 1000
    return (round(compute, 3), "compute") if compute >= memory else (round(memory, 3), "memory")


def _entries(names: list[str], run_dir: Path, folders: dict[str, Path], threads: int) -> list[Entry]:
    return [Entry(n, _loader(n, run_dir, folders, threads), _precision(n), _artifact(n, run_dir, folders))
            for n in names]


def _peer_entries(run: api.LoadedRun, workdir: Path, threads: int, log) -> list[Entry]:
    from edge.bench.peers import build_peers
    from edge.export.data import balanced_calibration, preprocess_all

    calibration = preprocess_all(balanced_calibration(run.split.train, 100), run.manifest)
    peers = build_peers(run.model, tuple(run.manifest.input_size), calibration, workdir, threads, log)
    return [Entry(p.name, p.load, p.precision, p.path, True, p.note) for p in peers if p.load is not None]


def _measure_all(entries: list[Entry], x: np.ndarray, y: np.ndarray, info: dict, repeats: int) -> list[dict]:
    rows, reference = [], None
    for e in entries:  # each format alone in memory, so its peak RSS is its own
        row, logits = measure.measure(e.load, x, y, reference)
        reference = logits if reference is None else reference
        size = size_mb(e.path) if e.path else 0.0
        floor, bound = floor_ms(info, e.precision, size)
        rows.append({"format": e.name, "precision": e.precision, **row, "size_mb": size, "floor_ms": floor,
                     "floor_bound": bound, **({"peer": True, "note": e.note} if e.peer else {})})
    _runtime_memory(entries, rows, x, info["threads"])
    latencies = measure.interleaved_latencies({e.name: e.load() for e in entries}, x, repeats)
    for row in rows:
        p50, p90 = latencies[row["format"]]
        row.update(latency_ms_p50=round(p50, 3), latency_ms_p90=round(p90, 3),
                   below_floor=p50 < row["floor_ms"])
    return rows


def _runtime_artifacts(entries: list[Entry]) -> dict[str, tuple[Path, str]]:
    """The rows edge-infer could run (torch-free formats of the table): name -> (file, backend)."""
    return {e.name: (e.path, FORMATS[e.name].backend) for e in entries
            if not e.peer and e.name in FORMATS and FORMATS[e.name].backend != "torch"}


def photos_note(held_out: bool) -> str:
    if held_out:
        return "the run's held-out split (no training saw it)"
    return ("the run's val split, which the deployed head was refit on: agreement with PyTorch, not accuracy; "
            "the honest estimate is in metrics.json")


def _runtime_memory(entries: list[Entry], rows: list[dict], x: np.ndarray, threads: int) -> None:
    """Our torch-free artifacts' peak RSS as edge-infer pays it (a child process with the runtime alone);
    PyTorch, TorchScript and the peers keep the in-process figure, labelled as such."""
    from edge.bench.runtime_rss import measure_in_child

    with tempfile.TemporaryDirectory(prefix="edge-rss-") as tmp:
        inputs = Path(tmp) / "x.npy"
        np.save(inputs, x)
        for entry, row in zip(entries, rows):
            fmt = FORMATS.get(entry.name)
            if entry.peer or fmt is None or fmt.backend == "torch":
                row["peak_rss_is"] = "bench process (holds torch)"
                continue
            row["peak_rss_mb"] = measure_in_child(entry.path, fmt.backend, threads, inputs)
            row["peak_rss_is"] = "torch-free runtime process"


def bench(*, run_dir: Path, export_dir: Path, out: Path, formats: list[str] | None = None, threads: int = 2,
          repeats: int = 100, peers: bool = False, force: bool = False, log=print) -> dict:
    """`force`: re-export `export_dir` when it lacks a format or is stale (else a temporary export)."""
    from edge.export.data import preprocess_all

    unknown = [n for n in formats or [] if n not in ALL]
    if unknown:
        raise EdgeError(f"unknown format '{unknown[0]}'; choose from: {', '.join(ALL)}")
    names = [n for n in ALL if n in (formats or ALL)]
    with tempfile.TemporaryDirectory(prefix="edge-bench-") as tmp:  # peers and missing formats: measured, not kept
        folders = _export_folders(run_dir, export_dir, names, force, Path(tmp), log)
        run = api.load_run(run_dir)  # once: its split, manifest and model serve the floors and the peers
        x = preprocess_all([s.path for s in run.split.val], run.manifest)
        y = np.array([s.label for s in run.split.val])
        info = {**machine.machine_info(threads), **_floors(run, threads)}
        entries = _entries(["pytorch"] + [n for n in names if n != "pytorch"], run_dir, folders, threads)
        if peers:
            entries += _peer_entries(run, Path(tmp) / "peers", threads, log)
        rows = _measure_all(entries, x, y, info, repeats)
        glass.add_to_rows(rows, _runtime_artifacts(entries), run.split.val[0].path, threads, repeats, log)
    for row in rows:
        if folders.get(row["format"], export_dir) != export_dir:
            row["exported_for_this_bench"] = True  # the export folder lacks it: built in a temporary folder
    held_out = run.manifest.metrics.get("strategy") == "finetune"  # a frozen-feature head is refit on every photo
    base = rows[0]["accuracy"]
    for row in rows:
        row["accuracy_drop"] = round(100 * (base - row["accuracy"]), 2)
        acc = f"acc {row['accuracy']:.4f}  " if held_out else ""
        log(f"{row['format']:28s} p50 {row['latency_ms_p50']:.2f} ms  {acc}"
            f"agree {row['top1_agreement']:.4f}  {row['throughput_ips']:.0f} img/s")
    flag_slow_int8(rows, "format", "latency_ms_p50")
    result = {"machine": info, "run": str(run_dir), "images": len(x), "created": time.strftime("%Y-%m-%d %H:%M"),
              "photos_held_out": held_out, "accuracy_photos_note": photos_note(held_out), "rows": rows}
    out.mkdir(parents=True, exist_ok=True)
    write_json(out / "bench.json", result)
    write_text(out / "bench.md", markdown(result))
    plot(result, out / "bench.png")
    return result
