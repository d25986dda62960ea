"""`edge devices install-service NAME -- <edge-infer arguments>`: edge-infer as a systemd service.

The unit is a pure function of a UnitSpec (tests check it with `systemd-analyze verify`). It runs this
venv's own edge-infer by absolute path, Type=notify (edge.runtime.sdnotify: READY once frames flow,
watchdog pings only while they do), restarts on failure with a back-off and never gives up, keeps the
token and MQTT password in a 0600 EnvironmentFile, and is sandboxed but may write its output folders.
"""

from __future__ import annotations

import grp
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from edge.errors import EdgeError

SYSTEM_UNIT_DIR = Path("/etc/systemd/system")
SYSTEM_ENV_DIR = Path("/etc/edge")
RESTART_STEPS_SINCE = 254  # systemd version that added RestartSteps= and RestartMaxDelaySec=
HOME_ROOTS = (Path("/home"), Path("/root"), Path("/run/user"))  # what ProtectHome= covers
TMP_ROOTS = (Path("/tmp"), Path("/var/tmp"))  # what PrivateTmp= replaces
NAME_RE = re.compile(r"[A-Za-z0-9:_.\\-]+")
PLAIN_ARG_RE = re.compile(r"[A-Za-z0-9_@%+=:,./-]+")


@dataclass(frozen=True, kw_only=True)
class UnitSpec:
    name: str  # unit name without .service
    exec_start: tuple[str, ...]  # the venv's edge-infer (absolute) and its arguments
    working_dir: Path
    user_mode: bool = False  # a --user unit: no User=, groups or namespaces (a user manager cannot set them)
    run_as: str | None = None  # User= of a system unit; None: root
    groups: tuple[str, ...] = ("video",)  # SupplementaryGroups=: cameras, and gpio with --gpio
    writable: tuple[Path, ...] = ()  # ReadWritePaths=: --collect/--record folders, --save's folder
    env_file: Path | None = None  # EnvironmentFile= with EDGE_TOKEN / EDGE_MQTT_PASSWORD
    watchdog_s: int = 60  # WatchdogSec=: no classified frame for this long -> killed and restarted
    restart_s: int = 2  # RestartSec=: the first wait before a restart
    restart_max_s: int = 60  # RestartMaxDelaySec=: the wait grows to this (systemd 254+)
    systemd_version: int | None = None  # RestartSteps/RestartMaxDelaySec only where systemd knows them

    @property
    def file_name(self) -> str:
        return f"{self.name}.service"


def quote_exec_arg(arg: str) -> str:
    """One ExecStart= argument: '%' (specifiers) and '$' (variables) doubled; quoted when it has spaces or quotes."""
    if "\n" in arg or "\0" in arg:
        raise EdgeError(f"edge-infer arguments: {arg!r} holds a line break, which a unit cannot carry")
    escaped = arg.replace("%", "%%").replace("$", "$$")
    if PLAIN_ARG_RE.fullmatch(arg) and arg != ";":
        return escaped
    return '"' + escaped.replace("\\", "\\\\").replace('"', '\\"') + '"'


def quote_path(path: Path) -> str:
    """A path in a list setting (ReadWritePaths=): '%' doubled (specifiers), quoted when it has spaces."""
    text = str(path)
    if "\n" in text or '"' in text:
        raise EdgeError(f"{text}: a path with a line break or a double quote cannot go into a unit file")
    text = text.replace("%", "%%")
    return text if PLAIN_ARG_RE.fullmatch(text) else '"' + text.replace("\\", "\\\\") + '"'


def writes_under(spec: UnitSpec, roots: tuple[Path, ...]) -> bool:
    return any(root == p or root in p.parents for p in spec.writable for root in roots)


