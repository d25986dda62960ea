"""`edge-infer ... --serve` from the command line: refusals, a torch-free server, the missing extra."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from edge.cli.infer import app
from edge.errors import EdgeError
from tests.conftest import BLOCK_TORCH
from tests.serve.test_api import photo_bytes

ROOT = Path(__file__).resolve().parents[2]
runner = CliRunner()


@pytest.mark.parametrize("args, message", [
    (["--serve", "0.0.0.0:8080"], "add --token SECRET"),
    (["--serve", "[::]:8080", "--token", "short"], "at least 8 characters"),
    (["--serve", "host:port"], "give [HOST:]PORT"),
    (["--serve", "8080", "--max-body-mb", "0"], "--max-body-mb 0"),
    (["--serve", "8080", "--on-change", "file:///etc/passwd"], "http:// or https://"),
    (["--on-change", "http://127.0.0.1:9/hook"], "usage: edge-infer ARTIFACT SOURCE"),
])
def test_refusals_are_one_line(clf, args, message):
    result = runner.invoke(app, [str(clf.path), *args])
    assert result.exit_code == 1, result.output
    assert message in result.output and "Traceback" not in result.output


def test_a_folder_is_not_a_live_source(clf, tmp_path):
    result = runner.invoke(app, [str(clf.path), str(tmp_path), "--serve", "0"])
    assert result.exit_code == 1 and "POST them to /v1/classify" in result.output


def test_missing_extra_names_it(monkeypatch):
    import importlib.util

    from edge.serve import run

    real = importlib.util.find_spec
    monkeypatch.setattr(run.importlib.util, "find_spec", lambda name, *a: None if name == "uvicorn" else real(name, *a))
    with pytest.raises(EdgeError, match=r"--serve needs uvicorn.*pip install 'edge-classifier\[serve\]'"):
        run.require_extra()


def test_torch_free_api_server_answers_and_stops_on_sigint(clf):
    """edge-infer MODEL --serve 0 in an interpreter where `import torch` fails, as on a Pi."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(BLOCK_TORCH), str(ROOT)]))
    code = "from edge.cli.infer import main; main()"
    proc = subprocess.Popen([sys.executable, "-c", code, str(clf.path), "--serve", "0"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        url, lines = None, []
        deadline = time.monotonic() + 90
        while url is None and time.monotonic() < deadline:
            line = proc.stderr.readline()
            if not line:
                break
            lines.append(line)
            if line.startswith("serving http://127.0.0.1:"):
                url = line.split()[1]
        assert url is not None, "".join(lines)
        answer = httpx.post(url + "v1/classify?k=2", content=photo_bytes(), timeout=30)
        assert answer.status_code == 200 and len(answer.json()["top"]) == 2
        assert httpx.get(url + "v1/info", timeout=10).json()["live"] is False
        proc.send_signal(signal.SIGINT)
        _, stderr = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode in (0, 1, 130), stderr  # Ctrl-C: "interrupted"
    assert "Traceback" not in stderr and "torch" not in stderr
