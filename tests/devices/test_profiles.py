"""Device profiles: every promised target, valid fields, detection, and the CLI."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from edge.cli.main import app
from edge.devices.profiles import detect, get_profile, load_profiles
from edge.formats import FORMATS

runner = CliRunner()
TARGETS = {"raspberry-pi-4", "raspberry-pi-5", "x86-laptop", "x86-server", "generic-arm64"}
PI5_CPUINFO = "processor\t: 0\nBogoMIPS\t: 108.00\nCPU part\t: 0xd0b\nModel\t\t: Raspberry Pi 5 Model B Rev 1.0\n"
PI4_CPUINFO = "processor\t: 0\nCPU part\t: 0xd08\nModel\t\t: Raspberry Pi 4 Model B Rev 1.4\n"


def test_every_target_has_a_complete_profile():
    profiles = load_profiles()
    assert TARGETS <= set(profiles)
    for p in profiles.values():
        assert p.formats and all(name in FORMATS for name in p.formats)
        assert p.install and p.camera and p.input_size_advice and p.resolved_threads() >= 1
    for pi in ("raspberry-pi-4", "raspberry-pi-5", "generic-arm64"):
        # OpenVINO runs INT8 in simulation (float) on ARM: never recommended there, and the profile says why
        assert "openvino-int8" not in get_profile(pi).formats and "simulation" in get_profile(pi).avoid


def test_detect_pi_boards_and_fallbacks():
    assert detect("aarch64", PI5_CPUINFO)[0].name == "raspberry-pi-5"
    assert detect("aarch64", PI4_CPUINFO)[0].name == "raspberry-pi-4"
    assert detect("aarch64", "processor: 0\n")[0].name == "generic-arm64"
    epyc = "model name\t: AMD EPYC 9B14\nflags\t: avx2 avx512_vnni\n"
    assert detect("x86_64", epyc)[0].name == "x86-server"  # a 2-core cloud EPYC is a server, not a laptop
    assert detect("x86_64", "model name\t: Intel(R) Xeon(R) Platinum 8480+\nflags\t: amx\n")[0].name == "x86-server"
    laptop = "model name\t: 11th Gen Intel(R) Core(TM) i7-1165G7\nflags\t: avx512_vnni\n"
    assert detect("x86_64", laptop)[0].name in ("x86-laptop", "x86-server")  # by core count


def test_profile_threads_never_exceed_cores_and_foreign_arch_is_noted():
    import os

    from edge.devices.profiles import arch_mismatch

    assert get_profile("x86-laptop").resolved_threads() <= (os.cpu_count() or 1)
    assert "is for aarch64" in arch_mismatch(get_profile("raspberry-pi-5"), "x86_64")
    assert arch_mismatch(get_profile("raspberry-pi-5"), "aarch64") is None


def test_cli_list_show_detect():
    listed = runner.invoke(app, ["devices", "list"])
    assert listed.exit_code == 0 and "raspberry-pi-4" in listed.output
    shown = runner.invoke(app, ["devices", "show", "raspberry-pi-5"])
    assert shown.exit_code == 0 and "Cortex-A76" in shown.output and "install" in shown.output
    assert runner.invoke(app, ["devices", "detect"]).exit_code == 0
    missing = runner.invoke(app, ["devices", "show", "toaster"])
    assert missing.exit_code == 1 and "unknown device 'toaster'" in missing.output


def test_infer_applies_a_device_profile(tiny_export, tiny_data, monkeypatch):
    """On an export folder the profile picks the artifact (the first of its formats the folder holds: no
    tflite here, so onnx-int8) and the thread count (its `threads`, 4). Cores are faked at 16 so 4 is the
    profile's figure, not this machine's core count, which the runtime's own rule would use."""
    import json

    from edge.cli.infer import app as infer_app
    from edge.devices.profiles import arch_mismatch

    monkeypatch.setattr("edge.devices.profiles.available_cores", lambda: 16)
    profile = get_profile("raspberry-pi-4")
    assert profile.threads == 4 and profile.formats.index("onnx-int8") < profile.formats.index("onnx")
    result = runner.invoke(infer_app, [str(tiny_export), str(tiny_data / "daisy"), "--device", "raspberry-pi-4",
                                       "--json"])
    assert result.exit_code == 0, result.output
    assert f"model: {tiny_export / 'model.int8.onnx'} (onnxruntime, int8, 4 threads)" in result.stderr
    note = arch_mismatch(profile)  # on x86: the Pi's figures apply, its speed does not
    assert note is None or result.stderr.count(note) == 1
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert sorted(Path(r["source"]).name for r in rows) == sorted(p.name for p in (tiny_data / "daisy").iterdir())
    assert all(r["label"] in ("daisy", "roses", "tulips", "unknown") for r in rows)


@pytest.mark.parametrize("name", ["raspberry-pi-4", "raspberry-pi-5", "generic-arm64"])
def test_arm_profiles_build_litert_and_never_openvino(name):
    from edge.devices.profiles import get_profile

    profile = get_profile(name)  # what `edge export --for NAME` builds
    assert profile.formats[:2] == ("tflite-int8", "tflite")
    assert not any(f.startswith("openvino") for f in profile.formats) and "simulation mode" in profile.avoid
