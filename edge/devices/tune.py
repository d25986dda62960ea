"""`edge devices tune`: the tuner's table and line. The tuner itself is edge.runtime.autotune, one
layer down, because `Classifier(folder)` resolves a folder through the same cached choice as edge-infer.
"""

from __future__ import annotations

from pathlib import Path

from edge.runtime.autotune import TuneChoice, cached_or_tuned, describe


def table_rows(choice: TuneChoice) -> list[tuple[str, str, str, str, str]]:
    """(format, threads, p50 ms, vs the winner, rounds) for every candidate timed, fastest first."""
    rows = []
    for t in sorted(choice.timings, key=lambda t: t.latency_ms):
        ratio = t.latency_ms / choice.latency_ms - 1
        rows.append((t.format, str(t.threads), f"{t.latency_ms:.2f}", "chosen" if (t.format, t.threads) ==
                     (choice.format, choice.threads) else f"+{ratio:.1%}", str(len(t.p50_ms))))
    return rows


def summary(export_dir: Path, seconds: float, max_threads: int | None, again: bool, report) -> tuple[list, str]:
    """(table rows, the one line) for `edge devices tune`; `report` gets the line said before timing."""
    choice, fresh = cached_or_tuned(export_dir, seconds, max_threads, again, report)
    return table_rows(choice), describe(choice, fresh, export_dir)
