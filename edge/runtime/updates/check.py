"""What a published version must pass before it is loaded: a manifest edge reads, the same labels (unless
--allow-new-labels), and an artifact this device can run that its export judged within budget. Which
files to fetch follows from the same rules: the manifest, the labels, those artifacts; nothing else.
"""

from __future__ import annotations

from pathlib import Path

from edge.errors import EdgeError
from edge.export_dir import LABELS_FILE, MANIFEST_FILE, REPORT_FILE, ExportDir, ExportReport
from edge.formats import FORMATS, ArtifactFormat
from edge.manifest import Manifest
from edge.runtime.backends import installed, runnable
from edge.runtime.updates.files import FileEntry, artifact_names, entries


def check_labels(new: Manifest, running: list[str], allow_new: bool, version: str) -> None:
    if allow_new or list(new.labels) == list(running):
        return
    gone, added = [x for x in running if x not in new.labels], [x for x in new.labels if x not in running]
    change = "; ".join(part for part in (f"without {', '.join(gone)}" if gone else "",
                                         f"with {', '.join(added)}" if added else "") if part) or "in another order"
    raise EdgeError(f"version {version} has other labels ({change}); pass --allow-new-labels to accept them")


def fetchable(fmt: ArtifactFormat | None, backend: str | None) -> bool:
    return fmt is not None and fmt.backend != "torch" and installed(fmt.backend) and backend in (None, fmt.backend)


def files_to_fetch(report: dict, backend: str | None, where: str) -> list[FileEntry]:
    """The manifest, the labels and every artifact (with its weight file) this device can run, by the table."""
    table = entries(report, where)
    if MANIFEST_FILE not in table:
        raise EdgeError(f"{where}: the export report lists no {MANIFEST_FILE}; re-export the model")
    rows = ExportReport.from_dict(report, where).formats
    wanted = [row for row in rows if fetchable(FORMATS.get(row.name), backend) and row.within_budget is not False]
    files = [table[MANIFEST_FILE]] + ([table[LABELS_FILE]] if LABELS_FILE in table else [])
    for row in wanted:
        path = row.path or FORMATS[row.name].path
        if path in table:
            files += [table[name] for name in artifact_names(path) if name in table]
    if len(files) == 1 + (LABELS_FILE in table):
        listed = ", ".join(r.name for r in rows) or "nothing"
        raise EdgeError(f"{where}: no artifact this device can run within the export's budget (it holds {listed}"
                        f"{f'; --backend {backend}' if backend else ''})")
    return files


def format_of(path: Path) -> ArtifactFormat | None:
    """The format whose file this is (model.int8.onnx -> onnx-int8)."""
    text = Path(path).as_posix()
    return next((f for f in FORMATS.values() if text.endswith("/" + f.path) or text == f.path), None)


def pick_artifact(folder: Path, running: Path, backend: str | None) -> Path:
    """The artifact of a version folder to run: the running model's format when the folder has it
    (no tuning on the device while it runs), else the folder's best runnable one."""
    export = ExportDir(folder)
    formats, note = runnable(export)
    formats = [f for f in formats if backend in (None, f.backend)]
    if not formats:
        raise EdgeError(f"{folder}: no artifact this device can run{f' ({note})' if note else ''}")
    same = format_of(running)
    return export.artifact(same if same in formats else formats[0])


def check_complete(folder: Path) -> None:
    """A version folder as the store keeps it: every file it holds matches the report's table, and it holds
    the manifest and at least one artifact this device can run. EdgeError names the first problem."""
    report_path = folder / REPORT_FILE
    try:
        report = ExportDir(folder).report()
    except EdgeError:
        report = None
    if report is None:
        raise EdgeError(f"{report_path}: missing or unreadable")
    table = entries({"files": report.files}, str(folder))
    for entry in table.values():
        if entry.path == MANIFEST_FILE or (folder / entry.path).exists():
            entry.check(folder / entry.path, str(folder))
    if not runnable(ExportDir(folder))[0]:
        raise EdgeError(f"{folder}: holds no artifact this device can run")
