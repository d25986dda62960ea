"""What `edge bench` is asked to do: its flags, declared once (edge.cli_options builds the command)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from edge.cli_options import arg, opt


@dataclass(frozen=True, kw_only=True)
class BenchOptions:
    run_dir: Path = field(metadata=arg("Run folder written by edge train."))
    out: Path | None = field(default=None, metadata=opt("Where bench.json/.md/.png go (default RUN_DIR/bench)."))
    export_dir: Path | None = field(default=None, metadata=opt(
        "Export folder (default RUN_DIR/export). Formats it lacks are exported into a temporary folder for "
        "this bench; into the export folder only when it is empty, or with --force."))
    force: bool = field(default=False, metadata=opt(
        "Re-export --export-dir when it lacks a format or comes from an older checkpoint.", "--force"))
    formats: list[str] | None = field(default=None, metadata=opt("Subset of formats (repeatable).", "--formats"))
    device: str | None = field(default=None, metadata=opt("Device profile: its thread count is used."))
    threads: int = field(default=2, metadata=opt("Inference threads (default 2, or the profile's)."))
    repeats: int = field(default=100, metadata=opt("Batch-1 runs per format for the latency percentiles."))
    peers: bool = field(default=False, metadata=opt(
        "Add rows for torch.onnx.export + ORT, ORT quantize_static, nncf.quantize and OpenVINO FP32, each with "
        "its defaults.", "--peers"))
    verbose: bool = field(default=False, metadata=opt(
        "Also show the libraries' own output (NNCF, ONNX Runtime, torch).", "--verbose"))
