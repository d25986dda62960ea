"""Autotune: time every artifact of an export (and 1..N threads) on this machine, keep the fastest.

A measurement on the machine itself beats static advice. The choice is cached, keyed by the CPU
model, the runtime libraries' versions and the artifacts' hashes, so a new artifact, another CPU or
a library upgrade tunes again. A winner less than NOISE ahead of its runner-up is a tie on a busy
machine: the cache says so, and the next resolution times the close candidates again (at most
MAX_ROUNDS rounds, their medians combined). The runtime owns this (not edge.devices) because
`Classifier(folder)` and `edge-infer FOLDER` resolve a folder through the same choice.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np

from edge.atomic import write_json
from edge.errors import EdgeError
from edge.export_dir import ExportDir
from edge.formats import FORMATS, ArtifactFormat, artifact_files
from edge.hashing import files_sha256
from edge.runtime.backends import available_cores, runnable, runtime_library_versions

NOISE = 0.05  # a margin below 5 % is within what a shared machine's timings wander
MAX_ROUNDS = 3  # after this many rounds a near-tie is a tie: either artifact is as good


@dataclass(frozen=True)
class Timing:
    format: str  # name in the format table
    threads: int
    p50_ms: tuple[float, ...]  # batch-1 median of each round that timed it

    @property
    def latency_ms(self) -> float:
        return float(np.median(self.p50_ms))


@dataclass(frozen=True)
class TuneChoice:
    format: str  # the winner's name in the format table
    artifact: str  # its path inside the export folder
    threads: int
    latency_ms: float  # its batch-1 median here
    tried: int  # artifact x thread settings timed
    key: str  # what the choice is valid for
    margin: float | None  # runner-up latency / winner latency - 1 (None: nothing else was timed)
    rounds: int  # timing rounds behind the choice
    timings: tuple[Timing, ...]  # every candidate, as timed

    @property
    def settled(self) -> bool:
        """False: the winner was within noise of the runner-up, so the next run times them again."""
        return self.margin is None or self.margin >= NOISE or self.rounds >= MAX_ROUNDS

    def fastest(self, threads: int | None = None) -> Timing:
        """The winner; with `threads`, the fastest artifact timed at that thread count (else the winner)."""
        pool = [t for t in self.timings if threads is None or t.threads == threads]
        return min(pool, key=lambda t: t.latency_ms) if pool else self.fastest()

    @classmethod
    def from_dict(cls, data: dict) -> TuneChoice:
        timings = tuple(Timing(t["format"], int(t["threads"]), tuple(map(float, t["p50_ms"]))) for t in data["timings"])
        return cls(**{**data, "timings": timings})


def cpu_model(cpuinfo: str | None = None) -> str:
    """The board or CPU name from /proc/cpuinfo: a Pi's 'Model' line, else 'model name'; '' if none."""
    lines = (read_cpuinfo() if cpuinfo is None else cpuinfo).splitlines()
    for key in ("Model", "model name"):
        found = next((line.split(":", 1)[1].strip() for line in lines if line.startswith(key)), "")
        if found:
            return found
    return ""


def read_cpuinfo() -> str:
    try:
        return Path("/proc/cpuinfo").read_text(errors="replace")
    except OSError:
        return ""


def machine_name() -> str:
    """What the cached choice is valid for: the board or CPU name, else what Python knows of it."""
    return cpu_model() or platform.processor() or platform.machine()


def usable(export_dir: Path) -> list[ArtifactFormat]:
    """Artifacts present here, within the export's accuracy budget, whose runtime library is installed."""
    return runnable(ExportDir(export_dir))[0]


def cache_key(export_dir: Path, formats: list[ArtifactFormat]) -> str:
    parts = {"cpu": machine_name(), "cores": available_cores(), "libraries": runtime_library_versions(),
             "artifacts": {f.name: files_sha256(artifact_files(ExportDir(export_dir).artifact(f))) for f in formats}}
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()


def cache_path(export_dir: Path) -> Path:
    """In the export folder when it is writable, else in the user's cache directory."""
    if os.access(export_dir, os.W_OK):
        return ExportDir(export_dir).tune_cache_path
    base = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "edge" / "tune"
    return base / (hashlib.sha256(str(export_dir.resolve()).encode()).hexdigest()[:16] + ".json")


def cached(export_dir: Path) -> TuneChoice | None:
    """The cached choice when it is still valid here (settled or not); None otherwise."""
    try:
        choice = TuneChoice.from_dict(json.loads(cache_path(export_dir).read_text(encoding="utf-8")))
    except (OSError, ValueError, TypeError, KeyError, AttributeError):
        return None  # absent, unreadable, or written by an older edge: tune again
    return choice if choice.key == cache_key(export_dir, usable(export_dir)) else None


