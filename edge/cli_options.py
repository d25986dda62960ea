"""Options declared once: a dataclass's fields become a typer command's arguments and flags.

Every `edge` and `edge-infer` command that takes options declares them as a frozen dataclass (plain data
the library takes); each field carries its help text and flag in `metadata` (`opt()`, `arg()`: plain
data). `command(Options, body)` builds the typer function from them, so the command itself is
a few lines and a test can call the library with the same dataclass. A config dataclass whose fields
are also flags (TrainConfig) becomes a group of optional flags with `overrides()` and `group()`.
"""

from __future__ import annotations

import functools
import inspect
import typing
from collections.abc import Callable
from dataclasses import MISSING, dataclass, field, fields, is_dataclass, make_dataclass
from typing import Annotated, Any, TypeVar

import typer

T = TypeVar("T")


@dataclass(frozen=True)
class CliField:
    """How a dataclass field appears on the command line."""

    kind: str  # "option", "argument", or "group" (a dataclass field whose own fields are options)
    help: str = ""
    flags: tuple[str, ...] = ()  # e.g. ("--json",) or ("--amp/--no-amp",); none: typer derives --field-name
    typer_kwargs: dict[str, Any] = field(default_factory=dict)  # e.g. show_default=False, envvar=...


def opt(help: str, *flags: str, **typer_kwargs: Any) -> dict[str, CliField]:
    """Metadata for an option field: `field(default=..., metadata=opt("Help.", "--json"))`."""
    return {"cli": CliField("option", help, flags, typer_kwargs)}


def arg(help: str, **typer_kwargs: Any) -> dict[str, CliField]:
    """Metadata for a positional argument field."""
    return {"cli": CliField("argument", help, (), typer_kwargs)}


def group() -> dict[str, CliField]:
    """Metadata for a field holding an `overrides()` dataclass: its fields are the command's options too."""
    return {"cli": CliField("group")}


def _given(self) -> dict[str, Any]:
    return {f.name: getattr(self, f.name) for f in fields(self) if getattr(self, f.name) is not None}


def overrides(config: type, name: str) -> type:
    """A frozen dataclass with one optional field per option field of `config`: None when the flag was not
    given (the config file's value or `config`'s default stands), the help saying that default.
    `.given()` is the dict of the flags that were given."""
    hints = typing.get_type_hints(config)
    optional = []
    for f in fields(config):
        if "cli" in f.metadata:
            cli = f.metadata["cli"]
            flag = CliField("option", f"{cli.help} (default: {f.default})", cli.flags,
                            {**cli.typer_kwargs, "show_default": False})
            optional.append((f.name, typing.Optional[hints[f.name]], field(default=None, metadata={"cli": flag})))
    cls = make_dataclass(name, optional, frozen=True, kw_only=True, namespace={"given": _given})
    cls.__module__ = config.__module__
    return cls


def _parameter(name: str, annotation: Any, default: Any, cli: CliField) -> inspect.Parameter:
    if cli.kind == "argument":
        info = typer.Argument(help=cli.help, **{"metavar": name.upper(), **cli.typer_kwargs})
    else:
        info = typer.Option(*cli.flags, help=cli.help, **cli.typer_kwargs)
    return inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=default,
                             annotation=Annotated[annotation, info])


def _parameters(options: type) -> tuple[list[inspect.Parameter], dict[str, type]]:
    """The typer parameters of `options`' fields, and the group fields (name -> their dataclass)."""
    hints = typing.get_type_hints(options)
    params, groups = [], {}
    for f in fields(options):
        cli = f.metadata.get("cli")
        if cli is None:
            continue
        if cli.kind == "group":
            groups[f.name] = hints[f.name]
            params += _parameters(hints[f.name])[0]
        else:
            default = inspect.Parameter.empty if f.default is MISSING else f.default
            params.append(_parameter(f.name, hints[f.name], default, cli))
    return params, groups


def command(options: type[T], body: Callable[[T], None],
            extra: tuple[inspect.Parameter, ...] = ()) -> Callable[..., None]:
    """A typer command whose parameters are `options`' fields (a group's fields included, plus `extra`
    such as an eager --version), calling `body(options(**values))`. Its help text is `body`'s docstring,
    and `inspect.unwrap` reaches `body`: what the command does, in a few lines."""
    if not is_dataclass(options):
        raise TypeError(f"{options!r} is not a dataclass")
    params, groups = _parameters(options)
    names = [p.name for p in params]
    if len(set(names)) != len(names):
        raise TypeError(f"{options.__name__}: a flag is declared twice ({sorted(n for n in names if names.count(n) > 1)})")
    group_fields = {name: {f.name for f in fields(cls)} for name, cls in groups.items()}
    extra_names = {p.name for p in extra}

    def run(**values: Any) -> None:
        for name, cls in groups.items():
            values[name] = cls(**{k: values.pop(k) for k in group_fields[name]})
        body(options(**{k: v for k, v in values.items() if k not in extra_names}))

    functools.update_wrapper(run, body)  # name, docstring (the help) and __wrapped__ = body
    signature = inspect.Signature([*params, *extra])
    run.__signature__ = signature  # typer reads the parameters here (inspect.signature stops at __signature__) ...
    run.__annotations__ = {p.name: p.annotation for p in signature.parameters.values()}  # ... and their types here
    return run
