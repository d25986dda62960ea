"""The export folder as a type: the one module that spells its file names and reads its report.

Torch-free (core layer): export writes its report as an ExportReport of FormatResult rows; the runtime
resolves, tunes and updates an export folder through ExportDir (runtime/resolve, runtime/autotune,
runtime/updates), and bench finds its artifacts through it. Nobody else spells `export_report.json`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, ClassVar

from edge.errors import EdgeError
from edge.formats import FORMATS, ArtifactFormat, runtime_preference

MANIFEST_FILE = "manifest.json"
REPORT_FILE = "export_report.json"
LABELS_FILE = "labels.txt"
TUNE_CACHE_FILE = ".edge-tune.json"


@dataclass(frozen=True, kw_only=True)
class FormatResult:
    """One row of the export report: how one artifact compared with PyTorch on the check photos."""

    name: str  # format name in the table
    path: str  # artifact path inside the export folder
    top1_agreement: float | None = None  # share of check photos with PyTorch's top-1
    top1_agreement_ci95: tuple[float, float] | None = None  # its 95% Wilson interval
    max_abs_logit_diff: float | None = None
    accuracy: float | None = None  # on the labelled check photos (None: no labels, a zoo model)
    accuracy_drop: float | None = None  # PyTorch's accuracy minus this one's, in points
    unknown_score_max_abs_diff: float | None = None  # with an unknown score only
    unknown_decision_agreement: float | None = None  # with an unknown score only
    check_photos: int | None = None  # photos it was checked on (the table may cap a slow check)
    size_mb: float | None = None  # the artifact and its weight file
    export_seconds: float | None = None
    latency_ms_b1: float | None = None  # batch-1 median in the export's own check (None: runs on a sensor)
    extra: dict[str, Any] = field(default_factory=dict)  # what the format's exporter noted (INT8 search, memory)
    within_budget: bool | None = None  # INT8 only: accuracy drop within --max-drop (None: not INT8)
    parity_warning: str | None = None  # set when the check photos are too few to vouch for the format
    slower_than_fp32: bool | None = None  # INT8 timed beside its FP32 sibling: not faster than it

    # written only when they apply; every other field is written, null or not
    OPTIONAL: ClassVar = ("unknown_score_max_abs_diff", "unknown_decision_agreement", "within_budget", "slower_than_fp32")

    def __post_init__(self):
        if self.top1_agreement_ci95 is not None:  # JSON holds a list
            object.__setattr__(self, "top1_agreement_ci95", tuple(self.top1_agreement_ci95))

    @classmethod
    def from_dict(cls, row: dict[str, Any]) -> FormatResult:
        """A row as export_report.json holds it; keys this edge does not know land in `extra` (older reports load too)."""
        known = {f.name for f in fields(cls)} - {"name", "path", "extra"}
        values = {k: row[k] for k in known if k in row}
        extra = {k: v for k, v in row.items() if k not in known and k not in ("name", "path")}
        return cls(name=row["name"], path=row.get("path", ""), extra=extra, **values)

    def to_dict(self) -> dict[str, Any]:
        """The row as export_report.json holds it: the fields in order, the exporter's notes after the latency."""
        row: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name == "extra":
                row.update(value)
            elif value is not None or f.name not in self.OPTIONAL:
                row[f.name] = list(value) if f.name == "top1_agreement_ci95" and value is not None else value
        return row


@dataclass(frozen=True, kw_only=True)
class ExportReport:
    """export_report.json: what was exported, on which photos, and one FormatResult per artifact."""

    source: str  # the run folder or zoo:NAME that was exported
    reference_accuracy: float | None = None  # PyTorch's accuracy on the check photos (None: no labels)
    images: int = 0  # check photos every format was compared on
    calibration_images: int = 0  # training photos that calibrated INT8 (none of them among the check photos)
    accuracy_note: str = ""  # how to read the accuracy figures
    threads: int | None = None
    seconds: float | None = None  # the whole export
    peak_rss_mb: float | None = None  # edge.runtime.peak_memory, children included
    formats: tuple[FormatResult, ...] = ()
    files: Any = None  # every file's SHA-256 and size (edge.runtime.updates.files); absent in older reports
    extra: dict[str, Any] = field(default_factory=dict)  # keys this edge does not know, as read

    def row(self, name: str) -> FormatResult | None:
        return next((r for r in self.formats if r.name == name), None)

    def to_dict(self) -> dict[str, Any]:
        out = {f.name: getattr(self, f.name) for f in fields(self) if f.name not in ("formats", "files", "extra")}
        out["formats"] = [r.to_dict() for r in self.formats]
        if self.files is not None:
            out["files"] = self.files
        return {**out, **self.extra}

    @classmethod
    def from_dict(cls, data: dict[str, Any], where: str = REPORT_FILE) -> ExportReport:
        try:
            rows = tuple(FormatResult.from_dict(r) for r in data.get("formats", []))
            known = {f.name for f in fields(cls)} - {"extra"}
            extra = {k: v for k, v in data.items() if k not in known}
            values = {k: data[k] for k in known - {"source", "images", "formats"} if k in data}
            return cls(source=str(data.get("source", "")), images=int(data.get("images", 0)), formats=rows, extra=extra,
                       **values)
        except (KeyError, TypeError, ValueError, AttributeError):
            raise EdgeError(f"{where}: not an export report edge can read; re-export the model") from None


@dataclass(frozen=True)
class ExportDir:
    root: Path

    @property
    def manifest_path(self) -> Path:
        return self.root / MANIFEST_FILE

    @property
    def report_path(self) -> Path:
        return self.root / REPORT_FILE

    @property
    def labels_path(self) -> Path:
        return self.root / LABELS_FILE

    @property
    def tune_cache_path(self) -> Path:
        return self.root / TUNE_CACHE_FILE

    def artifact(self, fmt: ArtifactFormat | str) -> Path:
        return self.root / (FORMATS[fmt].path if isinstance(fmt, str) else fmt.path)

    def has(self, fmt: ArtifactFormat | str) -> bool:
        return self.artifact(fmt).is_file()

    def is_export(self) -> bool:
        """An export folder has its manifest and its report (how `--force` recognises one)."""
        return self.manifest_path.is_file() and self.report_path.is_file()

    def report(self) -> ExportReport | None:
        if not self.report_path.is_file():
            return None
        try:
            data = json.loads(self.report_path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise EdgeError(f"{self.report_path}: cannot read the export report ({type(exc).__name__}); "
                            "re-export the model") from None
        return ExportReport.from_dict(data if isinstance(data, dict) else {}, str(self.report_path))

    def present(self) -> list[ArtifactFormat]:
        """Torch-free artifacts in this folder, in the runtime's order of preference."""
        return [f for f in runtime_preference() if self.has(f)]

    def within_budget(self) -> list[ArtifactFormat]:
        """Present artifacts the export did not judge outside its accuracy budget."""
        report = self.report()
        rows = {r.name: r for r in report.formats} if report else {}
        return [f for f in self.present() if getattr(rows.get(f.name), "within_budget", None) is not False]
