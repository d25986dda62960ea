"""`edge devices list | show NAME | detect`."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated

import typer
from rich.table import Table

from edge.cli_support import clean_errors, make_console
from edge.devices.profiles import detect as detect_profile
from edge.devices.profiles import get_profile, load_profiles

app = typer.Typer(no_args_is_help=True, add_completion=False)
console = make_console()


@app.command("list")
@clean_errors
def list_profiles() -> None:
    """List the device profiles.

    Example:

      edge devices list
    """
    table = Table("name", "backend", "precision", "threads", "description")
    for p in load_profiles().values():
        table.add_row(p.name, p.backend, p.precision, str(p.threads or "all"), p.description)
    console.print(table)


@app.command("show")
@clean_errors
def show(name: Annotated[str, typer.Argument(help="Profile name (edge devices list).")]) -> None:
    """Show one profile: threads, backend, artifact, camera and install line.

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
