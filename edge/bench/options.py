"""What `edge bench` is asked to do: its flags, declared once (edge.cli_options builds the command), and
running a bench from them (defaults, the device profile's threads, the floor check)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from edge.cli_options import arg, opt
from edge.devices.profiles import get_profile
from edge.errors import EdgeError


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

    @property
    def results_dir(self) -> Path:
        """Where bench.json/.md/.png go: --out, or RUN_DIR/bench."""
        return self.out or self.run_dir / "bench"

    def bench_arguments(self) -> dict:
        """The keyword arguments of edge.bench.run.bench: folders defaulted, --device read as its thread count."""
        threads = self.threads
        if self.device is not None:
            threads = get_profile(self.device).resolved_threads()
        return dict(run_dir=self.run_dir, export_dir=self.export_dir or self.run_dir / "export", out=self.results_dir,
                    formats=self.formats, threads=threads, repeats=self.repeats, peers=self.peers, force=self.force)


def bench_from_options(opts: BenchOptions, log: Callable[[str], None]) -> dict:
    """Run edge bench as asked (libraries quiet unless --verbose); the bench.json result."""
    from edge.bench.run import bench
    from edge.library_output import set_verbose

    set_verbose(opts.verbose)
    return bench(**opts.bench_arguments(), log=log)


def check_floors(result: dict, out: Path) -> None:
    """EdgeError when a format measured below its floor: the floor model is wrong, not the format fast."""
    below = [r["format"] for r in result["rows"] if r["below_floor"]]
    if below:
        raise EdgeError(f"{', '.join(below)} measured below the floor: the floor is wrong (results kept in {out})")
