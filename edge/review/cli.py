"""`edge review`: a thin typer command over edge.review.build.review."""

from __future__ import annotations

from edge.cli_options import command
from edge.cli_support import clean_errors, make_console
from edge.review.options import ReviewOptions

console = make_console()


def run_review(opts: ReviewOptions) -> None:
    """What the model gets wrong: per-class figures, confusion, suspected label errors, duplicates, outliers.

    Examples:

      edge review runs/flowers5                            # out-of-fold predictions of the run

      edge review exports/flowers5 --data new_photos/      # an export on any labelled folder
    """
    from edge.review.build import review as review_folder

    result = review_folder(source=opts.source, data=opts.data, out=opts.out, log=lambda m: console.print(m))
    console.print(result.line())


review = clean_errors(command(ReviewOptions, run_review))
