"""The export folder as a type: the one module that spells its file names and reads its report.

Torch-free (core layer): export writes through it, the runtime resolves and tunes an export folder
through it (runtime/resolve, runtime/autotune), bench reads the report through it. Nobody else spells
`export_report.json`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from edge.errors import EdgeError
from edge.formats import FORMATS, ArtifactFormat, runtime_preference

MANIFEST_FILE = "manifest.json"
REPORT_FILE = "export_report.json"
LABELS_FILE = "labels.txt"
TUNE_CACHE_FILE = ".edge-tune.json"


@dataclass(frozen=True)
class FormatResult:
    """One row of the export report: how one artifact compared with PyTorch."""

    name: str  # format name in the table
    path: str  # artifact path inside the export folder
    top1_agreement: float | None = None  # share of check photos with PyTorch's top-1
    max_abs_logit_diff: float | None = None
    latency_ms_b1: float | None = None  # batch-1 median in the export's own check
    within_budget: bool | None = None  # INT8 only: accuracy drop within --max-drop (None: not INT8)
    extra: dict[str, Any] = field(default_factory=dict)  # every other measured field, as written

    @classmethod
    def from_dict(cls, row: dict[str, Any]) -> FormatResult:
        known = {k: row.get(k) for k in ("top1_agreement", "max_abs_logit_diff", "latency_ms_b1", "within_budget")}
        extra = {k: v for k, v in row.items() if k not in known and k not in ("name", "path")}
        return cls(name=row["name"], path=row.get("path", ""), extra=extra, **known)


@dataclass(frozen=True)
class ExportReport:
    source: str
    images: int  # check photos every format was compared on
    formats: tuple[FormatResult, ...]
    data: dict[str, Any] = field(default_factory=dict)  # the whole report as written

    def row(self, name: str) -> FormatResult | None:
        return next((r for r in self.formats if r.name == name), None)

    @classmethod
    def from_dict(cls, data: dict[str, Any], where: str = REPORT_FILE) -> ExportReport:
        try:
            rows = tuple(FormatResult.from_dict(r) for r in data.get("formats", []))
            return cls(source=str(data.get("source", "")), images=int(data.get("images", 0)), formats=rows, data=data)
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
        return [f for f in runtime_preference() if self.artifact(f).is_file()]

    def within_budget(self) -> list[ArtifactFormat]:
        """Present artifacts the export did not judge outside its accuracy budget."""
        report = self.report()
        rows = {r.name: r for r in report.formats} if report else {}
        return [f for f in self.present() if getattr(rows.get(f.name), "within_budget", None) is not False]