def render_unit(spec: UnitSpec) -> str:
    """The unit file's text (pure: the same spec, the same text)."""
    # (systemd reads no comment after a value: comments go on lines of their own)
    unit = ["[Unit]", f"Description=edge-infer {spec.name}: image classifier",
            "# never give up restarting: RestartSec= spaces the tries", "StartLimitIntervalSec=0"]
    if not spec.user_mode:  # network-online.target is a system target (RTSP, MQTT, webhooks need the network)
        unit += ["Wants=network-online.target", "After=network-online.target"]
    service = ["[Service]", "Type=notify", "NotifyAccess=main",
               "ExecStart=" + " ".join(quote_exec_arg(a) for a in spec.exec_start),
               # every path in the command is absolute; '-': a folder the service user cannot enter is no failure
               f"WorkingDirectory=-{str(spec.working_dir).replace('%', '%%')}",
               "Restart=on-failure", f"RestartSec={spec.restart_s}"]
    if (spec.systemd_version or 0) >= RESTART_STEPS_SINCE:
        service += ["RestartSteps=5", f"RestartMaxDelaySec={spec.restart_max_s}"]
    service += ["# no classified frame (or, serving the API alone, no answer) for this long: killed, restarted",
                f"WatchdogSec={spec.watchdog_s}", "TimeoutStartSec=180", "TimeoutStopSec=15",
                "# a line per frame would flood the journal; answers leave through --serve, --on-change, MQTT",
                "StandardOutput=null", "Environment=PYTHONUNBUFFERED=1",
                "# the tune cache (and any library's cache) lives here when the export folder is read-only",
                f"CacheDirectory=edge/{spec.name}", f"Environment=XDG_CACHE_HOME=%C/edge/{spec.name}",
                f"SyslogIdentifier={spec.name}"]
    if spec.env_file is not None:
        service.append(f"EnvironmentFile={str(spec.env_file).replace('%', '%%')}")
    service += _sandbox(spec)
    install = ["[Install]", f"WantedBy={'default.target' if spec.user_mode else 'multi-user.target'}"]
    return "\n".join(["# written by `edge devices install-service`; edit the command there and install again",
                      *unit, "", *service, "", *install]) + "\n"


def _sandbox(spec: UnitSpec) -> list[str]:
    if spec.user_mode:
        return ["# a user manager cannot set groups, and namespaces there imply PrivateUsers=: no sandbox",
                "NoNewPrivileges=yes"]
    lines = [f"User={spec.run_as}"] if spec.run_as and spec.run_as != "root" else []
    if spec.groups:
        lines.append("SupplementaryGroups=" + " ".join(spec.groups))
    lines += ["NoNewPrivileges=yes", "ProtectSystem=strict", "ProtectKernelTunables=yes", "ProtectKernelModules=yes",
              "ProtectControlGroups=yes", "RestrictSUIDSGID=yes"]
    # a folder it writes in a home or in /tmp stays where it is: no read-only home, no private /tmp then
    if not writes_under(spec, HOME_ROOTS):
        lines.append("ProtectHome=read-only")
    if not writes_under(spec, TMP_ROOTS):
        lines.append("PrivateTmp=yes")
    if spec.writable:
        lines.append("ReadWritePaths=" + " ".join(quote_path(p) for p in spec.writable))
    return lines


def env_file_text(secrets: dict[str, str]) -> str:
    """KEY='value' lines as systemd's EnvironmentFile= reads them (single quotes: no escapes, no expansion)."""
    lines = ["# secrets of an edge-infer service (mode 0600); read by systemd, passed as environment"]
    for key, value in secrets.items():
        if "\n" in value or "\0" in value:
            raise EdgeError(f"{key}: a secret with a line break cannot go into an EnvironmentFile")
        if "'" not in value:
            lines.append(f"{key}='{value}'")
        else:
            lines.append(f'{key}="' + value.replace("\\", "\\\\").replace('"', '\\"').replace("$", "\\$")
                         .replace("`", "\\`") + '"')
    return "\n".join(lines) + "\n"


def systemd_version() -> int | None:
    """This machine's systemd version (`systemctl --version`), or None where there is none."""
    try:
        out = subprocess.run(["systemctl", "--version"], capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    match = re.match(r"systemd (\d+)", out)
    return int(match.group(1)) if match else None


def venv_edge_infer() -> Path:
    """This environment's edge-infer: beside sys.executable, not whatever PATH finds first."""
    path = Path(sys.executable).parent / "edge-infer"
    if not os.access(path, os.X_OK):
        raise EdgeError(f"{path}: not found; install edge-classifier into this environment "
                        "(`pip install edge-classifier`) and run this command with its `edge`")
    return path


def existing_groups(wanted: tuple[str, ...], report) -> tuple[str, ...]:
    """Groups this machine has (a missing one would fail the start with 216/GROUP)."""
    found = []
    for name in wanted:
        try:
            grp.getgrnam(name)
            found.append(name)
        except KeyError:
            report(f"note: no group '{name}' on this machine; the unit leaves it out")
    return tuple(found)
