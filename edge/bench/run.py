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
from edge.export.parity import load_backend, size_mb
from edge.export_dir import ExportDir
from edge.formats import FORMATS, ArtifactFormat, slower_than_fp32
from edge.hashing import file_sha256
from edge.run_dir import RunDir
from edge.train import api

PYTORCH = "pytorch"  # eager PyTorch from the run's checkpoint: the reference row, always measured first; not a format
BENCHED = [name for name, f in FORMATS.items() if not f.sensor]  # the table's formats that run on a CPU (not imx500)
ALL = [PYTORCH, *BENCHED]  # what --formats accepts


def _is_stale(run_dir: Path, export_dir: Path) -> bool:
    """An export made from another checkpoint than the run's current one."""
    from edge.manifest import read_manifest

    manifest = ExportDir(export_dir).manifest_path
    if not manifest.is_file():
        return True
    return read_manifest(manifest).source_sha256 != file_sha256(RunDir(run_dir).checkpoint_path)


def _export_folders(run_dir: Path, export_dir: Path, names: list[str], force: bool, workdir: Path,
                    log) -> dict[str, Path]:
    """The folder each format of `names` is measured from. Bench writes into the export folder only when it
    is empty or with `force`; formats it lacks are otherwise exported into `workdir` for this bench only,
    so an export (and the tune cache beside it) is never replaced behind the user's back."""
    from edge.export.pipeline import export

    folder = ExportDir(export_dir)
    missing = [n for n in names if not folder.has(n)]
    empty = not export_dir.exists() or (export_dir.is_dir() and not any(export_dir.iterdir()))
    stale = not empty and _is_stale(run_dir, export_dir)
    if empty or (force and (missing or stale)):
        held = [n for n in FORMATS if not empty and folder.has(n)]
        log(f"exporting {', '.join(dict.fromkeys(held + names))} into {export_dir}"
            + (" (--force: it is replaced)" if not empty else ""))
        export(source=str(run_dir), out=export_dir, formats=list(dict.fromkeys(held + names)), log=log, force=force)
        return dict.fromkeys(names, export_dir)
    if stale:
        raise EdgeError(f"{export_dir}: exported from another checkpoint than {run_dir}'s; pass --force to "
                        "re-export it, or choose a new --export-dir")
    if missing:
        log(f"{export_dir} lacks {', '.join(missing)}: exporting them into a temporary folder for this bench "
            f"({export_dir} is left as it is; --force re-exports it with them)")
        export(source=str(run_dir), out=workdir / "export", formats=missing, log=log)
    return {n: workdir / "export" if n in missing else export_dir for n in names}


@dataclass
class Entry:
    """One row of the bench: a name, how to load it, its precision and file."""

    name: str
    load: Callable
    precision: str
    path: Path | None
    peer: bool = False
    note: str = ""
    fmt: ArtifactFormat | None = None  # its format in the table (None: PyTorch or a peer)


def _pytorch_entry(run_dir: Path, threads: int) -> Entry:
    """Eager PyTorch from the run's checkpoint: the reference every other row's agreement is measured against."""
    from edge.export.torch_backend import TorchBackend

    return Entry(PYTORCH, lambda: TorchBackend(api.load_run(run_dir).model, threads).load().run, "fp32",
                 RunDir(run_dir).checkpoint_path)


def _artifact_entry(fmt: ArtifactFormat, folder: Path, threads: int) -> Entry:
    path = ExportDir(folder).artifact(fmt)
    return Entry(fmt.name, lambda: load_backend(fmt.backend, path, threads).run, fmt.precision, path, fmt=fmt)


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
    return {e.name: (e.path, e.fmt.backend) for e in entries if e.fmt is not None and e.fmt.backend != "torch"}


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
            if entry.fmt is None or entry.fmt.backend == "torch":
                row["peak_rss_is"] = "bench process (holds torch)"
                continue
            row["peak_rss_mb"] = measure_in_child(entry.path, entry.fmt.backend, threads, inputs)
            row["peak_rss_is"] = "torch-free runtime process"


def _flag_slow_int8(rows: list[dict]) -> None:
    """`slower_than_fp32` on every INT8 row measured beside its FP32 sibling (edge.formats.slower_than_fp32)."""
    slower = slower_than_fp32({r["format"]: r["latency_ms_p50"] for r in rows})
    for row in rows:
        if row["format"] in slower:
            row["slower_than_fp32"] = slower[row["format"]]


def bench(*, run_dir: Path, export_dir: Path, out: Path, formats: list[str] | None = None, threads: int = 2,
          repeats: int = 100, peers: bool = False, force: bool = False, log=print) -> dict:
    """`force`: re-export `export_dir` when it lacks a format or is stale (else a temporary export)."""
    from edge.export.data import preprocess_all

    unknown = [n for n in formats or [] if n not in ALL]
    if unknown:
        raise EdgeError(f"unknown format '{unknown[0]}'; choose from: {', '.join(ALL)}")
    names = [n for n in BENCHED if n in (formats or ALL)]  # PyTorch, the reference, is always measured
    with tempfile.TemporaryDirectory(prefix="edge-bench-") as tmp:  # peers and missing formats: measured, not kept
        folders = _export_folders(run_dir, export_dir, names, force, Path(tmp), log)
        run = api.load_run(run_dir)  # once: its split, manifest and model serve the floors and the peers
        x = preprocess_all([s.path for s in run.split.val], run.manifest)
        y = np.array([s.label for s in run.split.val])
        info = {**machine.machine_info(threads), **_floors(run, threads)}
        entries = [_pytorch_entry(run_dir, threads), *(_artifact_entry(FORMATS[n], folders[n], threads) for n in names)]
        if peers:
            entries += _peer_entries(run, Path(tmp) / "peers", threads, log)
        rows = _measure_all(entries, x, y, info, repeats)
        glass.add_to_rows(rows, _runtime_artifacts(entries), run.split.val[0].path, threads, repeats, log)
    for row in rows:
        if folders.get(row["format"], export_dir) != export_dir:
            row["exported_for_this_bench"] = True  # the export folder lacks it: built in a temporary folder
    held_out = run.held_out  # written by train (metrics.json); a cached-feature head is refit on every photo
    base = rows[0]["accuracy"]
    for row in rows:
        row["accuracy_drop"] = round(100 * (base - row["accuracy"]), 2)
        acc = f"acc {row['accuracy']:.4f}  " if held_out else ""
        log(f"{row['format']:28s} p50 {row['latency_ms_p50']:.2f} ms  {acc}"
            f"agree {row['top1_agreement']:.4f}  {row['throughput_ips']:.0f} img/s")
    _flag_slow_int8(rows)
    result = {"machine": info, "run": str(run_dir), "images": len(x), "created": time.strftime("%Y-%m-%d %H:%M"),
              "photos_held_out": held_out, "accuracy_photos_note": photos_note(held_out), "rows": rows}
    out.mkdir(parents=True, exist_ok=True)
    write_json(out / "bench.json", result)
    write_text(out / "bench.md", markdown(result))
    plot(result, out / "bench.png")
    return result
