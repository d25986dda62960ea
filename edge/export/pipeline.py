"""`edge export`: build every requested artifact in a temp folder, check each, then swap in."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch

from edge.atomic import atomic_dir, write_json, write_text
from edge.errors import EdgeError
from edge.export import int8_search, parity
from edge.export.data import balanced_calibration, preprocess_all, readable_images, split_check_calibration, synthetic_unknowns
from edge.export.exporters import EXPORTERS
from edge.export.fixpad import fix_same_padding
from edge.export.job import ExportJob
from edge.export.lock import destination_lock
from edge.export.torch_backend import TorchBackend
from edge.export_dir import ExportDir, ExportReport, FormatResult
from edge.formats import ArtifactFormat, check_options, resolve_formats, slower_than_fp32
from edge.manifest import Manifest, write_manifest
from edge.ownership import check_parent_writable, claim_export_dir
from edge.runtime.peak_memory import peak_rss_mb
from edge.runtime.updates.files import file_table
from edge.train import api

ACCURACY_NOTE = ("on labelled photos no INT8 calibration used; a cross-validated run refit its head on them, so read "
                 "accuracy here as parity, and the estimate in the manifest")


@dataclass
class Source:
    model: torch.nn.Module
    manifest: Manifest
    check_paths: list[Path]  # photos every artifact is checked on: none of them calibrates INT8
    check_y: np.ndarray | None
    calibration_paths: list[Path]


def load_run_source(path: Path, data: Path | None, calibration_size: int) -> Source:
    """Calibrate on class-balanced training photos; check on every other labelled photo (all of them
    when nothing is calibrated: `calibration_size` 0)."""
    run = api.load_run(path, data)
    calibration = balanced_calibration(run.split.train, calibration_size) if calibration_size else []
    taken = set(calibration)
    check = [s for s in run.split.val + run.split.train + run.split.holdout if s.path not in taken]
    return Source(run.model, run.manifest, [s.path for s in check], np.array([s.label for s in check]), calibration)


def load_zoo_source(name: str, data: Path | None, weights: Path | None, calibration_size: int, log) -> Source:
    """A zoo model with its ImageNet head: parity on any photos, no labels."""
    if data is None:
        raise EdgeError(f"exporting zoo:{name} needs --data DIR with a few photos to check and calibrate on")
    model, manifest = api.load_zoo(name, weights)
    check, calibration = split_check_calibration(readable_images(data, log), calibration_size, check_size=100)
    return Source(model, manifest, check, None, calibration)


def _build(fmt: ArtifactFormat, job: ExportJob, log) -> FormatResult:
    start = time.perf_counter()
    try:
        path = EXPORTERS[fmt.name](job)
    except EdgeError:
        raise
    except Exception as exc:  # a converter failing deep inside: one line naming the format
        raise EdgeError(f"{fmt.name} export failed: {type(exc).__name__}: {str(exc)[:200]}") from None
    seconds = time.perf_counter() - start
    backend = parity.load_backend(fmt.backend, path, job.threads)
    check = job.subset(fmt.check_photos)  # every check photo, unless the table caps a slow check (imx500)
    latency = None if fmt.sensor else round(parity.latency_ms(backend.run, job.val_x), 3)  # a sensor's is not ours
    measured = _parity(backend, check)
    notes = dict(job.notes.get(fmt.name, {}))
    within = notes.pop("within_budget", None)  # the INT8 settings search judged it
    if fmt.int8 and within is None:  # an INT8 format without a settings search: the same rule
        within = int8_search.acceptable(measured, job.budget)
    row = FormatResult(name=fmt.name, path=str(path.relative_to(job.workdir)), **measured,
                       check_photos=len(check.val_x), size_mb=parity.size_mb(path), export_seconds=round(seconds, 2),
                       latency_ms_b1=latency, extra=notes, within_budget=within,
                       parity_warning=parity.too_few_photos(measured))
    unknown = f"  unknown-decision agreement {row.unknown_decision_agreement:.4f}" if job.manifest.unknown else ""
    log(f"{fmt.name:14s} agreement {parity.agreement_text(row)} on {row.check_photos} photos  max|dlogit| "
        f"{row.max_abs_logit_diff:.2e}  {row.size_mb:.2f} MB  "
        f"{'on the sensor' if latency is None else f'{latency:.2f} ms'}  ({seconds:.1f} s){unknown}")
    if row.parity_warning:
        log(f"[yellow]warning: {fmt.name}: {row.parity_warning}[/]")
    return row


def _parity(backend, job: ExportJob) -> dict:
    """Logits vs PyTorch on the check photos; with an unknown score, that score and its decision
    too, on the check photos plus synthetic non-photos (one pass over every input)."""
    if job.reference_unknown is None:
        return parity.compare(parity.batched(backend.run, job.val_x), job.reference_logits, job.val_y)
    logits, scores = parity.logits_and_scores(backend.run_all, job.val_x, job.unknown_x)
    return {**parity.compare(logits, job.reference_logits, job.val_y),
            **parity.compare_unknown(scores, job.reference_unknown, job.manifest.unknown.threshold)}


def _references(model, manifest: Manifest, val_x: np.ndarray) -> dict:
    """PyTorch's outputs, computed once for every format's parity check."""
    torch_model = TorchBackend.channels_last_copy(model)
    if not manifest.unknown:
        return {"reference_logits": parity.batched(torch_model.run, val_x)}
    unknown_x = synthetic_unknowns(manifest)
    logits, scores = parity.logits_and_scores(torch_model.run_all, val_x, unknown_x)
    return {"reference_logits": logits, "unknown_x": unknown_x, "reference_unknown": scores}


def export(*, source: str, out: Path, formats: list[str] | None = None, int8: bool = False, data: Path | None = None,
           max_drop: float | None = None, calibration_size: int = 300, threads: int = 2,
           weights: Path | None = None, log: Callable[[str], None] = print, fp16_weights: bool = False,
           force: bool = False, device: str | None = None) -> ExportReport:
    """Build, check and swap in an export folder; `force` replaces an earlier export (never other files).
    `device`: a profile name; its formats (what runs well there), plus any `formats` named, replace the defaults.
    A second export to the same `out` while this one runs is refused (edge.export.lock)."""
    started = time.perf_counter()
    if device is not None:
        from edge.devices.profiles import get_profile

        formats, int8 = [*get_profile(device).formats, *(formats or [])], False
    chosen = resolve_formats(formats, int8)
    check_options(chosen, {"max_drop": max_drop, "fp16_weights": fp16_weights})
    check_parent_writable(out)  # the lock file goes beside `out`
    with destination_lock(out):
        claim_export_dir(out, force)
        calibration_size = calibration_size if any(f.int8 for f in chosen) else 0  # nothing calibrates: check on all
        src = (load_zoo_source(source[4:], data, weights, calibration_size, log) if source.startswith("zoo:")
               else load_run_source(Path(source), data, calibration_size))
        return _write(src, source=source, out=out, chosen=chosen, threads=threads, max_drop=max_drop,
                      fp16_weights=fp16_weights, log=log, started=started)


def _write(src: Source, *, source: str, out: Path, chosen: list[ArtifactFormat], threads: int, max_drop: float | None,
           fp16_weights: bool, log: Callable[[str], None], started: float) -> ExportReport:
    """Build and check every format into a temp folder, then swap it in for `out`; the report."""
    torch.set_num_threads(threads)
    fix_same_padding(src.model, tuple(src.manifest.input_size))
    val_x = preprocess_all(src.check_paths, src.manifest)
    log(f"exporting {src.manifest.arch} ({len(src.manifest.labels)} classes) as {', '.join(f.name for f in chosen)}")
    log(f"checking every artifact against PyTorch on {len(val_x)} photos" +
        (f" (none of them among the {len(src.calibration_paths)} that calibrate INT8)" if src.calibration_paths else ""))
    with atomic_dir(out) as work:
        job = ExportJob(model=src.model, manifest=src.manifest, workdir=work, val_x=val_x, val_y=src.check_y,
                        **_references(src.model, src.manifest, val_x),
                        make_calibration=lambda: preprocess_all(src.calibration_paths, src.manifest),
                        threads=threads, max_drop=max_drop, fp16_weights=fp16_weights)
        rows = [_build(fmt, job, log) for fmt in chosen]
        slower = slower_than_fp32({r.name: r.latency_ms_b1 for r in rows})
        rows = [replace(r, slower_than_fp32=slower[r.name]) if r.name in slower else r for r in rows]
        folder = ExportDir(work)
        write_manifest(src.manifest, folder.manifest_path)
        write_text(folder.labels_path, "\n".join(src.manifest.labels) + "\n")
        report = ExportReport(
            source=source, reference_accuracy=parity.accuracy(job.reference_logits, src.check_y), images=len(val_x),
            calibration_images=len(src.calibration_paths), accuracy_note=ACCURACY_NOTE, threads=threads,
            seconds=round(time.perf_counter() - started, 1), peak_rss_mb=peak_rss_mb(children=True),
            formats=tuple(rows), files=file_table(work))  # every file's SHA-256 and size: what an update checks by
        write_json(folder.report_path, report.to_dict())
    return report
