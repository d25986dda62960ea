"""`edge review`'s library call: predictions in, review.json and review.html out."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from edge.atomic import write_json, write_text
from edge.errors import EdgeError
from edge.review import dupes, findings, stats
from edge.review.images import scan
from edge.review.inputs import ReviewInput, from_run

SCHEMA = 1


@dataclass
class ReviewResult:
    out: Path  # folder holding review.html and review.json
    data: dict  # review.json's content

    def line(self) -> str:
        d = self.data
        counts = ", ".join(_count(len(d[key]), noun) for key, noun in (
            ("suspects", "suspected label error"), ("duplicates", "near-duplicate pair"), ("outliers", "outlier")))
        return (f"review of {d['photos']} photos ({d['method']}): {_headline(d)}, "
                f"{len(d['misclassified'])} misclassified, {counts} -> {self.out / 'review.html'}")


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def _headline(d: dict) -> str:
    """Accuracy, unless some photos were trained on: then what is agreement and what is accuracy."""
    seen = d.get("training_photos")
    if not seen or not seen["photos"]:
        return f"accuracy {100 * d['accuracy']['value']:.1f}%"
    agreement = f"{100 * seen['agreement']['value']:.1f}% agreement on the {seen['photos']} training photos among them"
    new = seen["accuracy_on_the_others"]
    return (f"{agreement} (not an accuracy)" + (f", accuracy {100 * new['value']:.1f}% on the other {new['of']}"
                                                if new else ""))


def _cells(r: ReviewInput) -> list[list[list[int]]]:
    n = len(r.classes)
    cells: list[list[list[int]]] = [[[] for _ in range(n)] for _ in range(n)]
    for i, (given, pred) in enumerate(zip(r.labels, r.predicted)):
        cells[given][pred].append(i)
    return cells


def _sources(r: ReviewInput) -> list[dict]:
    rows = []
    for folder in dict.fromkeys(r.sources):
        members = [i for i, s in enumerate(r.sources) if s == folder]
        counts = Counter(r.classes[r.labels[i]] for i in members)
        rows.append({"folder": folder, "photos": len(members), "per_class": {c: counts.get(c, 0) for c in r.classes}})
    return rows


def compute(r: ReviewInput, hashes: list[int | None]) -> dict:
    """review.json: every number the page shows."""
    pred = r.predicted
    matrix = stats.confusion(r.labels, pred, len(r.classes))
    return {
        "schema": SCHEMA, "title": r.title, "method": r.method, "photos": len(r.labels), "classes": r.classes,
        "notes": r.notes, "accuracy": stats.proportion(int((pred == r.labels).sum()), len(r.labels)),
        "per_class": stats.per_class(r.labels, pred, r.classes),
        "confusion": {"rows": "given label", "columns": "predicted", "counts": matrix.tolist(), "photos": _cells(r)},
        "suspects": findings.label_issues(r), "misclassified": findings.misclassified(r),
        "duplicate_max_distance": dupes.MAX_DISTANCE, "duplicates": dupes.duplicates(r, hashes),
        "outliers": findings.outliers(r), "unknown_threshold": r.threshold, "int8": r.int8,
        "sources": _sources(r), "shown": r.shown,
        "photo_sources": r.sources, "training_photos": _training(r, pred),
    }


def _training(r: ReviewInput, pred) -> dict | None:
    """Export reviews: how many photos the run trained on, agreement on them, accuracy on the rest."""
    if r.trained is None:
        return None
    hit, seen = pred == r.labels, r.trained.astype(bool)
    others = int((~seen).sum())
    return {"photos": int(seen.sum()), "agreement": stats.proportion(int(hit[seen].sum()), int(seen.sum())),
            "accuracy_on_the_others": stats.proportion(int(hit[~seen].sum()), others) if others else None}


def write_review(r: ReviewInput, out: Path) -> ReviewResult:
    if len(r.labels) == 0:
        raise EdgeError(f"{r.title}: no labelled photos to review")
    scanned = scan(r.paths)
    data = compute(r, [s.phash for s in scanned])
    from edge.review.page import render

    write_json(out / "review.json", data)
    write_text(out / "review.html", render(data, [s.thumb for s in scanned]))
    return ReviewResult(out, data)


def review(*, source: Path, data: Path | None = None, out: Path | None = None, artifact: Path | None = None,
           log=print) -> ReviewResult:
    """A run folder (its out-of-fold predictions) or an export folder / artifact on the labelled folder `data`."""
    from edge.ownership import is_run_dir

    source = Path(source)
    if is_run_dir(source):
        r = from_run(source, data)
        return write_review(r, Path(out) if out else beside(source))
    if data is None:
        raise EdgeError(f"{source}: not a run folder; to review an export pass the labelled photos: "
                        f"edge review {source} --data DIR")
    from edge.review.from_export import export_root, from_export

    r = from_export(source, Path(data), log=log)
    folder = export_root(source) or (source if source.is_dir() else source.parent)
    return write_review(r, Path(out) if out else beside(folder) / Path(data).resolve().name)


def beside(folder: Path) -> Path:
    """RUN.review or EXPORT.review next to the folder, never inside it: `edge train --force` and
    `edge export --force` replace their whole folder, and a review is not theirs to delete."""
    folder = Path(folder).resolve()
    return folder.parent / f"{folder.name}.review"
