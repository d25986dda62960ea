"""Which artifact and thread count `edge-infer` runs: a device profile's, or the runtime's own rule.

Devices sit above the runtime: without --device this is edge.runtime.resolve (what `Classifier(folder)`
runs too); a profile picks from its formats. The command line passes the answer to `run_infer`.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from edge.devices.profiles import DeviceProfile, arch_mismatch, get_profile
from edge.errors import EdgeError
from edge.export_dir import ExportDir
from edge.runtime.backends import runnable
from edge.runtime.imx500_camera import sensor_choice
from edge.runtime.resolve import for_backend, resolve_model
from edge.runtime.sources import classify_spec


def _profile_artifact(export: ExportDir, profile: DeviceProfile, report: Callable[[str], None]) -> Path:
    """The first of the profile's formats that this export holds and this machine can run."""
    formats, skipped = runnable(export)
    names = {f.name: f for f in formats}
    for name in profile.formats:
        if name in names:
            return export.artifact(names[name])
    if skipped:
        report(f"note: {skipped}")
    if not formats:
        raise EdgeError(f"{export.root}: holds none of {', '.join(profile.formats)} that this machine can run; "
                        f"re-export with `edge export RUN --for {profile.name}`")
    report(f"note: {export.root} holds none of the {profile.name} profile's formats ({', '.join(profile.formats)}); "
           f"running {formats[0].name}")
    return export.artifact(formats[0])


def _sensor(artifact: Path, source: str | None, backend: str | None, report: Callable[[str], None]) -> Path | None:
    """The folder's imx500 artifact when SOURCE is picam on a Raspberry Pi AI Camera (it runs on the sensor)."""
    if source is None or classify_spec(source) != "picamera" or not artifact.is_dir() or backend not in (None, "imx500"):
        return None
    path, why = sensor_choice(ExportDir(artifact))
    if why:
        report(why)
    return path


def choose(artifact: Path, *, device: str | None, threads: int | None, backend: str | None,
           report: Callable[[str], None], source: str | None = None) -> tuple[Path, int | None]:
    """(artifact file or export folder, threads) for this run.

    SOURCE picam on an AI Camera, with a folder that holds the imx500 artifact: that artifact (the sensor
    runs it). Else, without a device profile a folder resolves as `Classifier(folder)` does
    (edge.runtime.resolve: its tuned choice here, or with --backend its best artifact for that backend).
    A profile sets the thread count and, for a folder, which of its formats runs (with --backend: the
    folder's best for that backend)."""
    sensor = _sensor(artifact, source, backend, report)
    if sensor is not None:
        return sensor, threads
    if device is None:
        resolved = resolve_model(artifact, backend=backend, threads=threads, report=report)
        if resolved.why:
            report(resolved.why)
        return resolved.path, resolved.threads
    profile = get_profile(device)
    note = arch_mismatch(profile)
    if note:
        report(note)
    if artifact.is_dir():
        export = ExportDir(artifact)
        artifact = export.artifact(for_backend(export, backend)) if backend else _profile_artifact(export, profile, report)
    return artifact, threads or profile.resolved_threads()
