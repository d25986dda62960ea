"""One INT8 search for every format: candidates in order of preference, the first within budget wins.

Candidates are tried best-first (the setting that won on every model we measured comes first) and
the search stops at the first one within the accuracy budget. Picking "the fastest within budget"
made the choice depend on latency noise: the same graph measured 2.2 and 2.9 ms in one export, and
under load a different candidate won. Accuracy and agreement are deterministic, so two exports of
the same run now pick the same settings, and the search costs one candidate instead of nine.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from edge.export import parity
from edge.export.job import ExportJob

MAX_DROP_POINTS = 1.0  # default accuracy drop budget against PyTorch, in points (--max-drop overrides)
MIN_AGREEMENT = 0.98  # top-1 agreement with PyTorch


@dataclass(frozen=True)
class Candidate:
    name: str
    build: Callable[[Path], Path]  # writes the quantized artifact at (or beside) the given path; returns it


def measure(runtime: str, path: Path, job: ExportJob) -> dict:
    run = parity.runner(runtime, path, job.threads)
    return {**parity.compare(parity.batched(run, job.val_x), job),
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


def public(rows: list[dict]) -> list[dict]:
    """Rows for the report, without the temporary file paths."""
    return [{k: v for k, v in r.items() if k != "path"} for r in rows]
