"""The Makefile's install-runtime as the README writes it, on a machine without that Python."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.skipif(shutil.which("make") is None, reason="make not installed")
def test_install_runtime_falls_back_when_the_named_python_is_missing():
    """`make install-runtime PYTHON=python3.10` where there is no python3.10: python3, with a message, not Error 127."""
    dry = subprocess.run(["make", "-n", "install-runtime", "PYTHON=python3.0-not-installed"], cwd=ROOT,
                         capture_output=True, text=True, timeout=60)
    assert dry.returncode == 0, dry.stderr
    assert "python3.0-not-installed is not installed here; using python3" in dry.stderr
    assert "python3 -m venv" in dry.stdout and "python3.0-not-installed" not in dry.stdout
    kept = subprocess.run(["make", "-n", "install-runtime", "PYTHON=python3"], cwd=ROOT, capture_output=True,
                          text=True, timeout=60)
    assert kept.returncode == 0 and "not installed" not in kept.stderr and "python3 -m venv" in kept.stdout
