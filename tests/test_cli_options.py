"""edge.cli_options: a command's options are one dataclass; what the command line gives is what the body gets."""

from __future__ import annotations

import inspect
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from edge.cli_options import arg, command, opt

runner = CliRunner()


def parse(options: type, args: list[str], **settings):
    """The dataclass the command's body receives for `args`."""
    seen = []
    app = typer.Typer(add_completion=False)
    app.command(**settings)(command(options, seen.append))
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    return seen[0]


@dataclass(frozen=True, kw_only=True)
class Example:
    """Example."""

    path: Path = field(metadata=arg("A path."))
    count: int = field(default=2, metadata=opt("How many."))
    loud: bool = field(default=False, metadata=opt("Shout.", "--loud"))


def test_fields_become_arguments_and_flags_and_the_body_gets_the_dataclass():
    assert parse(Example, ["p", "--count", "5", "--loud"]) == Example(path=Path("p"), count=5, loud=True)
    assert parse(Example, ["p"]) == Example(path=Path("p"))


def test_the_command_unwraps_to_its_body_and_reads_its_docstring():
    def body(opts: Example) -> None:
        """What it does."""

    run = command(Example, body)
    assert inspect.unwrap(run) is body and run.__doc__ == "What it does."
    assert list(inspect.signature(run).parameters) == ["path", "count", "loud"]


def test_train_flags_override_the_config_file_which_overrides_the_defaults(tmp_path):
    from edge.train.request import TrainRequest, resolve_config

    cfg_file = tmp_path / "c.toml"
    cfg_file.write_text('epochs = 3\nbatch_size = 8\nmodel = "resnet18"\namp = false\ncv_folds = 4\n')
    req = parse(TrainRequest, ["d", "--out", "o", "--config", str(cfg_file), "--epochs", "5", "--amp", "--seed", "2"])
    assert req.settings.given() == {"epochs": 5, "amp": True, "seed": 2}  # only the flags given, typed
    cfg = resolve_config(req)
    assert (cfg.epochs, cfg.batch_size, cfg.model, cfg.amp, cfg.seed, cfg.cv_folds) == (5, 8, "resnet18", True, 2, 4)
    assert (cfg.lr_head, cfg.data, cfg.out) == (1e-3, "d", "o")  # neither file nor flag: the default
    bare = resolve_config(parse(TrainRequest, ["d", "--out", "o"]))
    assert (bare.epochs, bare.batch_size, bare.amp) == (None, 32, True)


def test_a_train_setting_typo_fails_when_the_request_is_built():
    from edge.train.config import TrainFlags

    with pytest.raises(TypeError):
        TrainFlags(epoch=3)


def test_install_service_passes_edge_infer_arguments_through():
    from edge.devices.options import InstallServiceOptions

    context = {"context_settings": {"ignore_unknown_options": True}}
    after = parse(InstallServiceOptions, ["cam", "--dry-run", "--", "exports/f", "0", "--serve", "8080"], **context)
    unmarked = parse(InstallServiceOptions, ["cam", "exports/f", "0", "--serve", "8080", "--dry-run"], **context)
    assert after.request().args == unmarked.request().args == ("exports/f", "0", "--serve", "8080")
    assert after.request().dry_run and unmarked.request().dry_run and after.request().watchdog_s == 60


def test_bench_options_resolve_folders_and_the_profile_threads():
    from edge.bench.options import BenchOptions
    from edge.devices.profiles import get_profile

    plain = BenchOptions(run_dir=Path("r")).bench_arguments()
    assert (plain["export_dir"], plain["out"], plain["threads"]) == (Path("r/export"), Path("r/bench"), 2)
    pi = BenchOptions(run_dir=Path("r"), device="raspberry-pi-5", out=Path("b")).bench_arguments()
    assert (pi["out"], pi["threads"]) == (Path("b"), get_profile("raspberry-pi-5").resolved_threads())
