"""`edge devices list | show NAME | detect`."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.table import Table

from edge.cli_support import clean_errors, make_console
from edge.devices.profiles import detect as detect_profile
from edge.devices.profiles import get_profile, load_profiles
from edge.errors import EdgeError

app = typer.Typer(no_args_is_help=True, add_completion=False)
console = make_console()


@app.command("list")
@clean_errors
def list_profiles() -> None:
    """List the device profiles.

    Example:

      edge devices list
    """
    table = Table("name", "formats (best first)", "threads", "description")
    for p in load_profiles().values():
        table.add_row(p.name, ", ".join(p.formats), str(p.threads or "all"), p.description)
    console.print(table)


@app.command("show")
@clean_errors
def show(name: Annotated[str, typer.Argument(help="Profile name (edge devices list).")]) -> None:
    """Show one profile: threads, formats, camera and install line.

    Example:

      edge devices show raspberry-pi-5
    """
    for key, value in asdict(get_profile(name)).items():
        console.print(f"[bold]{key:18s}[/] {', '.join(value) if isinstance(value, tuple) else value}")


@app.command("detect")
@clean_errors
def detect() -> None:
    """Guess the profile of the machine this runs on.

    Example:

      edge devices detect
    """
    profile, why = detect_profile()
    console.print(f"{profile.name}  ({why})")


@app.command("tune")
@clean_errors
def tune(
    export_dir: Annotated[Path, typer.Argument(help="Export folder written by edge export.")],
    seconds: Annotated[float, typer.Option(help="Timing per artifact and thread count.")] = 1.0,
    max_threads: Annotated[Optional[int], typer.Option(help="Try 1..N threads (default: all cores).")] = None,
    again: Annotated[bool, typer.Option("--again", help="Time again even when a cached choice is valid.")] = False,
) -> None:
    """Time every artifact of an export here (1..N threads) and cache the fastest for edge-infer.

    Example:

      edge devices tune exports/flowers
    """
    from edge.devices import tune as tuner

    if not export_dir.is_dir():
        raise EdgeError(f"{export_dir}: not an export folder; pass the --out of edge export")
    rows, line = tuner.summary(export_dir, seconds, max_threads, again, report=lambda m: typer.echo(m, err=True))
    table = Table("format", "threads", "p50 ms", "vs chosen", "rounds", title="batch-1 latency here")
    for row in rows:
        table.add_row(*row)
    console.print(table)
    typer.echo(line)


@app.command("install-service", context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
@clean_errors
def install_service(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The service's name: `systemctl start NAME`.")],
    user: Annotated[bool, typer.Option("--user", help="A user service (~/.config/systemd/user, systemctl --user), "
                                                      "no sudo needed.")] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print the unit; write nothing.")] = False,
    watchdog_sec: Annotated[int, typer.Option(help="Restart when no frame was classified for this long.")] = 60,
    run_as: Annotated[Optional[str], typer.Option(help="User the system service runs as (default: who ran sudo).")] = None,
    unit_dir: Annotated[Optional[Path], typer.Option(help="Write the unit here instead (packaging, tests).")] = None,
    env_dir: Annotated[Optional[Path], typer.Option(help="Write the secrets file here instead.")] = None,
) -> None:
    """Run edge-infer as a systemd service: restarted on failure, watched, started at boot.

    Everything after -- is edge-infer's own arguments; --token goes into a 0600 EnvironmentFile.

    Examples (a system service needs root: sudo ~/edge-venv/bin/edge ...):

      edge devices install-service edge-camera -- exports/flowers 0 --serve 0.0.0.0:8080 --token SECRET

      edge devices install-service edge-camera --dry-run -- exports/flowers picam --mqtt mqtt://broker.lan
    """
    from edge.devices.install_service import InstallRequest, commands
    from edge.devices.install_service import install_service as install

    request = InstallRequest(name=name, args=tuple(ctx.args), user_mode=user, dry_run=dry_run, unit_dir=unit_dir,
                             env_dir=env_dir, run_as=run_as, watchdog_s=watchdog_sec)
    plan = install(request, report=lambda line: typer.echo(line, err=True))
    typer.echo(plan.text if dry_run else commands(plan))
