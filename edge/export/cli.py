"""`edge export`: a thin typer command over edge.export.pipeline."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.table import Table

from edge.cli_support import clean_errors, make_console

console = make_console()


def _table(report: dict) -> Table:
    # The check photos include the ones the head was trained on (a cross-validated head is refit on every
    # labelled photo), so an accuracy here would be agreement on training photos: show agreement, the logit
    # gap and the INT8 drop against PyTorch on the same photos; the honest estimate is in the manifest.
    table = Table(title=f"export parity vs PyTorch on {report['images']} labelled photos (agreement, not accuracy: "
                        f"the head was trained on them), {report['threads']} threads")
    for col in ("format", "agreement", "max |Δlogit|", "drop vs PyTorch (pts)", "size MB", "ms (b=1)", "export s"):
        table.add_column(col, justify="right" if col != "format" else "left", no_wrap=True)
    for r in report["formats"]:
        drop = "-" if r["accuracy_drop"] is None else f"{r['accuracy_drop']:+.2f}"
        slow = " [red](slower than FP32)[/]" if r.get("slower_than_fp32") else ""
        if r.get("within_budget") is False:
            drop += " [red](over budget)[/]"
        table.add_row(r["name"], f"{r['top1_agreement']:.2%}", f"{r['max_abs_logit_diff']:.2e}", drop,
                      f"{r['size_mb']:.2f}", f"{r['latency_ms_b1']:.2f}{slow}", f"{r['export_seconds']:.1f}")
    return table


@clean_errors
def export(
    *,
    source: Annotated[str, typer.Argument(help="Run folder or checkpoint.pt; or zoo:NAME for an ImageNet model.")],
    out: Annotated[Path, typer.Option("--out", help="Export folder to write (replaced atomically).")],
    int8: Annotated[bool, typer.Option("--int8", help="Add the INT8 ONNX and OpenVINO artifacts.")] = False,
    format: Annotated[Optional[list[str]], typer.Option("--format", help="torchscript, onnx, onnx-int8, openvino, "
                                                        "openvino-int8 (repeatable; default all FP32).")] = None,
    max_drop: Annotated[Optional[float], typer.Option(
        help="INT8 accuracy budget vs PyTorch, in points, for ONNX and OpenVINO INT8 (default 1.0).")] = None,
    calibration_size: Annotated[int, typer.Option(help="Calibration images (class-balanced from training).")] = 300,
    data: Annotated[Optional[Path], typer.Option(help="Dataset folder if it moved since training (or photos for zoo:).")] = None,
    threads: Annotated[int, typer.Option(help="CPU threads for checks and latency.")] = 2,
    weights: Annotated[Optional[Path], typer.Option(help="zoo: only, local ImageNet state dict.")] = None,
    fp16_weights: Annotated[bool, typer.Option("--fp16-weights", help="OpenVINO FP32 IR with FP16-stored weights.")] = False,
    force: Annotated[bool, typer.Option("--force", help="Replace an earlier export in --out (never other files).")] = False,
    verbose: Annotated[bool, typer.Option("--verbose", help="Also show the libraries' own output (NNCF, ONNX "
                                          "Runtime, torch).")] = False,
) -> None:
    """Export a run to deployable artifacts, each checked against the PyTorch model.

    Examples:

      edge export runs/flowers --out exports/flowers --int8

      edge export runs/flowers --out exports/flowers --format onnx-int8 --max-drop 0.5 --force
    """
    from edge.chatter import set_verbose
    from edge.export.pipeline import export as run_export

    set_verbose(verbose)
    report = run_export(source=source, out=out, formats=format, int8=int8, data=data, max_drop=max_drop,
                        calibration_size=calibration_size, threads=threads, weights=weights, log=console.print,
                        fp16_weights=fp16_weights, force=force)
    console.print(_table(report))
    console.print(f"[bold green]done[/]: {out} in {report['seconds']:.0f} s, peak memory {report['peak_rss_mb']:.0f} MB")
