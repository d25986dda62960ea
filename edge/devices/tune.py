"""Autotune on the device: time every artifact of an export (and 1..N threads) here, keep the fastest.

Profiles give static advice; a measurement on the machine itself wins. The choice is cached,
keyed by the CPU model, the runtime libraries' versions and the artifacts' hashes, so a new
artifact, another CPU or a library upgrade tunes again, and an unchanged setup answers at once.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from edge.atomic import write_json
from edge.devices import profiles
from edge.errors import EdgeError
from edge.export_dir import ExportDir
from edge.formats import ArtifactFormat, artifact_files
from edge.runtime.backends import BACKENDS, available_cores, runnable


@dataclass(frozen=True)
class TuneChoice:
    format: str  # name in the format table
    artifact: str  # path inside the export folder
    threads: int
    latency_ms: float  # batch-1 median here
    tried: int  # artifact x thread settings timed
    key: str  # what the choice is valid for


def machine_name() -> str:
    """What the cached choice is valid for: the board or CPU name, else what Python knows of it."""
    return profiles.cpu_model() or platform.processor() or platform.machine()


def runtime_library_versions() -> dict[str, str]:
    """Versions of the runtime libraries installed here (a new version may change the fastest)."""
    from importlib.metadata import PackageNotFoundError, version

    versions = {}
    for backend in BACKENDS.values():
        try:
            versions[backend.library] = version(backend.library.replace("_", "-"))
        except PackageNotFoundError:
            pass
    return versions


def _file_hash(path: Path) -> str:
    digest = hashlib.sha256()
    for part in artifact_files(path):
        digest.update(part.read_bytes())
    return digest.hexdigest()


def usable(export_dir: Path) -> list[ArtifactFormat]:
    """Artifacts present here, within the export's accuracy budget, whose runtime library is installed."""
    return runnable(ExportDir(export_dir))[0]


def cache_key(export_dir: Path, formats: list[ArtifactFormat]) -> str:
    parts = {"cpu": machine_name(), "cores": available_cores(), "libraries": runtime_library_versions(),
             "artifacts": {f.name: _file_hash(export_dir / f.path) for f in formats}}
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()


def cache_path(export_dir: Path) -> Path:
    """In the export folder when it is writable, else in the user's cache directory."""
    if os.access(export_dir, os.W_OK):
        return ExportDir(export_dir).tune_cache_path
    base = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "edge" / "tune"
    return base / (hashlib.sha256(str(export_dir.resolve()).encode()).hexdigest()[:16] + ".json")


def cached(export_dir: Path) -> TuneChoice | None:
    path = cache_path(export_dir)
    try:
        choice = TuneChoice(**json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError, TypeError):
        return None
    return choice if choice.key == cache_key(export_dir, usable(export_dir)) else None


def _latency_ms(path: Path, backend: str, threads: int, seconds: float, manifest) -> float:
    from edge.runtime.backends import create_backend
    from edge.runtime.timing import batch1_latencies_ms

    run = create_backend(path, backend, threads).run
    x = np.random.default_rng(0).standard_normal((1, *manifest.input_size)).astype(np.float32)
    first = batch1_latencies_ms(run, x, 5, warmup=3)
    repeats = max(5, int(seconds * 1000 / max(float(np.median(first)), 0.1)))
    return float(np.median(batch1_latencies_ms(run, x, repeats, warmup=0)))


def tune(export_dir: Path, seconds: float = 1.0, max_threads: int | None = None) -> TuneChoice:
    """Time every usable artifact at 1..max_threads threads; cache and return the fastest."""
    from edge.manifest import read_manifest

    formats, skipped = runnable(ExportDir(export_dir))
    if not formats:
        raise EdgeError(f"{export_dir}: no artifact this machine can run within the export's budget"
                        f"{f' ({skipped})' if skipped else ''}; run `edge export` first")
    manifest = read_manifest(ExportDir(export_dir).manifest_path)
    threads = range(1, min(max_threads or available_cores(), available_cores()) + 1)
    timings = {(f.name, t): _latency_ms(export_dir / f.path, f.backend, t, seconds, manifest)
               for f in formats for t in threads}
    (name, best_threads), latency = min(timings.items(), key=lambda kv: kv[1])
    choice = TuneChoice(name, next(f.path for f in formats if f.name == name), best_threads, round(latency, 3),
                        len(timings), cache_key(export_dir, formats))
    target = cache_path(export_dir)
    target.parent.mkdir(parents=True, exist_ok=True)
    write_json(target, asdict(choice))
    return choice


def cached_or_tuned(export_dir: Path, seconds: float, max_threads: int | None = None,
                    again: bool = False) -> tuple[TuneChoice, bool]:
    """(choice, whether it was timed now): the cached choice when still valid, else a fresh tune."""
    choice = None if again else cached(export_dir)
    if choice is not None:
        return choice, False
    return tune(export_dir, seconds, max_threads), True


def describe(choice: TuneChoice, fresh: bool, export_dir: Path) -> str:
    """One line: what runs and why; plus the artifacts passed over because their library is absent."""
    how = f"fastest of {choice.tried} artifact x thread settings timed here" if fresh else "cached for this CPU, " \
          "these libraries and these artifacts"
    skipped = runnable(ExportDir(export_dir))[1]
    return (f"tuned: {choice.format} ({choice.artifact}) with {plural(choice.threads, 'thread')}, "
            f"{choice.latency_ms:.2f} ms at batch 1 ({how})" + (f"; {skipped}" if skipped else ""))


def plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"
