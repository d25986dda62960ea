"""The table of export formats: one row each, one small module each."""

from __future__ import annotations

from dataclasses import dataclass

from edge.errors import EdgeError


@dataclass(frozen=True)
class ExportFormat:
    name: str  # the name used by --format and in export_report.json
    path: str  # file written inside the export folder
    needs_torch: bool  # the runtime that runs it needs torch
    int8: bool
    runtime: str  # torch | onnxruntime | openvino
    module: str  # edge.export.<module> has export(job) -> Path
    fp32_sibling: str | None = None  # the format an INT8 artifact must beat on speed
    requires: tuple[str, ...] = ()  # formats built first (their files are inputs)


FORMATS: dict[str, ExportFormat] = {f.name: f for f in (
    ExportFormat("torchscript", "model.ts", True, False, "torch", "torchscript"),
    ExportFormat("onnx", "model.onnx", False, False, "onnxruntime", "onnx_fp32"),
    ExportFormat("onnx-int8", "model.int8.onnx", False, True, "onnxruntime", "onnx_int8", "onnx", ("onnx",)),
    ExportFormat("openvino", "openvino/model.xml", False, False, "openvino", "openvino_fp32", None, ("onnx",)),
    ExportFormat("openvino-int8", "openvino-int8/model.xml", False, True, "openvino", "openvino_int8", "openvino",
                 ("onnx", "openvino")),
)}
FP32_DEFAULT = ("torchscript", "onnx", "openvino")
INT8_DEFAULT = ("onnx-int8", "openvino-int8")


def flag_slow_int8(rows: list[dict], name_key: str, latency_key: str) -> None:
    """Mark every INT8 row whose latency is not below its FP32 sibling's (`slower_than_fp32`)."""
    by_name = {r[name_key]: r for r in rows}
    for row in rows:
        fmt = FORMATS.get(row[name_key])
        sibling = by_name.get(fmt.fp32_sibling) if fmt and fmt.fp32_sibling else None
        if sibling is not None:
            row["slower_than_fp32"] = row[latency_key] >= sibling[latency_key]


def resolve_formats(names: list[str] | None, int8: bool) -> list[ExportFormat]:
    """Requested formats plus what they are built from, in build order."""
    wanted = list(names) if names else list(FP32_DEFAULT)
    if int8:
        wanted += [n for n in INT8_DEFAULT if n not in wanted]
    unknown = [n for n in wanted if n not in FORMATS]
    if unknown:
        raise EdgeError(f"unknown format '{unknown[0]}'; choose from: {', '.join(FORMATS)}")
    needed = set(wanted)
    for name in wanted:
        needed.update(FORMATS[name].requires)
    return [f for name, f in FORMATS.items() if name in needed]
