"""`edge export`: a thin typer command over edge.export.pipeline."""

from __future__ import annotations

from rich.table import Table

from edge.cli_options import command
from edge.cli_support import clean_errors, make_console
from edge.export.options import ExportOptions
from edge.export_dir import ExportReport

console = make_console()


def _table(report: ExportReport) -> Table:
    from edge.export import parity  # torch: imported once an export has run, not for `edge --help`

    # The check photos include the ones the head was trained on (a cross-validated head is refit on every
    # labelled photo), so an accuracy here would be agreement on training photos: show agreement, the logit
    # gap and the INT8 drop against PyTorch on the same photos; the honest estimate is in the manifest.
    table = Table(title=f"export parity vs PyTorch on {report.images} labelled photos (agreement, not accuracy: "
                        f"the head was trained on them), {report.threads} threads")
    for col in ("format", "agreement", "max |Δlogit|", "drop vs PyTorch (pts)", "size MB", "ms (b=1)", "export s"):
        table.add_column(col, justify="right" if col != "format" else "left", no_wrap=True)
    for r in report.formats:
        drop = "-" if r.accuracy_drop is None else f"{r.accuracy_drop:+.2f}"
        slow = " [red](slower than FP32)[/]" if r.slower_than_fp32 else ""
        if r.within_budget is False:
            drop += " [red](over budget)[/]"
        agreement = parity.agreement_text(r) + (" [yellow](too few photos)[/]" if r.parity_warning else "")
        table.add_row(r.name, agreement, f"{r.max_abs_logit_diff:.2e}", drop,
                      f"{r.size_mb:.2f}", "sensor" if r.latency_ms_b1 is None else f"{r.latency_ms_b1:.2f}{slow}",
                      f"{r.export_seconds:.1f}")
    return table


def run_export_command(opts: ExportOptions) -> None:
    """Export a run to deployable artifacts, each checked against the PyTorch model.

    Examples:

      edge export runs/flowers --out exports/flowers --int8

      edge export runs/flowers --out exports/flowers --format onnx-int8 --max-drop 0.5 --force
    """
    from edge.export.pipeline import export as run_export
    from edge.library_output import set_verbose

    set_verbose(opts.verbose)
    report = run_export(**opts.pipeline_arguments(), log=console.print)
    console.print(_table(report))
    unvouched = [r.name for r in report.formats if r.parity_warning]
    if unvouched:
        console.print(f"[yellow]warning: {report.images} check photos are too few to vouch for "
                      f"{', '.join(unvouched)}: their agreement cannot tell a sound format from a broken one[/]")
    console.print(f"[bold green]done[/]: {opts.out} in {report.seconds:.0f} s, peak memory "
                  f"{report.peak_rss_mb:.0f} MB")


export = clean_errors(command(ExportOptions, run_export_command))
