"""What `edge review` is asked to do: its argument and flags, declared once (edge.cli_options builds the command)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from edge.cli_options import arg, opt


@dataclass(frozen=True, kw_only=True)
class ReviewOptions:
    source: Path = field(metadata=arg("A run folder (edge train), or an export folder / artifact with --data."))
    data: Path | None = field(default=None, metadata=opt(
        "Labelled folder (one sub-folder per class): the photos an export is reviewed on; for a run, where its "
        "data moved to."))
    out: Path | None = field(default=None, metadata=opt(
        "Folder for review.html + review.json (default: beside the folder reviewed, never inside it: RUN.review, "
        "or EXPORT.review/<data folder>)."))
