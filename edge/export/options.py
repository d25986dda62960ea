"""What `edge export` is asked to do: its flags, declared once (edge.cli_options builds the command)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from edge.cli_options import arg, opt
from edge.formats import FORMATS, FP32_DEFAULT, INT8_DEFAULT


@dataclass(frozen=True, kw_only=True)
class ExportOptions:
    source: str = field(metadata=arg("Run folder or checkpoint.pt; or zoo:NAME for an ImageNet model."))
    out: Path = field(metadata=opt("Export folder to write (replaced atomically).", "--out"))
    int8: bool = field(default=False, metadata=opt("Add the INT8 artifacts (ONNX, OpenVINO, ...).", "--int8"))
    formats: list[str] | None = field(default=None, metadata=opt(
        f"Formats to build (repeatable): {', '.join(FORMATS)}. Default {', '.join(FP32_DEFAULT)}, and with --int8 "
        f"{', '.join(INT8_DEFAULT)} (the LiteRT pair where its converter is installed). The README's format table "
        "says what each runs on.", "--format"))
    device: str | None = field(default=None, metadata=opt(
        "Build the formats that run well on this device profile (edge devices list), e.g. raspberry-pi-4.", "--for"))
    max_drop: float | None = field(default=None, metadata=opt(
        "INT8 accuracy budget vs PyTorch, in points, for every INT8 format (default 1.0)."))
    calibration_size: int = field(default=300, metadata=opt("Calibration images (class-balanced from training)."))
    data: Path | None = field(default=None, metadata=opt(
        "Dataset folder if it moved since training (or photos for zoo:)."))
    threads: int = field(default=2, metadata=opt("CPU threads for checks and latency."))
    weights: Path | None = field(default=None, metadata=opt("zoo: only, local ImageNet state dict."))
    fp16_weights: bool = field(default=False, metadata=opt("OpenVINO FP32 IR with FP16-stored weights.",
                                                           "--fp16-weights"))
    force: bool = field(default=False, metadata=opt("Replace an earlier export in --out (never other files).", "--force"))
    verbose: bool = field(default=False, metadata=opt(
        "Also show the libraries' own output (NNCF, ONNX Runtime, torch).", "--verbose"))

    def pipeline_arguments(self) -> dict[str, Any]:
        """The keyword arguments of edge.export.pipeline.export (all but the CLI's own --verbose)."""
        return {k: v for k, v in asdict(self).items() if k != "verbose"}
