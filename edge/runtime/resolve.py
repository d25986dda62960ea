"""Which artifact of an export folder runs, and on how many threads: the one rule `Classifier(folder)`
and `edge-infer FOLDER` share (edge.devices.choose adds only the device profiles on top).

- an artifact file runs as given;
- a folder with `backend`: the folder's best artifact for that backend (INT8 first, from the table);
- an export folder: its tuned choice here (timed once per machine, edge.runtime.autotune); with
  `threads`, the fastest artifact timed at that thread count;
- a folder without an export report: its first runnable artifact in the table's order.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from edge.errors import EdgeError
from edge.export_dir import ExportDir
from edge.formats import ArtifactFormat
from edge.runtime import autotune
from edge.runtime.backend_base import missing_library
from edge.runtime.backends import BACKENDS, check_backend_name, installed, resolve_artifact, runnable
from edge.runtime.report import report_stderr

TUNE_SECONDS = 0.5  # timing per artifact and thread count when a folder is tuned on first use


@dataclass(frozen=True)
class Resolved:
    path: Path  # the artifact file that runs
    threads: int | None  # None: the backend's default (every core this process may use)
    why: str = ""  # one line for edge-infer: what was chosen and why ("" for a file given as such)


def for_backend(export: ExportDir, backend: str) -> ArtifactFormat:
    """The folder's best artifact for `backend`: INT8 before FP32, within the export's budget."""
    check_backend_name(backend)
    if not installed(backend):
        raise EdgeError(f"--backend {backend}: {missing_library(BACKENDS[backend])}")
    formats = [f for f in export.within_budget() if f.backend == backend]
    if not formats:
        held = ", ".join(f.name for f in export.present()) or "nothing"
        raise EdgeError(f"{export.root}: holds no {backend} artifact within the export's budget (it holds {held}); "
                        f"drop --backend, or export one with `edge export RUN --format ...`")
    return formats[0]


def resolve_model(path: str | Path, *, backend: str | None = None, threads: int | None = None,
                  report: Callable[[str], None] = report_stderr) -> Resolved:
    """The artifact and thread count that run for `path`; `report` gets the one line said before a tune."""
    path = Path(path)
    if not path.is_dir():
        return Resolved(resolve_artifact(path), threads)
    export = ExportDir(path)
    if backend is not None:
        fmt = for_backend(export, backend)
        return Resolved(export.artifact(fmt), threads, f"--backend {backend}: {fmt.name} ({fmt.path}), "
                                                        "the folder's best artifact for it")
    formats, skipped = runnable(export)
    if not formats:
        raise EdgeError(f"{path}: no exported model this machine can run inside"
                        f"{f' ({skipped})' if skipped else ''}; pass an artifact or an export folder")
    if not export.is_export():
        return Resolved(export.artifact(formats[0]), threads, f"{path}: no export report, running {formats[0].name}")
    choice, fresh = autotune.cached_or_tuned(path, TUNE_SECONDS, report=report)
    run = choice.fastest(threads)
    return Resolved(export.artifact(run.format), threads or run.threads, autotune.describe(choice, fresh, path, threads))
