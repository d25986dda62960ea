"""Pick an INT8 variant by measurement: the fastest one within the accuracy budget."""

from __future__ import annotations

from pathlib import Path

from edge.export import parity
from edge.export.job import ExportJob

MAX_DROP_POINTS = 1.0  # accuracy drop budget against PyTorch, in points
MIN_AGREEMENT = 0.98  # top-1 agreement with PyTorch


def measure(runtime: str, path: Path, job: ExportJob) -> dict:
    run = parity.runner(runtime, path, job.threads)
    return {**parity.compare(parity.batched(run, job.val_x), job),
            "latency_ms": round(parity.latency_ms(run, job.val_x), 3)}


def acceptable(row: dict, max_drop: float = MAX_DROP_POINTS) -> bool:
    drop_ok = row["accuracy_drop"] is None or row["accuracy_drop"] <= max_drop
    return drop_ok and row["top1_agreement"] >= MIN_AGREEMENT


def choose(rows: list[dict]) -> tuple[dict, bool]:
    """(winner, within budget): the fastest acceptable row, else the most faithful one."""
    good = [r for r in rows if acceptable(r)]
    if good:
        return min(good, key=lambda r: r["latency_ms"]), True
    return max(rows, key=lambda r: (r["top1_agreement"], -(r["accuracy_drop"] or 0), -r["latency_ms"])), False


def public(rows: list[dict]) -> list[dict]:
    """Rows for the report, without the temporary file paths."""
    return [{k: v for k, v in r.items() if k != "path"} for r in rows]
