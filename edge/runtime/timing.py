"""Latency bookkeeping for the end-of-run summary."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from edge.runtime.reopen import SourceHealth

STAGES = ("decode", "preprocess", "inference")


def batch1_latencies_ms(run, sample, repeats: int = 50, warmup: int = 10) -> np.ndarray:
    """Batch-1 latencies (ms) of `run(sample[:1])`, after `warmup` untimed calls."""
    x = sample[:1]
    for _ in range(warmup):
        run(x)
    times = np.empty(repeats)
    for i in range(repeats):
        start = time.perf_counter()
        run(x)
        times[i] = (time.perf_counter() - start) * 1000
    return times


def images_per_second(run, x, batch: int, rounds: int = 1) -> float:
    """Rate of `run` over all of `x` in batches of `batch`, after one warm-up call at each shape it meets.

    The last, smaller batch is warmed too: OpenVINO's backend compiles each input shape once, and timing
    that compile (0.4 s for Lite0 INT8) halved its batch-32 rate on 120 photos (225 against 470 img/s)."""
    run(x[:batch])
    if len(x) % batch:
        run(x[len(x) - len(x) % batch :])
    start = time.perf_counter()
    for _ in range(rounds):
        for i in range(0, len(x), batch):
            run(x[i : i + batch])
    return rounds * len(x) / (time.perf_counter() - start)


@dataclass
class Summary:
    started: float = field(default_factory=time.perf_counter)
    classified: int = 0
    failed: int = 0
    unknown: int = 0  # of the classified: answered "unknown" (none of the classes)
    stages: dict[str, list[float]] = field(default_factory=lambda: {s: [] for s in STAGES})
    ended: float | None = None  # set by stop(): time after it (a server still serving) is not counted
    source: SourceHealth | None = None  # a camera/stream/picam: its losses and gaps (edge.runtime.reopen)
    parts: dict[str, Summary] = field(default_factory=dict)  # several sources: each one's own (edge.runtime.multi_source)

    def stop(self) -> None:
        self.ended = time.perf_counter()

    def count(self, prediction) -> None:
        self.classified += 1
        self.unknown += bool(prediction.unknown)

    def add(self, stage: str, ms: float) -> None:
        self.stages[stage].append(ms)

    @property
    def seconds(self) -> float:
        return (self.ended if self.ended is not None else time.perf_counter()) - self.started

    def to_dict(self) -> dict:
        out = {"classified": self.classified, "unknown": self.unknown, "failed": self.failed, "seconds": round(self.seconds, 3),
               "fps": round(self.classified / max(self.seconds, 1e-9), 2)}
        for stage, values in self.stages.items():
            if values:
                out[f"{stage}_ms_p50"] = round(float(np.percentile(values, 50)), 3)
                out[f"{stage}_ms_p90"] = round(float(np.percentile(values, 90)), 3)
        if self.source is not None and self.source.losses:
            out["source"] = self.source.to_dict()
        if self.parts:
            out["sources"] = {name: part.to_dict() for name, part in self.parts.items()}
        return out

    def line(self) -> str:
        d = self.to_dict()
        parts = [f"{d['classified']} classified", f"{d['unknown']} of them unknown", f"{d['failed']} failed",
                 f"{d['fps']:.1f} img/s"]
        for stage in STAGES:
            if f"{stage}_ms_p50" in d:
                parts.append(f"{stage} p50/p90 {d[stage + '_ms_p50']:.2f}/{d[stage + '_ms_p90']:.2f} ms")
        if "source" in d:
            parts.append(f"source lost {d['source']['losses']}x ({d['source']['lost_s_total']:.0f} s in all)")
        if self.parts:
            parts.append("per source " + ", ".join(f"{name} {part['fps']:.1f} img/s" for name, part in d["sources"].items()))
        return "summary: " + ", ".join(parts)
