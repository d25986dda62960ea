"""What `edge devices show | tune | install-service` are asked to do: arguments and flags, declared once
(edge.cli_options builds the commands); `list` and `detect` take none."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from edge.cli_options import arg, opt
from edge.devices.install_service import InstallRequest
from edge.errors import EdgeError


@dataclass(frozen=True, kw_only=True)
class ShowOptions:
    name: str = field(metadata=arg("Profile name (edge devices list)."))


@dataclass(frozen=True, kw_only=True)
class TuneOptions:
    export_dir: Path = field(metadata=arg("Export folder written by edge export."))
    seconds: float = field(default=1.0, metadata=opt("Timing per artifact and thread count."))
    max_threads: int | None = field(default=None, metadata=opt("Try 1..N threads (default: all cores)."))
    again: bool = field(default=False, metadata=opt("Time again even when a cached choice is valid.", "--again"))

    def check(self) -> TuneOptions:
        if not self.export_dir.is_dir():
            raise EdgeError(f"{self.export_dir}: not an export folder; pass the --out of edge export")
        return self


@dataclass(frozen=True, kw_only=True)
class InstallServiceOptions:
    name: str = field(metadata=arg("The service's name: `systemctl start NAME`."))
    infer_args: list[str] | None = field(default=None, metadata=arg(
        "edge-infer's own arguments, after --: the export folder, the source and its flags.",
        metavar="EDGE_INFER_ARGS"))
    user: bool = field(default=False, metadata=opt(
        "A user service (~/.config/systemd/user, systemctl --user), no sudo needed.", "--user"))
    dry_run: bool = field(default=False, metadata=opt("Print the unit; write nothing.", "--dry-run"))
    watchdog_sec: int = field(default=60, metadata=opt("Restart when no frame was classified for this long."))
    run_as: str | None = field(default=None, metadata=opt("User the system service runs as (default: who ran sudo)."))
    unit_dir: Path | None = field(default=None, metadata=opt("Write the unit here instead (packaging, tests)."))
    env_dir: Path | None = field(default=None, metadata=opt("Write the secrets file here instead."))

    def request(self) -> InstallRequest:
        return InstallRequest(name=self.name, args=tuple(self.infer_args or ()), user_mode=self.user,
                              dry_run=self.dry_run, unit_dir=self.unit_dir, env_dir=self.env_dir, run_as=self.run_as,
                              watchdog_s=self.watchdog_sec)
