"""Which artifact and thread count `edge-infer` runs: a device profile's, the tuned choice, or as given.

Devices sit above the runtime: this module may use the tuner and the profiles, and the command line
passes its answer to `edge.runtime.infer.run_infer`.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from edge.devices import tune
from edge.devices.profiles import DeviceProfile, arch_mismatch, get_profile
from edge.errors import EdgeError
from edge.export_dir import ExportDir
from edge.runtime.backends import runnable


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


def choose(artifact: Path, *, device: str | None, threads: int | None, backend: str | None,
           report: Callable[[str], None]) -> tuple[Path, int | None]:
    """(artifact file or export folder, threads) for this run.

    A device profile sets the thread count and, for an export folder, which of its formats to run;
    with no profile, an export folder runs what `edge devices tune` measured fastest here (tuned once)."""
    export = ExportDir(artifact)
    if device is None:
        if artifact.is_dir() and threads is None and backend is None and export.report_path.is_file():
            choice, fresh = tune.cached_or_tuned(artifact, seconds=0.5)
            report(tune.describe(choice, fresh, artifact))
            return artifact / choice.artifact, choice.threads
        return artifact, threads
    profile = get_profile(device)
    note = arch_mismatch(profile)
    if note:
        report(note)
    if artifact.is_dir():
        artifact = _profile_artifact(export, profile, report)
    return artifact, threads or profile.resolved_threads()
