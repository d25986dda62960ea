"""edge makes no network connection unless given a URL: train, export --int8 and edge-infer under strace.

Outside CI on purpose: `openvino_telemetry` skips itself when CI=true, so the test unsets every CI
variable (and edge's own switch) and runs the real commands as a user would. Two signals: no
connect() to an address outside 127.0.0.0/8 and ::1 (a DNS look-up is a connect to the resolver),
and nothing written into the home folder (ONNX Runtime's telemetry database, OpenVINO's consent
and client-id files).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import make_dataset

BIN = Path(sys.executable).parent
CI_VARIABLES = ("CI", "TF_BUILD", "JENKINS_URL", "NNCF_CI", "NNCF_DEV", "ORT_DISABLE_TELEMETRY")
INET = re.compile(r'connect\(\d+, \{sa_family=AF_INET6?, sin6?_port=htons\((\d+)\), .*?'
                  r'(?:sin_addr=inet_addr\("([^"]+)"\)|inet_pton\(AF_INET6, "([^"]+)")')


def _strace_works() -> str | None:
    if shutil.which("strace") is None:
        return "strace is not installed (Debian's strace package)"
    probe = subprocess.run(["strace", "-f", "-o", os.devnull, "true"], capture_output=True, text=True)
    return None if probe.returncode == 0 else f"strace cannot trace here: {probe.stderr.strip()[:120]}"


def outside_loopback(trace: str) -> list[str]:
    """Every connect() in an strace log to an address that is not loopback, as 'address:port'."""
    found = []
    for match in INET.finditer(trace):
        port, ipv4, ipv6 = match.groups()
        address = ipv4 or ipv6
        if not (address.startswith("127.") or address in ("::1", "::ffff:127.0.0.1")):
            found.append(f"{address}:{port}")
    return found


def test_outside_loopback_finds_a_dns_lookup_and_passes_loopback():
    trace = ('12 connect(9, {sa_family=AF_INET, sin_port=htons(53), sin_addr=inet_addr("10.255.255.53")}, 16) = 0\n'
             '12 connect(9, {sa_family=AF_INET, sin_port=htons(8080), sin_addr=inet_addr("127.0.0.1")}, 16) = 0\n'
             '12 connect(5, {sa_family=AF_INET6, sin6_port=htons(443), sin6_flowinfo=htonl(0), '
             'inet_pton(AF_INET6, "2001:db8::1", &sin6_addr), sin6_scope_id=0}, 28) = -1\n'
             '12 connect(5, {sa_family=AF_UNIX, sun_path="/var/run/nscd/socket"}, 110) = -1 ENOENT\n')
    assert outside_loopback(trace) == ["10.255.255.53:53", "2001:db8::1:443"]


def _traced(command: list[str], log: Path, env: dict, cwd: Path) -> list[str]:
    result = subprocess.run(["strace", "-f", "-qq", "-e", "trace=connect", "-o", str(log), *command], env=env,
                            cwd=cwd, capture_output=True, text=True, timeout=280)
    assert result.returncode == 0, f"{' '.join(command)}: {result.stderr[-2000:]}"
    return outside_loopback(log.read_text())


@pytest.mark.openvino
def test_train_export_int8_and_infer_connect_nowhere(tmp_path):
    reason = _strace_works()
    if reason:
        pytest.skip(reason)
    home = tmp_path / "home"
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in CI_VARIABLES} | {"HOME": str(home)}
    data = make_dataset(tmp_path / "data", 4)
    train = [str(BIN / "edge"), "train", str(data), "--out", "run", "--model", "mobilenet_v3_small",
             "--strategy", "finetune", "--epochs", "1", "--no-pretrained", "--image-size", "64"]
    # What --int8 builds, less the LiteRT pair (a minute of conversion, no network library): the formats
    # whose libraries phone home (ONNX Runtime, OpenVINO's converter, NNCF).
    export = [str(BIN / "edge"), "export", "run", "--out", "export", "--format", "onnx-int8",
              "--format", "openvino-int8"]
    infer = [str(BIN / "edge-infer"), "export", str(data)]  # the export folder: autotune loads every artifact
    connects = {name: _traced(cmd, tmp_path / f"{name}.strace", env, tmp_path)
                for name, cmd in (("train", train), ("export", export), ("infer", infer))}
    assert connects == {"train": [], "export": [], "infer": []}
    written = sorted(str(p.relative_to(home)) for p in home.rglob("*"))
    assert not [p for p in written if p.startswith(("intel", ".cache/Microsoft"))], written
