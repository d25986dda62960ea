"""The `edge` command: runtime and device commands always; train/export/bench with torch."""

from __future__ import annotations

from typing import Annotated

import typer

from edge.cli.infer import infer_command
from edge.cli_support import clean_errors, print_version, run, torch_available
from edge.devices.cli import app as devices_app
from edge.errors import EdgeError
from edge.review.cli import review

app = typer.Typer(
    name="edge",
    help="Photos -> a fast, verified image classifier for a Raspberry Pi or a laptop.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
@app.callback()
def _options(version: Annotated[bool, typer.Option("--version", callback=print_version, is_eager=True,
                                                   help="Print the version and exit.")] = False) -> None:
    """Photos -> a fast, verified image classifier for a Raspberry Pi or a laptop."""


app.command("infer")(infer_command)
app.add_typer(devices_app, name="devices", help="Devices: list, show, detect, tune, install-service.")
app.command("review")(review)  # torch-free: a run's oof.json, or an export through the runtime

TORCH_COMMANDS = ("train", "export", "bench", "classify")


def _needs_torch(name: str):
    @clean_errors
    def missing(ctx: typer.Context) -> None:
        raise EdgeError(f"`edge {name}` needs PyTorch: install the training extras with pip install 'edge-classifier[train]'")

    return missing


if torch_available():
    from edge.bench.cli import bench
    from edge.export.cli import export
    from edge.train.cli import classify, train

    # No help= here: each command's docstring (with its examples) is its help.
    for _name, _command in {"train": train, "export": export, "classify": classify, "bench": bench}.items():
        app.command(_name)(_command)
else:
    extra = {"allow_extra_args": True, "ignore_unknown_options": True}
    for _name in TORCH_COMMANDS:
        app.command(_name, context_settings=extra,
                    help="Needs PyTorch: pip install edge-classifier\\[train]")(_needs_torch(_name))


def main() -> None:
    run(app)


if __name__ == "__main__":
    main()
