"""An exported model on any labelled folder, through the torch-free runtime; and INT8 vs its FP32 sibling.

These predictions are not out-of-fold: on the photos the model was trained on they are optimistic,
and a label error it memorised hides. On new labelled photos they are what the device will do.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from edge.errors import EdgeError
from edge.export_dir import ExportDir
from edge.formats import FORMATS, ArtifactFormat
from edge.review.inputs import ReviewInput
from edge.review.overlap import Overlap, training_overlap
from edge.runtime.backends import runnable
from edge.runtime.classifier import Classifier
from edge.runtime.images import is_image_name
from edge.runtime.resolve import resolve_model
from edge.runtime.walk import walk_files

BATCH = 16


@dataclass
class Labelled:
    paths: list[Path]
    labels: list[int]
    notes: list[str]


def labelled_folder(data: Path, classes: list[str]) -> Labelled:
    """DATA/<class>/... for the model's classes; other folders are named in a note, not scored."""
    if not data.is_dir():
        raise EdgeError(f"{data}: not a folder; pass --data DIR with one sub-folder per class")
    folders = sorted(p for p in data.iterdir() if p.is_dir() and not p.name.startswith("."))
    other = [p.name for p in folders if p.name not in classes]
    paths, labels = [], []
    for p in folders:
        if p.name in classes:
            found = [f for f in walk_files(p) if is_image_name(f)]
            paths += found
            labels += [classes.index(p.name)] * len(found)
    if not paths:
        raise EdgeError(f"{data}: no photos in folders named after the model's classes ({', '.join(classes)})")
    notes = [f"folders that are no class of the model, not reviewed: {', '.join(other)}"] if other else []
    return Labelled(paths, labels, notes)


def export_root(source: Path) -> Path | None:
    for folder in (source, source.parent, source.parent.parent):
        if ExportDir(folder).manifest_path.is_file():
            return folder
    return None


Pair = tuple[ArtifactFormat, ArtifactFormat]  # (INT8, its FP32 sibling)


def _choose(source: Path, log) -> tuple[Path, list[Pair], ExportDir | None, list[str]]:
    """(the artifact reviewed, the INT8/FP32 pairs compared beside it, the export folder, notes).

    A file given is reviewed as it is; a folder reviews what edge-infer runs here. Only artifacts this
    environment can run take part (a torch-free install without LiteRT passes over the tflite files)."""
    root = export_root(source)
    folder = ExportDir(root) if root else None
    formats, skipped = runnable(folder) if folder else ([], None)
    if source.is_file():
        mine = [f for f in formats if folder.artifact(f).resolve() == source.resolve()] if folder else []
        main = folder.artifact(mine[0]) if mine else source
        formats = mine + [FORMATS[f.fp32_sibling] for f in mine if f.int8 and FORMATS[f.fp32_sibling] in formats]
        skipped = None  # the others were not asked for
    elif formats:
        main = resolve_model(folder.root, report=log).path
    else:
        raise EdgeError(f"{source}: no artifact this environment can run here{f' ({skipped})' if skipped else ''}; "
                        "pass an export folder or an artifact file")
    names = {f.name for f in formats}
    pairs = [(f, FORMATS[f.fp32_sibling]) for f in formats if f.int8 and f.fp32_sibling in names]
    return main, pairs, folder, [f"not reviewed: {skipped}"] if skipped else []


def _decoded(clf: Classifier, paths: list[Path]) -> Iterator[tuple[list[int], np.ndarray]]:
    batch, idx = [], []
    for i, p in enumerate(paths):
        try:
            batch.append(clf.preprocess(clf.preprocess.load(p)))
            idx.append(i)
        except EdgeError:
            continue
        if len(batch) == BATCH:
            yield idx, np.stack(batch)
            batch, idx = [], []
    if batch:
        yield idx, np.stack(batch)


