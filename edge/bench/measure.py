"""Measure formats: load time, accuracy/agreement, throughput, peak RSS; latency in rounds."""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np

from edge.export.parity import batched, compare
from edge.runtime.peak_memory import peak_rss_mb, reset_peak
from edge.runtime.timing import batch1_latencies_ms, images_per_second

Run = Callable[[np.ndarray], np.ndarray]
SETTLE_SECONDS = 0.3  # lets the previous format's spinning worker threads (OpenMP, ORT) go idle


def best_throughput(run: Run, x: np.ndarray, batches=(1, 8, 32)) -> tuple[float, int]:
    """Images/s over the whole validation set at each batch size it accepts; the best and its batch."""
    rates = []
    for batch in batches:
        try:
            rates.append((images_per_second(run, x, batch), batch))
        except Exception:  # a peer exported with a fixed batch of 1 runs at batch 1 only
            if batch == 1:
                raise
    return max(rates)


def measure(load: Callable[[], Run], x: np.ndarray, y: np.ndarray, reference: np.ndarray | None) -> tuple[dict, np.ndarray]:
    """One format loaded alone: load time, peak RSS, accuracy, agreement, best throughput."""
    reset_peak()
    start = time.perf_counter()
    run = load()
    load_seconds = time.perf_counter() - start
    logits = batched(run, x, batch_size=1)  # batch 1 runs on every artifact, peers with a fixed batch too
    ips, batch = best_throughput(run, x)
    parity = compare(logits, logits if reference is None else reference, y)  # the export's own parity metrics
    row = {
        "throughput_ips": round(ips, 1), "best_batch": batch,
        "accuracy": round(parity["accuracy"], 4), "top1_agreement": round(parity["top1_agreement"], 4),
        "max_abs_logit_diff": parity["max_abs_logit_diff"],
        "peak_rss_mb": peak_rss_mb(), "load_seconds": round(load_seconds, 3),
    }
    return row, logits


def interleaved_latencies(runs: dict[str, Run], x: np.ndarray, repeats: int, rounds: int = 5) -> dict[str, tuple]:
    """Batch-1 (p50, p90) per format, measured in alternating rounds: on a shared VM the speed
    drifts by +-25 % over minutes, and rounds make every format see the same drift."""
    times: dict[str, list] = {name: [] for name in runs}
    per_round = max(1, repeats // rounds)
    for _ in range(rounds):
        for name, run in runs.items():
            time.sleep(SETTLE_SECONDS)
            times[name].extend(batch1_latencies_ms(run, x, per_round, warmup=3))
    return {name: (float(np.percentile(t, 50)), float(np.percentile(t, 90))) for name, t in times.items()}