def _latency_ms(path: Path, backend: str, threads: int, seconds: float, manifest) -> float:
    from edge.runtime.backends import create_backend
    from edge.runtime.timing import batch1_latencies_ms

    run = create_backend(path, backend, threads).run
    x = np.random.default_rng(0).standard_normal((1, *manifest.input_size)).astype(np.float32)
    first = batch1_latencies_ms(run, x, 5, warmup=3)
    repeats = max(5, int(seconds * 1000 / max(float(np.median(first)), 0.1)))
    return float(np.median(batch1_latencies_ms(run, x, repeats, warmup=0)))


def _decide(export_dir: Path, timings: list[Timing], rounds: int, key: str) -> TuneChoice:
    ranked = sorted(timings, key=lambda t: t.latency_ms)
    best = ranked[0]
    margin = round(ranked[1].latency_ms / best.latency_ms - 1, 4) if len(ranked) > 1 else None
    choice = TuneChoice(best.format, FORMATS[best.format].path, best.threads, round(best.latency_ms, 3),
                        len(timings), key, margin, rounds, tuple(timings))
    target = cache_path(export_dir)
    target.parent.mkdir(parents=True, exist_ok=True)
    write_json(target, asdict(choice))
    return choice


def _time(export_dir: Path, candidates: list[tuple[str, int]], seconds: float) -> dict[tuple[str, int], float]:
    from edge.manifest import read_manifest

    folder = ExportDir(export_dir)
    manifest = read_manifest(folder.manifest_path)
    return {(name, t): _latency_ms(folder.artifact(name), FORMATS[name].backend, t, seconds, manifest)
            for name, t in candidates}


def tune(export_dir: Path, seconds: float = 1.0, max_threads: int | None = None,
         report: Callable[[str], None] = lambda _: None) -> TuneChoice:
    """Time every usable artifact at 1..max_threads threads; cache and return the fastest."""
    formats, skipped = runnable(ExportDir(export_dir))
    if not formats:
        raise EdgeError(f"{export_dir}: no artifact this machine can run within the export's budget"
                        f"{f' ({skipped})' if skipped else ''}; run `edge export` first")
    top = min(max_threads or available_cores(), available_cores())
    candidates = [(f.name, t) for f in formats for t in range(1, top + 1)]
    report(f"tuning {export_dir}: timing {len(formats)} artifact(s) at {_span(top)} "
           f"({len(candidates)} settings, about {max(1, round(len(candidates) * seconds * 1.5))} s; "
           "once for this machine)")
    timed = _time(export_dir, candidates, seconds)
    timings = [Timing(name, t, (round(ms, 4),)) for (name, t), ms in timed.items()]
    return _decide(export_dir, timings, 1, cache_key(export_dir, formats))


def retime(export_dir: Path, choice: TuneChoice, seconds: float,
           report: Callable[[str], None] = lambda _: None) -> TuneChoice:
    """Time again the candidates within NOISE of the winner; each keeps the median of its rounds."""
    close = [t for t in choice.timings if t.latency_ms <= choice.latency_ms * (1 + NOISE)]
    names = ", ".join(f"{t.format} x{t.threads}" for t in close)
    report(f"tuning {export_dir} again: {names} were within {NOISE:.0%} of each other "
           f"(round {choice.rounds + 1} of at most {MAX_ROUNDS})")
    timed = _time(export_dir, [(t.format, t.threads) for t in close], seconds)
    timings = [replace(t, p50_ms=(*t.p50_ms, round(timed[(t.format, t.threads)], 4)))
               if (t.format, t.threads) in timed else t for t in choice.timings]
    return _decide(export_dir, timings, choice.rounds + 1, choice.key)


def cached_or_tuned(export_dir: Path, seconds: float, max_threads: int | None = None, again: bool = False,
                    report: Callable[[str], None] = lambda _: None) -> tuple[TuneChoice, bool]:
    """(choice, whether anything was timed now): the cached choice when valid and settled, a re-timing
    of the close candidates when it was a near-tie, else a full tune (the line `report` gets says so)."""
    choice = None if again else cached(export_dir)
    if choice is not None and choice.settled:
        return choice, False
    if choice is not None:
        return retime(export_dir, choice, seconds, report), True
    return tune(export_dir, seconds, max_threads, report), True


def describe(choice: TuneChoice, fresh: bool, export_dir: Path, threads: int | None = None) -> str:
    """One line: what runs and why; plus the artifacts passed over because their library is absent."""
    run = choice.fastest(threads)
    how = f"fastest of {choice.tried} artifact x thread settings timed here" if fresh else "cached for this CPU, " \
          "these libraries and these artifacts"
    if threads is not None:
        how = f"the fastest timed at --threads {threads}; {how}"
    if not choice.settled:
        how += f"; {choice.margin:.1%} ahead of the runner-up, so the next run times them again"
    skipped = runnable(ExportDir(export_dir))[1]
    return (f"tuned: {run.format} ({FORMATS[run.format].path}) with {plural(threads or run.threads, 'thread')}, "
            f"{run.latency_ms:.2f} ms at batch 1 ({how})" + (f"; {skipped}" if skipped else ""))


def _span(top: int) -> str:
    return "1 thread" if top == 1 else f"1-{top} threads"


def plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"
