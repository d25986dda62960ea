"""edge-infer's arguments for a service: parsed by the same command edge-infer builds from InferOptions,
then written back canonically (absolute paths, secrets left out for the EnvironmentFile).

A typo fails here, at install time, instead of in a restart loop; a flag edge-infer gains is known here too.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, fields
from pathlib import Path

from edge.errors import EdgeError
from edge.runtime.named_sources import split_name
from edge.runtime.options import InferOptions

# Every Path option of InferOptions is read or written by the service (tests/devices/test_service.py
# keeps this table whole): what it writes must be writable under ProtectSystem=strict.
WRITES = {"collect": "dir", "record": "dir", "save": "file", "summary_json": "file", "state_dir": "dir"}
READS = ("artifact", "manifest", "mqtt_ca")
URL_SECRETS = {"mqtt": "mqtt_password"}  # a password inside this URL option moves to that option's variable


@dataclass(frozen=True)
class InferArgs:
    options: InferOptions  # what edge-infer will run
    argv: tuple[str, ...]  # its arguments: absolute paths, no secret
    secrets: dict[str, str]  # environment variable -> value, for the EnvironmentFile (e.g. EDGE_TOKEN)

    @property
    def writable(self) -> tuple[Path, ...]:
        """Folders the service writes: --collect/--record folders, the folders of --save/--summary-json files."""
        out: list[Path] = []
        for name, what in WRITES.items():
            value = getattr(self.options, name, None)
            if value is not None:
                folder = Path(value) if what == "dir" else Path(value).parent
                if folder not in out:
                    out.append(folder)
        return tuple(out)


def _command():
    import typer

    from edge.cli_options import command

    app = typer.Typer(add_completion=False)
    app.command()(command(InferOptions, lambda options: None))
    return typer.main.get_command(app)


def _absolute(value, cwd: Path):
    return Path(os.path.abspath(cwd / value)) if value is not None else None


def parse_infer_args(args: Sequence[str], cwd: Path) -> InferArgs:
    """`-- <edge-infer arguments>` -> InferArgs; EdgeError for what edge-infer would refuse."""
    import typer

    cmd = _command()  # typer's click (vendored in newer typer): its classes are reached by duck typing
    try:
        ctx = cmd.make_context("edge-infer", list(args))
    except typer.Exit:
        raise EdgeError("edge-infer arguments: give the arguments the service runs, not --help") from None
    except Exception as exc:
        if not hasattr(exc, "format_message"):  # click's usage errors have it
            raise
        raise EdgeError(f"edge-infer arguments: {exc.format_message()} (see edge-infer --help)") from None
    values, secrets, argv = dict(ctx.params), {}, []
    for name in (*READS, *WRITES):
        if values.get(name) is not None:
            values[name] = _absolute(values[name], cwd)
    for url_name, secret_name in URL_SECRETS.items():
        if values.get(url_name):
            values[url_name], password = split_password(values[url_name])
            if password is not None:
                values[secret_name] = password
                ctx.set_parameter_source(secret_name, type(ctx.get_parameter_source(url_name)).COMMANDLINE)
    if values.get("sources"):  # a video or /dev path that exists here, absolute; name=SOURCE keeps its name
        values["sources"] = [_absolute_source(text, cwd) for text in values["sources"]]
    for param in cmd.params:
        value, given = values.get(param.name), ctx.get_parameter_source(param.name)
        if getattr(param, "envvar", None) and value is not None:
            if given is not None and given.name == "COMMANDLINE":
                secrets[param.envvar] = str(value)  # read back from the EnvironmentFile, never in ExecStart
            else:  # from this shell's environment: not the service's
                values[param.name] = param.default
            continue
        argv.extend(_flag(param, value))
    options = InferOptions(**{f.name: values[f.name] for f in fields(InferOptions) if f.name in values}).check()
    if options.list_cameras:
        raise EdgeError("edge-infer arguments: --list-cameras lists and exits; a service runs a model on a SOURCE")
    if not Path(options.artifact).exists():
        raise EdgeError(f"{options.artifact}: no such model file or export folder; pass the path edge-infer runs")
    return InferArgs(options, tuple(argv), secrets)


def _absolute_source(text: str, cwd: Path) -> str:
    name, spec = split_name(text)
    if not (cwd / spec).exists():
        return text
    return ("" if name is None else f"{name}=") + str(_absolute(spec, cwd))


def split_password(url: str) -> tuple[str, str | None]:
    """mqtt://USER:PASS@HOST/... -> (mqtt://USER@HOST/..., PASS); a URL without one stays as it is."""
    from urllib.parse import unquote, urlsplit, urlunsplit

    parts = urlsplit(url)
    if parts.password is None:
        return url, None
    host = parts.netloc.rpartition("@")[2]
    user = parts.netloc.rpartition("@")[0].partition(":")[0]
    return urlunsplit(parts._replace(netloc=f"{user}@{host}")), unquote(parts.password)


def _flag(param, value) -> list[str]:
    """One parsed parameter back as arguments: nothing for a default, the flag for a switch."""
    if param.param_type_name == "argument":
        return [] if value is None else [str(v) for v in (value if isinstance(value, (list, tuple)) else [value])]
    if value is None or value == param.default:
        return []
    name = next((o for o in param.opts if o.startswith("--")), param.opts[0])
    if param.is_flag:
        if value:
            return [name]
        return [next(o for o in param.secondary_opts if o.startswith("--"))] if param.secondary_opts else []
    values = value if isinstance(value, (list, tuple)) else [value]
    return [item for v in values for item in (name, str(v))]
