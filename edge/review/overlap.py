"""Which reviewed photos the model was trained on: byte for byte, against the run's split.json.

An export's report names the run it came from; the run's split.json lists its photos. A review of
those photos measures agreement with training, not accuracy on new photos, and has to say so.
Photos are compared by content (SHA-256), so a copy in another folder is found too; only files of
a size some reviewed photo has are hashed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from edge.export_dir import ExportDir
from edge.hashing import file_sha256
from edge.manifest import read_manifest
from edge.ownership import is_run_dir
from edge.run_dir import SPLIT_FILE, RunDir, read_object


@dataclass
class Overlap:
    trained: list[bool]  # per reviewed photo: byte-identical to one the run trained on
    notes: list[str] = field(default_factory=list)


def _run_of(export: ExportDir) -> Path | None:
    report = export.report()
    source = report.source if report else ""
    if not source or source.startswith("zoo:"):
        return None
    for candidate in (Path(source), export.root.parent / source):
        if is_run_dir(candidate):
            return candidate
    return None


def training_photos(run_dir: Path, held_out_too: bool) -> list[Path]:
    """The photos the run trained on: split.json's train list, plus its val list when the deployed
    model saw those as well (a frozen-feature head is refit on every photo)."""
    split = read_object(RunDir(run_dir).split_path, "the split")
    root = Path(split.get("root", ""))
    rows = split.get("train", []) + (split.get("val", []) if held_out_too else [])
    return [root / str(row[0]) for row in rows]  # absolute paths (other data folders) stay absolute


def _sizes(paths: list[Path]) -> list[int | None]:
    sizes = []
    for p in paths:
        try:
            sizes.append(p.stat().st_size)
        except OSError:
            sizes.append(None)
    return sizes


def training_overlap(export: ExportDir, photos: list[Path]) -> Overlap:
    """Per photo, whether the run behind `export` trained on it; notes when that cannot be told."""
    none = [False] * len(photos)
    run = _run_of(export)
    if run is None:
        return Overlap(none, [f"the run behind {export.root} was not found (its export report names "
                              f"'{getattr(export.report(), 'source', '')}'): whether these photos were "
                              "trained on is not checked"])
    strategy = read_manifest(export.manifest_path).metrics.get("strategy")
    trained = training_photos(run, held_out_too=not RunDir(run).held_out(strategy))
    if trained and not any(p.is_file() for p in trained[:50]):
        return Overlap(none, [f"{run}'s training photos are not where split.json says ({trained[0].parent.parent}): "
                              "whether these photos were trained on is not checked"])
    ours, theirs = _sizes(photos), _sizes(trained)
    common = (set(ours) & set(theirs)) - {None}  # only same-size files can be the same bytes
    known = {file_sha256(p) for p, size in zip(trained, theirs) if size in common}
    flags = [size in common and file_sha256(p) in known for p, size in zip(photos, ours)]
    count = sum(flags)
    note = (f"{count} of {len(photos)} photos are byte-identical to photos {run} was trained on (its {SPLIT_FILE}): "
            "on them the figures are agreement with training, not accuracy on new photos")
    return Overlap(flags, [note] if count else [])
