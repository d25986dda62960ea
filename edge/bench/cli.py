"""`edge bench`: a thin typer command over edge.bench.run."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.table import Table

from edge.cli_support import clean_errors, make_console
from edge.errors import EdgeError

console = make_console()


def _table(result: dict) -> Table:
    m = result["machine"]
    table = Table(title=f"edge bench on {m['cpu']} ({m['threads']} threads, {result['images']} images)")
    for col in ("format", "p50 ms", "p90 ms", "floor ms", "img/s (batch)", "accuracy", "drop", "agreement", "MB",
                "RSS MB"):
        table.add_column(col, justify="left" if col == "format" else "right")
    for r in result["rows"]:
        flag = " [red]INT8 slower than FP32[/]" if r.get("slower_than_fp32") else ""
        table.add_row(r["format"] + flag, f"{r['latency_ms_p50']:.2f}", f"{r['latency_ms_p90']:.2f}",
                      f"{r['floor_ms']:.2f}", f"{r['throughput_ips']:.0f} ({r['best_batch']})", f"{r['accuracy']:.4f}",
                      f"{r['accuracy_drop']:+.2f}", f"{r['top1_agreement']:.4f}", f"{r['size_mb']:.2f}",
                      str(r["peak_rss_mb"]))
    return table


@clean_errors
def bench(
    *,
    run_dir: Annotated[Path, typer.Argument(help="Run folder written by edge train.")],
    out: Annotated[Optional[Path], typer.Option(help="Where bench.json/.md/.png go (default RUN_DIR/bench).")] = None,
    export_dir: Annotated[Optional[Path], typer.Option(help="Export folder (default RUN_DIR/export); missing "
                                                       "formats are exported first.")] = None,
    formats: Annotated[Optional[list[str]], typer.Option("--formats", help="Subset of formats (repeatable).")] = None,
    device: Annotated[Optional[str], typer.Option(help="Device profile: its thread count is used.")] = None,
    threads: Annotated[int, typer.Option(help="Inference threads (default 2, or the profile's).")] = 2,
    repeats: Annotated[int, typer.Option(help="Batch-1 runs per format for the latency percentiles.")] = 100,
    peers: Annotated[bool, typer.Option("--peers", help="Add rows for torch.onnx.export + ORT, ORT quantize_static, "
                                        "nncf.quantize and OpenVINO FP32, each with its defaults.")] = False,
    verbose: Annotated[bool, typer.Option("--verbose", help="Also show the libraries' own output (NNCF, ONNX "
                                          "Runtime, torch).")] = False,
) -> None:
    """Benchmark every format of a run: accuracy, agreement, latency, throughput, size, memory.

    Example:

      edge bench runs/flowers --export-dir exports/flowers --out benchmarks/flowers
    """
    from edge.bench.run import bench as run_bench
    from edge.chatter import set_verbose

    set_verbose(verbose)
    if device is not None:
        from edge.devices.profiles import get_profile

        threads = get_profile(device).resolved_threads()
    out = out or run_dir / "bench"
    export_dir = export_dir or run_dir / "export"
    result = run_bench(run_dir=run_dir, export_dir=export_dir, out=out, formats=formats, threads=threads,
                       repeats=repeats, peers=peers, log=console.print)
    console.print(_table(result))
    below = [r["format"] for r in result["rows"] if r["below_floor"]]
    if below:
        raise EdgeError(f"{', '.join(below)} measured below the floor: the floor is wrong (results kept in {out})")
    console.print(f"[bold green]done[/]: {out}/bench.json, bench.md, bench.png")
