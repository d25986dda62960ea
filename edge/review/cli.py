"""`edge review`: a thin typer command over edge.review.build.review."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from edge.cli_support import clean_errors, make_console

console = make_console()


@clean_errors
def review(
    source: Annotated[Path, typer.Argument(help="A run folder (edge train), or an export folder / artifact "
                                           "with --data.")],
    data: Annotated[Optional[Path], typer.Option(help="Labelled folder (one sub-folder per class): the photos an "
                                                 "export is reviewed on; for a run, where its data moved to.")] = None,
    out: Annotated[Optional[Path], typer.Option(help="Folder for review.html + review.json (default: beside the "
                                                "folder reviewed, never inside it: RUN.review, or "
                                                "EXPORT.review/<data folder>).")] = None,
) -> None:
    """What the model gets wrong: per-class figures, confusion, suspected label errors, duplicates, outliers.

    Examples:

      edge review runs/flowers5                            # out-of-fold predictions of the run

      edge review exports/flowers5 --data new_photos/      # an export on any labelled folder
    """
    from edge.review.build import review as run_review

    result = run_review(source=source, data=data, out=out, log=lambda m: console.print(m))
    console.print(result.line())
