"""Load device profiles (TOML files shipped in the package) and guess the current machine's."""

from __future__ import annotations

import os
import platform
from dataclasses import dataclass, fields
from importlib import resources

try:  # Python 3.11+
    import tomllib
except ImportError:  # Python 3.10: the same parser, as a package
    import tomli as tomllib

from edge.errors import EdgeError
from edge.formats import get_format
from edge.runtime import imx500_camera
from edge.runtime.autotune import cpu_model  # noqa: F401  (scripts import it from here)
from edge.runtime.autotune import read_cpuinfo as _cpuinfo
from edge.runtime.backends import available_cores


@dataclass(frozen=True)
class DeviceProfile:
    name: str
    description: str
    arch: str  # platform.machine() of the target
    cpu_match: tuple[str, ...]  # substrings of /proc/cpuinfo that identify it
    threads: int  # 0: all cores
    formats: tuple[str, ...]  # format names, best first: what `edge export --for` builds, what runs untuned
    input_size_advice: str
    camera: str
    install: str
    avoid: str = ""  # a format that runs badly there, and why, in one line
    notes: str = ""
    # `edge train --target-device NAME`: the most a recipe may cost there, in EfficientNet-Lite0 FLOPs
    # (a policy per device, not a measurement: see each profile's max_cost_why)
    max_cost: float = 1.0
    max_cost_why: str = ""

    def resolved_threads(self) -> int:
        cores = available_cores()
        return min(self.threads, cores) if self.threads else cores  # never more threads than cores


def _profile_files() -> list:
    folder = resources.files("edge.devices").joinpath("profiles")
    return sorted((f for f in folder.iterdir() if f.name.endswith(".toml")), key=lambda f: f.name)


def load_profiles() -> dict[str, DeviceProfile]:
    known = {f.name for f in fields(DeviceProfile)}
    profiles = {}
    for file in _profile_files():
        data = tomllib.loads(file.read_text(encoding="utf-8"))
        data = {k: tuple(v) if isinstance(v, list) else v for k, v in data.items() if k in known}
        profile = DeviceProfile(**data)
        for name in profile.formats:
            get_format(name)  # a profile naming no known format is a packaging bug, caught by the tests
        profiles[profile.name] = profile
    return profiles


def get_profile(name: str) -> DeviceProfile:
    profiles = load_profiles()
    if name not in profiles:
        raise EdgeError(f"unknown device '{name}'; choose one of: {', '.join(profiles)} (edge devices list)")
    return profiles[name]


AI_CAMERA = "raspberry-pi-ai-camera"


def detect(machine: str | None = None, cpuinfo: str | None = None, ai_camera: bool | None = None
           ) -> tuple[DeviceProfile, str]:
    """(best-matching profile, why) for this machine: a Raspberry Pi AI Camera when one is attached
    (`ai_camera`: None looks), else the board from its architecture and /proc/cpuinfo."""
    profile, why = _board(machine, cpuinfo)
    if ai_camera if ai_camera is not None else imx500_camera.attached():
        return get_profile(AI_CAMERA), f"{why}; camera: Raspberry Pi AI Camera (Sony IMX500), runs networks on its sensor"
    return profile, why


def _board(machine: str | None, cpuinfo: str | None) -> tuple[DeviceProfile, str]:
    machine = (machine or platform.machine()).lower()
    cpuinfo = _cpuinfo() if cpuinfo is None else cpuinfo
    profiles = load_profiles()
    is_arm = machine in ("aarch64", "arm64")
    model = cpu_model(cpuinfo)
    for profile in profiles.values():
        if profile.arch == ("aarch64" if is_arm else "x86_64") and profile.cpu_match:
            hits = [m for m in profile.cpu_match if m in model or (is_arm and m in cpuinfo)]
            if hits:
                return profile, f"{machine}, cpu '{model}' matches {', '.join(hits)}"
    if is_arm:
        return profiles["generic-arm64"], f"{machine}, no known board matched"
    cores = os.cpu_count() or 1
    name = "x86-laptop" if cores <= 8 else "x86-server"
    return profiles[name], f"{machine}, cpu '{model or 'unknown'}', {cores} cores"


def arch_mismatch(profile: DeviceProfile, machine: str | None = None) -> str | None:
    """A one-line note when a profile is used on a machine of another architecture."""
    machine = (machine or platform.machine()).lower()
    here = "aarch64" if machine in ("aarch64", "arm64") else "x86_64"
    if profile.arch != here:
        return (f"note: profile {profile.name} is for {profile.arch} and this machine is {here}; its thread count "
                "and artifact choice apply, but speed here says nothing about the device")
    return None
