"""What a review is computed from: one prediction per labelled photo, and where the photo came from."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from edge.errors import EdgeError
from edge.run_dir import OOF_FILE, RunDir, read_object


@dataclass(kw_only=True)
class ReviewInput:
    title: str  # what was reviewed: the run or export folder
    method: str  # where the predictions come from ("nested 5-fold CV", "held-out split, last epoch", ...)
    classes: list[str]
    paths: list[Path]  # readable paths, one per photo
    shown: list[str]  # the same paths as the page shows them (relative to their data folder)
    labels: np.ndarray  # (N,) given label index
    probs: np.ndarray  # (N, C) calibrated probabilities, columns in `classes` order
    scores: np.ndarray | None = None  # (N,) unknown score (higher: more like the classes); None without one
    threshold: float | None = None  # the deployed "unknown" threshold
    sources: list[str] = field(default_factory=list)  # (N,) the data folder each photo came from
    notes: list[str] = field(default_factory=list)  # caveats the page prints at the top
    int8: dict | None = None  # export reviews: INT8 vs its FP32 sibling (edge.review.from_export)
    trained: np.ndarray | None = None  # (N,) bool, export reviews: the run trained on this very file (overlap.py)

    @property
    def predicted(self) -> np.ndarray:
        return self.probs.argmax(1)


def source_of(path: Path, folders: list[Path]) -> str:
    """The data folder (of those given) that holds `path`; the longest match wins."""
    best = ""
    for folder in folders:
        try:
            path.relative_to(folder)
        except ValueError:
            continue
        if len(str(folder)) > len(best):
            best = str(folder)
    return best


def shown_path(path: Path, source: Path, name_folder: bool) -> str:
    """The path relative to its data folder; prefixed by that folder's name when there are several."""
    try:
        rel = str(path.relative_to(source))
    except ValueError:
        return str(path)
    return f"{source.name}/{rel}" if name_folder else rel


def run_sources(run_dir: Path, root: Path) -> list[Path]:
    """The data folders a run was trained on: split.json's `sources` (edge train DATA MORE...), else its root."""
    split = RunDir(run_dir).split_path
    extra = read_object(split, "the split").get("sources", []) if split.is_file() else []
    folders = [Path(s["folder"]) if isinstance(s, dict) else Path(s) for s in extra]
    return [root] + [f for f in folders if f != root]


def from_run(run_dir: Path, data: Path | None = None) -> ReviewInput:
    """A run's out-of-fold predictions; `data` replaces the data folder the run recorded (moved data)."""
    path = RunDir(run_dir).oof_path
    if not path.is_file():
        raise EdgeError(f"{run_dir}: no {OOF_FILE} (runs trained before edge review have none); retrain the run, "
                        "or review an export on a labelled folder: edge review EXPORT_DIR --data DIR")
    oof = read_object(path, "the out-of-fold predictions")
    try:
        root = Path(data or oof["root"])
        rows = oof["photos"]
        paths = [root / r["path"] for r in rows]
        labels = np.array([int(r["label"]) for r in rows], dtype=np.int64)
        probs = np.array([r["probs"] for r in rows], dtype=np.float64).reshape(len(rows), len(oof["classes"]))
        scores = np.array([r["score"] for r in rows]) if rows and all("score" in r for r in rows) else None
        classes = [str(c) for c in oof["classes"]]
    except (KeyError, TypeError, ValueError) as exc:
        raise EdgeError(f"{path}: not an out-of-fold file edge can read ({type(exc).__name__}); retrain the run") from None
    folders = run_sources(run_dir, root)
    sources = [source_of(p, folders) or str(root) for p in paths]
    shown = [shown_path(p, Path(src), len(folders) > 1) for p, src in zip(paths, sources)]
    notes = [] if all(p.is_file() for p in paths[:20]) else [f"photos not found under {root}: pass --data DIR"]
    return ReviewInput(title=str(run_dir), method=str(oof.get("method", "out-of-fold")), classes=classes,
                       paths=paths, shown=shown, labels=labels, probs=probs, scores=scores,
                       threshold=oof.get("unknown_threshold"), sources=sources, notes=notes)
