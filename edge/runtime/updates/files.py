"""The export report's table of files (`files`: path -> sha256 and bytes) and the model version.

`edge export` writes the table (edge.export.pipeline); an update checks every file it downloads
against it, and a restart checks the version it is about to run. The version of a model is the
hash its manifest carries (`source_sha256`, what it was made from), as MQTT, clips and systemd's
STATUS= already name it.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from edge.errors import EdgeError
from edge.export_dir import REPORT_FILE, TUNE_CACHE_FILE
from edge.formats import sidecar
from edge.hashing import file_sha256
from edge.manifest import Manifest

NOT_LISTED = (REPORT_FILE, TUNE_CACHE_FILE)  # the report cannot hold its own hash; the tune cache is per machine


class Damaged(EdgeError):
    """A file is not what the export report says (truncated, altered): perhaps still being uploaded, so
    the next check fetches it again (a refusal of the version itself is remembered instead)."""


@dataclass(frozen=True)
class FileEntry:
    path: str  # inside the export folder, with /
    sha256: str
    size: int  # bytes

    def check(self, file: Path, where: str) -> None:
        """EdgeError (one line) unless `file` is this entry's bytes: truncated, too long or altered."""
        size = file.stat().st_size if file.is_file() else -1
        if size < 0:
            raise Damaged(f"{where}: {self.path} is missing")
        if size != self.size:
            kind = "truncated" if size < self.size else "longer than it should be"
            raise Damaged(f"{where}: {self.path} is {size:,} bytes, the export report says {self.size:,} ({kind})")
        if file_sha256(file) != self.sha256:
            raise Damaged(f"{where}: {self.path} does not match its SHA-256 in the export report (altered or corrupt)")


def file_table(root: Path) -> dict[str, dict]:
    """Every file of an export folder (but the report and the tune cache) -> {"sha256", "bytes"}."""
    table = {}
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        rel = path.relative_to(root).as_posix()
        if rel not in NOT_LISTED and not path.name.startswith("."):
            table[rel] = {"sha256": file_sha256(path), "bytes": path.stat().st_size}
    return table


def entries(report: dict, where: str) -> dict[str, FileEntry]:
    """The report's `files` table as FileEntry objects; EdgeError for a report without one."""
    table = report.get("files")
    if not isinstance(table, dict) or not table:
        raise EdgeError(f"{where}: the export report has no file hashes, so no download can be checked; "
                        "re-export the model with this edge")
    try:
        return {path: FileEntry(path, str(row["sha256"]), int(row["bytes"])) for path, row in table.items()}
    except (KeyError, TypeError, ValueError):
        raise EdgeError(f"{where}: the export report's file table is not one edge can read; re-export the model") from None


def manifest_version(manifest: Manifest) -> str:
    """The model version: the first 12 hex digits of the manifest's source_sha256 (a manifest without
    one: of the manifest itself, less its precision, which differs between a folder's artifacts)."""
    if manifest.source_sha256:
        return manifest.source_sha256[:12]
    data = {k: v for k, v in manifest.to_dict().items() if k != "precision"}
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:12]


def model_version(clf) -> str:
    """The version a Classifier (or the swappable one the updater holds: its manifest is the live model's) runs now."""
    return manifest_version(clf.manifest)


def artifact_names(path: str) -> list[str]:
    """An artifact's file and its weight file's name (edge.formats.sidecar), as the file table spells them."""
    return [path, sidecar(Path(path)).as_posix()]
