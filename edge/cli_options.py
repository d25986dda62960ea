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


def config_parameters(config: type) -> tuple[inspect.Parameter, ...]:
    """One `--flag` per field of a config dataclass that has `metadata["help"]`: default None (not given:
    the config file's value or the dataclass default stands), the help saying that default."""
    hints = typing.get_type_hints(config)
    params = []
    for f in fields(config):
        if "help" not in f.metadata:
            continue
        flags = (f.metadata["flag"],) if f.metadata.get("flag") else ()
        info = typer.Option(*flags, help=f"{f.metadata['help']} (default: {f.default})", show_default=False)
        params.append(inspect.Parameter(f.name, inspect.Parameter.KEYWORD_ONLY, default=None,
                                        annotation=Annotated[typing.Optional[hints[f.name]], info]))
    return tuple(params)


def command(options: type[T], body: Callable[[T], None], extra: tuple[inspect.Parameter, ...] = (),
            rest: str | None = None) -> Callable[..., None]:
    """A typer command whose parameters are `options`' fields (plus `extra`, e.g. eager --version),
    calling `body(options(**values))`. With `rest`, the values of `extra` parameters that were given
    go into that field as a dict (config overrides). The help text is `body`'s docstring."""
    hints = typing.get_type_hints(options)
    params = [_parameter(f.name, hints[f.name], inspect.Parameter.empty if f.default is MISSING else f.default,
                         f.metadata["typer"])
              for f in fields(options) if "typer" in f.metadata]
    names = {p.name for p in params}
    extra_names = {p.name for p in extra}

    @functools.wraps(body)
    def run(**values: Any) -> None:
        given = {k: v for k, v in values.items() if k in names}
        if rest is not None:
            given[rest] = {k: v for k, v in values.items() if k in extra_names and v is not None}
        body(options(**given))

    signature = inspect.Signature([*params, *extra])
    run.__signature__ = signature  # typer reads the parameters from here ...
    run.__annotations__ = {p.name: p.annotation for p in signature.parameters.values()}  # ... and the types here
    del run.__wrapped__  # inspect.signature would otherwise follow it back to body's own signature
    run.body = body  # what the command does, for tests that keep commands short
    return run
