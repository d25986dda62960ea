"""Options declared once: a dataclass's fields become a typer command's arguments and flags.

A command's options are a frozen dataclass (plain data the library takes); each field carries its
help text and flag in `metadata`. `command(Options, body)` builds the typer function from them, so
the command itself stays a few lines and a test can call the library with the same dataclass.
"""

from __future__ import annotations

import functools
import inspect
import typing
from collections.abc import Callable
from dataclasses import MISSING, fields
from typing import Annotated, Any, TypeVar

import typer

T = TypeVar("T")


def opt(help: str, *flags: str, **typer_kwargs: Any) -> dict[str, Any]:
    """Metadata for an option field: `field(default=..., metadata=opt("Help.", "--json"))`."""
    return {"typer": ("option", help, flags, typer_kwargs)}


def arg(help: str, **typer_kwargs: Any) -> dict[str, Any]:
    """Metadata for a positional argument field."""
    return {"typer": ("argument", help, (), typer_kwargs)}


def _parameter(name: str, annotation: Any, default: Any, meta: tuple) -> inspect.Parameter:
    kind, help_text, flags, kwargs = meta
    if kind == "argument":
        info = typer.Argument(help=help_text, **{"metavar": name.upper(), **kwargs})
    else:
        info = typer.Option(*flags, help=help_text, **kwargs)
    return inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=default,
                             annotation=Annotated[annotation, info])


def command(options: type[T], body: Callable[[T], None],
            extra: tuple[inspect.Parameter, ...] = ()) -> Callable[..., None]:
    """A typer command whose parameters are `options`' fields (plus `extra`, e.g. eager --version),
    calling `body(options(**values))`. The help text is `body`'s docstring."""
    hints = typing.get_type_hints(options)
    params = [_parameter(f.name, hints[f.name], None if f.default is MISSING else f.default, f.metadata["typer"])
              for f in fields(options) if "typer" in f.metadata]
    names = {p.name for p in params}

    @functools.wraps(body)
    def run(**values: Any) -> None:
        body(options(**{k: v for k, v in values.items() if k in names}))

    signature = inspect.Signature([*params, *extra])
    run.__signature__ = signature  # typer reads the parameters from here ...
    run.__annotations__ = {p.name: p.annotation for p in signature.parameters.values()}  # ... and the types here
    del run.__wrapped__  # inspect.signature would otherwise follow it back to body's own signature
    return run
