"""CLI plumbing every stage's command uses (below the stages; edge.cli.main sits on top of them).

EdgeError or OSError -> one line on stderr and exit 1, never a traceback."""

from __future__ import annotations

import functools
import importlib.util
import sys
from collections.abc import Callable
from typing import TypeVar

import typer
from rich.console import Console

from edge.errors import EdgeError

F = TypeVar("F", bound=Callable)


def clean_errors(func: F) -> F:
    """Wrap a typer command so an EdgeError prints one line and exits 1."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except EdgeError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(1) from None
        except OSError as exc:  # full disk, read-only folder, a file where a folder should be...
            typer.echo(f"error: {os_error_line(exc)}", err=True)
            raise typer.Exit(1) from None
        except KeyboardInterrupt:
            typer.echo("interrupted", err=True)
            raise typer.Exit(130) from None

    return wrapper  # type: ignore[return-value]


def make_console() -> Console:
    """Rich console. Piped or logged: lines are never wrapped (a wrapped log splits `--strategy finetune` and
    paths, and grep misses them), and tables get 160 columns, so they are never cut at 80 (`onnx-i…`)."""
    terminal = sys.stdout.isatty()
    return Console(width=None if terminal else 160, soft_wrap=not terminal)


def print_version(value: bool) -> None:
    """typer callback of --version: print the distribution name and version, then exit."""
    if value:
        from edge import __version__

        typer.echo(f"edge-classifier {__version__}")
        raise typer.Exit()


def os_error_line(exc: OSError) -> str:
    """One line naming the file and what to do, for an OSError that escaped the library."""
    where = exc.filename or "a file"
    reason = exc.strerror or type(exc).__name__
    return f"{where}: {reason}; check that the path is a writable folder with free space"


def torch_available() -> bool:
    """True when torch is installed; checked without importing it (the Pi has no torch)."""
    try:
        return importlib.util.find_spec("torch") is not None
    except (ImportError, ValueError):
        return False


def run(app: typer.Typer) -> None:
    """Run a typer app; EdgeErrors that escape a command still end in one clean line."""
    try:
        app()
    except EdgeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(1)
