"""`make test` always ends: a hung test fails after the per-test limit, a hung exit is cut by `timeout`."""

from __future__ import annotations

import re
import subprocess
import sys

from tests.conftest import ROOT


def test_every_test_has_a_time_limit(pytestconfig):
    assert pytestconfig.pluginmanager.hasplugin("timeout"), "pytest-timeout (dev extra) is not installed"
    assert 0 < float(pytestconfig.getini("timeout")) <= 600


def test_make_test_runs_pytest_under_timeout():
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    recipe = re.search(r"^test: .*\n((?:\t.*\n)+)", makefile, re.M).group(1)
    assert re.search(r"timeout --kill-after=\d+ \$\(TEST_LIMIT\) \$\(VENV\)/bin/pytest", recipe), recipe
    limit = int(re.search(r"^TEST_LIMIT \?= (\d+)", makefile, re.M).group(1))
    assert limit < 90 * 60 - 15 * 60, "leave CI's 90 minutes room for the install"


def test_a_hanging_test_fails_instead_of_hanging(tmp_path):
    (tmp_path / "test_hangs.py").write_text("import time\n\ndef test_hangs():\n    time.sleep(600)\n")
    result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-o", "timeout=2",
                             str(tmp_path / "test_hangs.py")], capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert result.returncode == 1 and "Timeout" in result.stdout
