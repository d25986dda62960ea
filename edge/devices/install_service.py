"""Where a service's files go, writing them, and the systemctl lines that start, follow and remove it."""

from __future__ import annotations

import getpass
import os
import shutil
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from edge.atomic import write_text
from edge.devices.infer_args import parse_infer_args
from edge.devices.service import (
    NAME_RE,
    SYSTEM_ENV_DIR,
    SYSTEM_UNIT_DIR,
    UnitSpec,
    env_file_text,
    existing_groups,
    render_unit,
    systemd_version,
    venv_edge_infer,
)
from edge.errors import EdgeError

Report = Callable[[str], None]


@dataclass(frozen=True, kw_only=True)
class InstallRequest:
    name: str  # the unit's name: `systemctl start NAME`
    args: tuple[str, ...]  # edge-infer's arguments
    user_mode: bool = False  # --user: ~/.config/systemd/user, `systemctl --user`
    dry_run: bool = False  # print the unit, write nothing
    unit_dir: Path | None = None  # default /etc/systemd/system, or ~/.config/systemd/user with --user
    env_dir: Path | None = None  # default /etc/edge, or ~/.config/edge with --user
    run_as: str | None = None  # User= of a system unit (default: the user who ran sudo)
    watchdog_s: int = 60
    cwd: Path = field(default_factory=Path.cwd)


@dataclass(frozen=True)
class ServicePlan:
    spec: UnitSpec
    unit_path: Path
    env_path: Path | None  # None: no secret given
    secrets: dict[str, str] = field(repr=False)

    @property
    def text(self) -> str:
        return render_unit(self.spec)


def config_home() -> Path:
    return Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")


def plan_service(req: InstallRequest, report: Report) -> ServicePlan:
    """What install-service writes, decided and checked before anything is written."""
    name = req.name.removesuffix(".service")
    if not NAME_RE.fullmatch(name):
        raise EdgeError(f"{req.name}: a unit name uses letters, digits and : _ . - only, e.g. edge-camera")
    parsed = parse_infer_args(req.args, req.cwd)
    if parsed.options.show:
        raise EdgeError("--show: a service has no display; watch it in a browser with --serve instead")
    if parsed.options.save is not None:
        report("note: --save refuses to replace its file, so the service would fail after its first restart; "
               "use --collect (or --record) folders for a service")
    if req.watchdog_s < 5:
        raise EdgeError(f"--watchdog-sec {req.watchdog_s}: give 5 seconds or more (60 leaves a camera time to reopen)")
    unit_dir = req.unit_dir or (config_home() / "systemd" / "user" if req.user_mode else SYSTEM_UNIT_DIR)
    env_dir = req.env_dir or (config_home() / "edge" if req.user_mode else SYSTEM_ENV_DIR)
    env_path = env_dir / f"{name}.env" if parsed.secrets else None
    wanted = ("video", "gpio") if any(a == "--gpio" or a.startswith("--gpio-") for a in req.args) else ("video",)
    run_as = None if req.user_mode else (req.run_as or os.environ.get("SUDO_USER") or getpass.getuser())
    if run_as and not user_exists(run_as):
        message = f"--run-as {run_as}: no such user on this machine; name the user the service runs as"
        if not req.dry_run:
            raise EdgeError(message)
        report(f"note: {message}")
    if req.user_mode and not in_group("video"):
        report(f"note: {getpass.getuser()} is not in the group 'video', so a camera may not open; "
               f"sudo usermod -aG video {getpass.getuser()}, then log in again")
    spec = UnitSpec(name=name, exec_start=(str(venv_edge_infer()), *parsed.argv), working_dir=req.cwd,
                    user_mode=req.user_mode, run_as=run_as, groups=() if req.user_mode else existing_groups(wanted, report),
                    writable=parsed.writable, env_file=env_path, watchdog_s=req.watchdog_s,
                    systemd_version=systemd_version())
    return ServicePlan(spec, unit_dir / spec.file_name, env_path, parsed.secrets)


def user_exists(name: str) -> bool:
    import pwd

    try:
        pwd.getpwnam(name)
        return True
    except KeyError:
        return False


def in_group(name: str) -> bool:
    import grp

    try:
        return grp.getgrnam(name).gr_gid in os.getgroups() or os.getegid() == grp.getgrnam(name).gr_gid
    except KeyError:
        return False


def install_service(req: InstallRequest, report: Report = print) -> ServicePlan:
    """Write the unit (and the 0600 EnvironmentFile); with dry_run only plan it."""
    plan = plan_service(req, report)
    if req.dry_run:
        return plan
    check_writable(plan.unit_path.parent, req.user_mode)
    if plan.env_path is not None:
        write_text(plan.env_path, env_file_text(plan.secrets), mode=0o600)
    make_folders(plan.spec.writable, plan.spec.run_as, report)
    if plan.unit_path.exists():
        report(f"note: replacing {plan.unit_path}")
    write_text(plan.unit_path, plan.text)
    return plan


def check_writable(folder: Path, user_mode: bool) -> None:
    existing = next(p for p in (folder, *folder.parents) if p.exists())
    if not os.access(existing, os.W_OK):
        edge = Path(sys.executable).parent / "edge"
        raise EdgeError(f"{folder}: not writable by {getpass.getuser()}; run it as root "
                        f"(sudo {edge} devices install-service ...)" + ("" if user_mode else ", or add --user"))


def make_folders(folders: tuple[Path, ...], owner: str | None, report: Report) -> None:
    """The service's output folders must exist (ReadWritePaths= of a missing one fails the start)
    and belong to the user it runs as."""
    for folder in folders:
        if folder.is_dir():
            continue
        folder.mkdir(parents=True)
        if owner and os.geteuid() == 0 and owner != "root":
            shutil.chown(folder, user=owner)
        report(f"made {folder}" + (f" (owner {owner})" if owner else ""))


def commands(plan: ServicePlan) -> str:
    """The lines that start it now and at boot, follow its log, show its state, and remove it."""
    name, user = plan.spec.name, plan.spec.user_mode
    ctl, sudo = ("systemctl --user", "") if user else ("systemctl", "sudo ")
    files = " ".join(str(p) for p in (plan.unit_path, plan.env_path) if p is not None)
    lines = [f"wrote {plan.unit_path}" + (f" and {plan.env_path} (mode 0600: the secrets)" if plan.env_path else ""),
             "start it now and at every boot:", f"  {sudo}{ctl} daemon-reload && {sudo}{ctl} enable --now {name}"]
    if user:
        lines += ["run it at boot, before anyone logs in:", f"  sudo loginctl enable-linger {getpass.getuser()}"]
    lines += ["follow its log:", f"  journalctl {'--user ' if user else ''}-u {name} -f",
              "its state (STATUS: frames/s, model, a lost source):", f"  {ctl} status {name}",
              "remove it:", f"  {sudo}{ctl} disable --now {name} && {sudo}rm {files} && {sudo}{ctl} daemon-reload"]
    return "\n".join(lines)