def _answers(clf: Classifier, x: np.ndarray) -> tuple[np.ndarray, list[bool], list[float | None]]:
    """(probs in label order, unknown decisions, scores) for one batch."""
    answers = clf.answers(x, len(clf.labels))
    probs = np.array([[dict(top)[c] for c in clf.labels] for top, _, _ in answers])
    return probs, [a[1] for a in answers], [a[2] for a in answers]


@dataclass
class _Run:
    probs: list[np.ndarray]
    unknown: list[bool]
    scores: list[float | None]


def _run_all(clfs: dict[Path, Classifier], paths: list[Path], log) -> tuple[list[int], dict[Path, _Run]]:
    """Every classifier on the same preprocessed batches (one manifest per export: one preprocessing)."""
    first = next(iter(clfs.values()))
    runs = {p: _Run([], [], []) for p in clfs}
    kept: list[int] = []
    for idx, x in _decoded(first, paths):
        kept += idx
        for path, clf in clfs.items():
            probs, unknown, scores = _answers(clf, x)
            runs[path].probs.append(probs)
            runs[path].unknown += unknown
            runs[path].scores += scores
    log(f"review: {len(kept)} photos through {len(clfs)} artifact(s)")
    return kept, runs


def _disagreements(a: _Run, b: _Run, classes: list[str], shown: list[str], idx: list[int]) -> tuple[int, list[dict]]:
    pa, pb = np.concatenate(a.probs), np.concatenate(b.probs)
    rows = []
    for n, i in enumerate(idx):
        la = "unknown" if a.unknown[n] else classes[int(pa[n].argmax())]
        lb = "unknown" if b.unknown[n] else classes[int(pb[n].argmax())]
        if la != lb:
            rows.append({"index": n, "path": shown[i], "int8": la, "fp32": lb,
                         "int8_prob": round(float(pa[n].max()), 4), "fp32_prob": round(float(pb[n].max()), 4)})
    return len(idx) - len(rows), rows


def _notes(found: Labelled, data: Path, main_path: Path, unread: int, overlap: Overlap | None) -> list[str]:
    notes = found.notes + [f"{main_path.name} on {data}: predictions are not out-of-fold; on photos the model "
                           "trained on they are optimistic and a memorised label error can hide"]
    if unread:
        notes.append(f"{unread} photo(s) could not be read and are left out")
    return notes + (overlap.notes if overlap else [])


def from_export(source: Path, data: Path, *, log=print) -> ReviewInput:
    main_path, pairs, folder, passed_over = _choose(Path(source), log)
    for note in passed_over:
        log(note)
    clfs = {main_path: Classifier(main_path)}
    for fmt in {f for pair in pairs for f in pair}:
        path = folder.artifact(fmt)
        clfs.setdefault(path, Classifier(path))
    classes = list(clfs[main_path].labels)
    found = labelled_folder(Path(data), classes)
    shown = [str(p.relative_to(data)) for p in found.paths]
    kept, runs = _run_all(clfs, found.paths, log)
    main = runs[main_path]
    int8 = {"pairs": []}
    for q, f in pairs:
        agree, rows = _disagreements(runs[folder.artifact(q)], runs[folder.artifact(f)], classes, shown, kept)
        int8["pairs"].append({"int8_format": q.name, "fp32_format": f.name, "photos": len(kept), "agree": agree,
                              "disagreements": rows})
    scores = None if any(s is None for s in main.scores) else np.array(main.scores)
    paths = [found.paths[i] for i in kept]
    overlap = training_overlap(folder, paths) if folder else None
    return ReviewInput(title=f"{main_path} on {data}", method=f"{main_path.name} ({clfs[main_path].backend.name}) "
                       "on a labelled folder", classes=classes, paths=paths,
                       shown=[shown[i] for i in kept], labels=np.array([found.labels[i] for i in kept]),
                       probs=np.concatenate(main.probs) if kept else np.zeros((0, len(classes))), scores=scores,
                       threshold=clfs[main_path].threshold, sources=[str(data)] * len(kept),
                       notes=passed_over + _notes(found, data, main_path, len(found.paths) - len(kept), overlap),
                       int8=int8 if pairs else None, trained=np.array(overlap.trained, bool) if overlap else None)
