"""`edge devices install-service`: the unit (checked by systemd-analyze), the 0600 secrets, the commands."""

from __future__ import annotations

import os
import shlex
import shutil
import stat
import subprocess
import sys
import typing
from dataclasses import fields
from pathlib import Path

import pytest
from typer.testing import CliRunner

from edge.devices.cli import app
from edge.devices.infer_args import READS, WRITES
from edge.devices.service import UnitSpec, env_file_text, quote_exec_arg, render_unit, systemd_version
from edge.runtime.options import InferOptions

runner = CliRunner()
ANALYZE = shutil.which("systemd-analyze")
needs_analyze = pytest.mark.skipif(ANALYZE is None, reason="systemd-analyze is not installed (Debian: apt install systemd)")
EDGE_INFER = Path(sys.executable).parent / "edge-infer"


def verify(unit: Path, user: bool = False, tmp: Path | None = None) -> str:
    """systemd-analyze verify's complaints about `unit` ('' when none)."""
    env = dict(os.environ)
    if user:  # a user manager needs a runtime folder; the test's own stands in
        env["XDG_RUNTIME_DIR"] = str(tmp)
    done = subprocess.run([ANALYZE, *(["--user"] if user else []), "verify", "--man=no", str(unit)],
                          capture_output=True, text=True, env=env, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stderr.strip()


def spec(**changes) -> UnitSpec:
    values = {"name": "edge-camera", "exec_start": (str(EDGE_INFER), "/srv/model", "0", "--serve", "0.0.0.0:8080"),
              "working_dir": Path("/srv"), "writable": (Path("/srv/collected"),), "env_file": Path("/etc/edge/x.env"),
              "systemd_version": systemd_version()}
    return UnitSpec(**{**values, **changes})


def lines(text: str) -> set[str]:
    return set(text.splitlines())


def test_unit_has_the_lines_that_make_it_a_watched_restarting_service():
    text = render_unit(spec())
    assert {"Type=notify", "NotifyAccess=main", "Restart=on-failure", "RestartSec=2", "WatchdogSec=60",
            "StartLimitIntervalSec=0", f"ExecStart={EDGE_INFER} /srv/model 0 --serve 0.0.0.0:8080",
            "EnvironmentFile=/etc/edge/x.env", "SupplementaryGroups=video", "NoNewPrivileges=yes",
            "ProtectSystem=strict", "ReadWritePaths=/srv/collected", "ProtectHome=read-only", "PrivateTmp=yes",
            "WantedBy=multi-user.target"} <= lines(text)
    assert not any(line.split("=")[0].strip() == "PrivateDevices" for line in text.splitlines())  # cameras live in /dev


def test_restart_steps_only_where_systemd_knows_them():
    assert "RestartSteps=5" not in render_unit(spec(systemd_version=252))
    assert {"RestartSteps=5", "RestartMaxDelaySec=60"} <= lines(render_unit(spec(systemd_version=254)))


def test_writing_into_home_or_tmp_keeps_those_visible():
    in_home = render_unit(spec(writable=(Path("/home/pi/collected"),)))
    assert "ProtectHome=read-only" not in in_home and "ReadWritePaths=/home/pi/collected" in in_home
    assert "PrivateTmp=yes" not in render_unit(spec(writable=(Path("/tmp/clips"),)))


def test_user_unit_has_no_sandbox_that_would_hide_the_camera():
    text = render_unit(spec(user_mode=True, run_as="pi"))
    assert "WantedBy=default.target" in text and "NoNewPrivileges=yes" in text
    for key in ("User=", "SupplementaryGroups=", "ProtectSystem=", "PrivateTmp=", "network-online"):
        assert key not in text


@needs_analyze
def test_systemd_analyze_accepts_the_units(tmp_path):
    for name, made, user in (("edge-camera", spec(), False),
                             ("edge-odd", spec(exec_start=(str(EDGE_INFER), "/srv/my model", "100%", "$HOME", 'a"b'),
                                               writable=(Path("/srv/out dir"),), groups=("video", "gpio")), False),
                             ("edge-user", spec(user_mode=True), True)):
        unit = tmp_path / f"{name}.service"
        unit.write_text(render_unit(made))
        assert verify(unit, user, tmp_path) == ""  # no unknown key, no bad value, the command exists


@pytest.mark.parametrize("arg", ["plain", "/srv/my model", "100%", "$HOME", 'say "hi"', "back\\slash", ";", "a'b"])
def test_exec_arguments_survive_systemd_quoting(arg):
    quoted = quote_exec_arg(arg)
    # systemd's splitting is shell-like for double quotes; it then turns %% and $$ back into % and $
    assert [w.replace("%%", "%").replace("$$", "$") for w in shlex.split(quoted)] == [arg]


def test_secrets_file_text():
    assert env_file_text({"EDGE_TOKEN": "s3cret$x y"}).splitlines()[-1] == "EDGE_TOKEN='s3cret$x y'"
    assert env_file_text({"EDGE_TOKEN": "it's"}).splitlines()[-1] == 'EDGE_TOKEN="it\'s"'


def test_every_path_option_of_edge_infer_is_read_or_written():
    """A new Path option must say whether the service writes it (ReadWritePaths=) or reads it."""
    hints = typing.get_type_hints(InferOptions)
    paths = {f.name for f in fields(InferOptions) if "Path" in str(hints[f.name])}
    assert paths <= set(READS) | set(WRITES), paths - set(READS) - set(WRITES)


@pytest.fixture
def model(tmp_path) -> Path:
    (tmp_path / "export").mkdir()
    (tmp_path / "export" / "model.onnx").write_bytes(b"onnx")
    return tmp_path / "export"


def install(tmp_path: Path, *args: str):
    return runner.invoke(app, ["install-service", "edge-camera", "--unit-dir", str(tmp_path / "units"),
                               "--env-dir", str(tmp_path / "etc"), *args])


def test_install_writes_the_unit_and_a_0600_secrets_file(tmp_path, model, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("EDGE_TOKEN", raising=False)
    result = install(tmp_path, "--", "export", "0", "--serve", "0.0.0.0:8080", "--token", "s3cret-token",
                     "--collect", "unsure")
    assert result.exit_code == 0, result.output
    unit, secrets = tmp_path / "units" / "edge-camera.service", tmp_path / "etc" / "edge-camera.env"
    text = unit.read_text()
    assert "s3cret-token" not in text and "--token" not in text  # the secret lives in the EnvironmentFile only
    assert f"ExecStart={EDGE_INFER} {model} 0 --collect {tmp_path}/unsure --serve 0.0.0.0:8080" in text
    assert f"EnvironmentFile={secrets}" in text and f"ReadWritePaths={tmp_path}/unsure" in text
    assert (tmp_path / "unsure").is_dir()  # ReadWritePaths= of a missing folder would fail the start
    assert stat.S_IMODE(secrets.stat().st_mode) == 0o600 and "EDGE_TOKEN='s3cret-token'" in secrets.read_text()
    for command in ("systemctl enable --now edge-camera", "journalctl -u edge-camera -f", "systemctl status edge-camera",
                    "systemctl disable --now edge-camera"):
        assert command in result.output
    if ANALYZE:
        assert verify(unit) == ""


def test_dry_run_prints_the_unit_and_writes_nothing(tmp_path, model):
    result = install(tmp_path, "--dry-run", "--", str(model), "picam", "--on-change", "http://192.0.2.1/hook")
    assert result.exit_code == 0, result.output
    assert "Type=notify" in result.output and f"ExecStart={EDGE_INFER} {model} picam" in result.output
    assert not (tmp_path / "units").exists() and not (tmp_path / "etc").exists()


def test_user_service_commands(tmp_path, model):
    result = install(tmp_path, "--user", "--", str(model), "0")
    assert result.exit_code == 0, result.output
    assert "systemctl --user enable --now edge-camera" in result.output and "loginctl enable-linger" in result.output
    assert "journalctl --user -u edge-camera -f" in result.output
    assert "WantedBy=default.target" in (tmp_path / "units" / "edge-camera.service").read_text()
    assert not (tmp_path / "etc").exists()  # no secret given: no secrets file


@pytest.mark.parametrize("args,message", [
    (["--", "MODEL", "0", "--colect", "x"], "No such option: --colect"),
    (["--", "missing-model", "0"], "no such model file"),
    (["--", "MODEL", "0", "--show"], "a service has no display"),
    (["--", "MODEL"], "usage: edge-infer"),
    (["--watchdog-sec", "1", "--", "MODEL", "0"], "--watchdog-sec 1"),
])
def test_mistakes_fail_at_install_time_in_one_line(tmp_path, model, args, message):
    result = install(tmp_path, *[str(model) if a == "MODEL" else a for a in args])
    assert result.exit_code == 1 and message in result.output and "Traceback" not in result.output
    assert not (tmp_path / "units").exists()


def test_a_bad_unit_name_is_refused(tmp_path, model):
    result = runner.invoke(app, ["install-service", "edge camera", "--dry-run", "--", str(model), "0"])
    assert result.exit_code == 1 and "unit name" in result.output


def test_the_mqtt_password_leaves_the_command_line(tmp_path, model, monkeypatch):
    monkeypatch.delenv("EDGE_MQTT_PASSWORD", raising=False)
    result = install(tmp_path, "--", str(model), "0", "--mqtt", "mqtt://pi:p%40ss@192.0.2.7:1883/home")
    assert result.exit_code == 0, result.output
    text = (tmp_path / "units" / "edge-camera.service").read_text()
    assert "--mqtt mqtt://pi@192.0.2.7:1883/home" in text and "p%40ss" not in text and "p%%40ss" not in text
    assert "EDGE_MQTT_PASSWORD='p@ss'" in (tmp_path / "etc" / "edge-camera.env").read_text()


def test_a_token_in_the_installing_shell_is_not_taken(tmp_path, model, monkeypatch):
    monkeypatch.setenv("EDGE_TOKEN", "from-my-shell")
    result = install(tmp_path, "--", str(model), "0")
    assert result.exit_code == 0, result.output
    assert not (tmp_path / "etc").exists() and "from-my-shell" not in result.output


def test_an_unknown_service_user_is_refused(tmp_path, model):
    result = install(tmp_path, "--run-as", "no-such-user-here", "--", str(model), "0")
    assert result.exit_code == 1 and "--run-as no-such-user-here: no such user" in result.output
