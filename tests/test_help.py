"""Help that cannot lag the code: every format and backend in --help, the README's format table made from the table."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from edge.formats import FORMATS, markdown_table
from tests.conftest import ROOT

BIN = Path(sys.executable).parent


def _help(*command: str) -> str:
    # Wide enough that rich draws no line break inside a name.
    result = subprocess.run([str(BIN / command[0]), *command[1:], "--help"], capture_output=True, text=True,
                            env=os.environ | {"COLUMNS": "1000", "TERMINAL_WIDTH": "1000"})
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_edge_infer_help_names_every_backend_and_artifact_file():
    text = _help("edge-infer")
    for f in FORMATS.values():
        assert f.path.rsplit("/", 1)[-1] in text, f.name
        if f.backend != "torch":
            assert f.backend in text, f.backend
    assert "see the format table" not in text


def test_edge_export_help_names_every_format():
    text = _help("edge", "export")
    for name in FORMATS:
        assert name in text, name
    assert "see the format table in the README." not in text


def test_readme_format_table_is_the_code_table():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert markdown_table() in readme, (
        "README's format table differs from edge/formats.py: paste the output of "
        "python -c 'from edge.formats import markdown_table; print(markdown_table())'")
