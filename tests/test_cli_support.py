"""The console every stage's command prints through: logs and pipes are never hard-wrapped."""

from __future__ import annotations

from typer.testing import CliRunner

from edge.cli.main import app
from edge.cli_support import make_console


def test_piped_output_is_never_wrapped_mid_token():
    console = make_console()  # pytest captures stdout: not a terminal
    line = "strategy: feature-extract (" + "word " * 40 + "--strategy finetune tries it) -> /a/long/path/" + "x" * 60
    with console.capture() as captured:
        console.print(line)
    assert captured.get() == line + "\n"


def test_usage_lines_name_arguments_in_capitals():
    for command, metavar in (("train", "[DATA] [MORE_DATA]..."), ("export", "SOURCE"), ("classify", "IMAGE")):
        result = CliRunner().invoke(app, [command, "--help"], terminal_width=200)
        usage = next(line for line in result.output.splitlines() if "Usage:" in line)
        assert metavar in usage and metavar.lower() not in usage, usage


def test_counts_take_the_right_plural():
    from pathlib import Path

    from edge.review.build import ReviewResult

    data = {"photos": 2, "method": "nested CV", "accuracy": {"value": 0.5}, "misclassified": [1],
            "suspects": [1], "duplicates": [(0, 1)], "outliers": [1]}
    line = ReviewResult(Path("r"), data).line()
    assert "1 near-duplicate pair," in line and "1 outlier ->" in line
    data.update(duplicates=[], outliers=[1, 2])
    assert "0 near-duplicate pairs" in ReviewResult(Path("r"), data).line()
