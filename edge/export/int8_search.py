"""One INT8 search for every format: candidates in order of preference, the first within budget wins.

Candidates are tried best-first (the setting that won on every model we measured comes first) and
the search stops at the first one within the accuracy budget. Picking "the fastest within budget"
made the choice depend on latency noise: the same graph measured 2.2 and 2.9 ms in one export, and
under load a different candidate won. Accuracy and agreement are deterministic, so two exports of
the same run now pick the same settings, and the search costs one candidate instead of nine.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from edge.errors import EdgeError
from edge.export import parity
from edge.export.job import ExportJob

MIN_AGREEMENT = 0.98  # top-1 agreement with PyTorch


@dataclass(frozen=True)
class Candidate:
    name: str
    build: Callable[[Path], Path]  # writes the quantized artifact at (or beside) the given path; returns it


def measure(runtime: str, path: Path, job: ExportJob) -> dict:
    run = parity.load_backend(runtime, path, job.threads).run
    return {**parity.compare(parity.batched(run, job.val_x), job.reference_logits, job.val_y),
            "latency_ms": round(parity.latency_ms(run, job.val_x), 3)}


def acceptable(row: dict, max_drop: float) -> bool:
    drop_ok = row["accuracy_drop"] is None or row["accuracy_drop"] <= max_drop
    return drop_ok and row["top1_agreement"] >= MIN_AGREEMENT


def most_faithful(rows: list[dict]) -> dict:
    return max(rows, key=lambda r: (r["top1_agreement"], -(r["accuracy_drop"] or 0), -r["latency_ms"]))


def search(candidates: list[Candidate], runtime: str, job: ExportJob, workdir: Path,
           suffix: str) -> tuple[dict, bool, list[dict]]:
    """(winner row, within budget, every row tried) for candidates tried in order.

    A candidate that fails to build is recorded and skipped; if none builds, the error propagates.
    """
    budget = job.budget
    tried, failed = [], []
    for c in candidates:
        try:  # one candidate's calibration can fail on degenerate ranges; the others still count
            path = c.build(workdir / f"{c.name}{suffix}")
        except Exception as exc:
            failed.append({"settings": c.name, "error": f"{type(exc).__name__}: {str(exc)[:120]}"})
            continue
        row = {"settings": c.name, "path": path, **measure(runtime, path, job)}
        row["within_budget"] = acceptable(row, budget)
        tried.append(row)
        if row["within_budget"]:
            return row, True, tried + failed
    if not tried:
        raise RuntimeError(f"every quantization setting failed ({failed[0]['error']})")
    return most_faithful(tried), False, tried + failed


def winner(job: ExportJob, format_name: str, candidates: list[Candidate], runtime: str, workdir: Path,
           suffix: str) -> Path:
    """Run the search for one INT8 format, note it in the report, and return the winner's file (in
    `workdir`, which the caller copies from and then removes)."""
    try:
        best, within, tried = search(candidates, runtime, job, workdir, suffix)
    except RuntimeError as exc:
        raise EdgeError(f"{format_name}: {exc}") from None
    job.notes[format_name] = {"settings": best["settings"], "within_budget": within, "budget_points": job.budget,
                              "candidates": public(tried)}
    return best["path"]


def keep_winner(job: ExportJob, format_name: str, candidates: list[Candidate], runtime: str, workdir: Path,
                suffix: str, embed_manifest: Callable) -> Path:
    """For one-file INT8 formats (ONNX, TFLite): search, copy the winner to the format's path, remove the
    candidates, embed the INT8 manifest."""
    best = winner(job, format_name, candidates, runtime, workdir, suffix)
    path = job.artifact(format_name)
    shutil.copyfile(best, path)
    shutil.rmtree(workdir)
    embed_manifest(path, job.manifest_for(format_name))
    return path


def public(rows: list[dict]) -> list[dict]:
    """Rows for the report, without the temporary file paths."""
    return [{k: v for k, v in r.items() if k != "path"} for r in rows]
