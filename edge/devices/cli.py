"""`edge devices list | show NAME | detect | tune EXPORT_DIR | install-service NAME -- ARGS`."""

from __future__ import annotations

from dataclasses import asdict

import typer
from rich.table import Table

from edge.cli_options import command
from edge.cli_support import clean_errors, make_console
from edge.devices.options import InstallServiceOptions, ShowOptions, TuneOptions
from edge.devices.profiles import detect as detect_profile
from edge.devices.profiles import get_profile, load_profiles

app = typer.Typer(no_args_is_help=True, add_completion=False)
console = make_console()


def list_profiles() -> None:
    """List the device profiles.

    Example:

      edge devices list
    """
    table = Table("name", "formats (best first)", "threads", "description")
    for p in load_profiles().values():
        table.add_row(p.name, ", ".join(p.formats), str(p.threads or "all"), p.description)
    console.print(table)


def show(opts: ShowOptions) -> None:
    """Show one profile: threads, formats, camera and install line.

    Example:

      edge devices show raspberry-pi-5
    """
    for key, value in asdict(get_profile(opts.name)).items():
        console.print(f"[bold]{key:18s}[/] {', '.join(value) if isinstance(value, tuple) else value}")


def detect() -> None:
    """Guess the profile of the machine this runs on.

    Example:

      edge devices detect
    """
    profile, why = detect_profile()
    console.print(f"{profile.name}  ({why})")


def tune(opts: TuneOptions) -> None:
    """Time every artifact of an export here (1..N threads) and cache the fastest for edge-infer.

    Example:

      edge devices tune exports/flowers
    """
    from edge.devices import tune as tuner

    opts.check()
    rows, line = tuner.summary(opts.export_dir, opts.seconds, opts.max_threads, opts.again,
                               report=lambda m: typer.echo(m, err=True))
    table = Table("format", "threads", "p50 ms", "vs chosen", "rounds", title="batch-1 latency here")
    for row in rows:
        table.add_row(*row)
    console.print(table)
    typer.echo(line)


def install_service(opts: InstallServiceOptions) -> None:
    """Run edge-infer as a systemd service: restarted on failure, watched, started at boot.

    Everything after -- is edge-infer's own arguments; --token goes into a 0600 EnvironmentFile.

    Examples (a system service needs root: sudo ~/edge-venv/bin/edge ...):

      edge devices install-service edge-camera -- exports/flowers 0 --serve 0.0.0.0:8080 --token SECRET

      edge devices install-service edge-camera --dry-run -- exports/flowers picam --mqtt mqtt://broker.lan
    """
    from edge.devices.install_service import commands
    from edge.devices.install_service import install_service as install

    plan = install(opts.request(), report=lambda line: typer.echo(line, err=True))
    typer.echo(plan.text if opts.dry_run else commands(plan))


# Commands with options take them as one dataclass (edge.devices.options); list and detect take none.
app.command("list")(clean_errors(list_profiles))
app.command("show")(clean_errors(command(ShowOptions, show)))
app.command("detect")(clean_errors(detect))
app.command("tune")(clean_errors(command(TuneOptions, tune)))
# ignore_unknown_options: edge-infer's flags (--serve, --token ...) reach EDGE_INFER_ARGS even without --
app.command("install-service", context_settings={"ignore_unknown_options": True})(
    clean_errors(command(InstallServiceOptions, install_service)))
