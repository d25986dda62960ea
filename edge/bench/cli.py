"""`edge bench`: a thin typer command over edge.bench.run."""

from __future__ import annotations

from rich.table import Table

from edge.bench import glass
from edge.bench.options import BenchOptions, bench_from_options, check_floors
from edge.cli_options import command
from edge.cli_support import clean_errors, make_console

console = make_console()


def _table(result: dict) -> Table:
    m = result["machine"]
    held_out = result.get("photos_held_out")  # else the head was trained on these photos: no accuracy column
    table = Table(title=f"edge bench on {m['cpu']} ({m['threads']} threads, {result['images']} images)")
    columns = ["format", "p50 ms", "p90 ms", "floor ms", "img/s (batch)", *(["accuracy", "drop"] if held_out else []),
               "agreement", "MB", "RSS MB"]
    for col in columns:
        table.add_column(col, justify="left" if col == "format" else "right")
    for r in result["rows"]:
        flag = " [red]INT8 slower than FP32[/]" if r.get("slower_than_fp32") else ""
        accuracy = [f"{r['accuracy']:.4f}", f"{r['accuracy_drop']:+.2f}"] if held_out else []
        table.add_row(r["format"] + flag, f"{r['latency_ms_p50']:.2f}", f"{r['latency_ms_p90']:.2f}",
                      f"{r['floor_ms']:.2f}", f"{r['throughput_ips']:.0f} ({r['best_batch']})", *accuracy,
                      f"{r['top1_agreement']:.4f}", f"{r['size_mb']:.2f}", str(r["peak_rss_mb"]))
    return table


def run_bench_command(opts: BenchOptions) -> None:
    """Benchmark every format of a run: agreement, latency, throughput, size, memory (and accuracy on held-out photos).

    Example:

      edge bench runs/flowers --export-dir exports/flowers --out benchmarks/flowers
    """
    result = bench_from_options(opts, log=console.print)
    console.print(_table(result))
    frames = glass.table(result)
    if frames is not None:
        console.print(frames)
    check_floors(result, opts.results_dir)
    console.print(f"[bold green]done[/]: {opts.results_dir}/bench.json, bench.md, bench.png")


bench = clean_errors(command(BenchOptions, run_bench_command))
