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
    (["--serve", "0.0.0.0:99999", "--no-auth"], "give [HOST:]PORT"),  # --no-auth parses as a flag
])
def test_refusals_are_one_line(clf, args, message):
    result = runner.invoke(app, [str(clf.path), *args])
    assert result.exit_code == 1, result.output
    assert message in result.output and "Traceback" not in result.output


def test_options_for_a_network_address():
    from edge.serve.options import make_options

    opened = make_options(serve="0.0.0.0:8080", no_auth=True)
    assert (opened.host, opened.port, opened.token) == ("0.0.0.0", 8080, None)
    guarded = make_options(serve="[::]:9000", token="0123456789abcdef")
    assert guarded.host == "::" and guarded.token == "0123456789abcdef"
    assert make_options(serve="8080").host == "127.0.0.1" and make_options(serve="localhost:1").token is None


def test_a_folder_is_not_a_live_source(clf, tmp_path):
    result = runner.invoke(app, [str(clf.path), str(tmp_path), "--serve", "0"])
    assert result.exit_code == 1 and "POST them to /v1/classify" in result.output


def test_missing_extra_names_it(monkeypatch):
    import importlib.util

    from edge.serve import run

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "uvicorn" else real(name, *a))
    with pytest.raises(EdgeError, match=r"--serve needs uvicorn.*pip install 'edge-classifier\[serve\]'"):
        run.require_extra()


def test_torch_free_api_server_answers_and_stops_on_sigint(clf):
    """edge-infer MODEL --serve 0 in an interpreter where `import torch` fails, as on a Pi."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(BLOCK_TORCH), str(ROOT)]))
    code = "from edge.cli.infer import main; main()"
    proc = subprocess.Popen([sys.executable, "-c", code, str(clf.path), "--serve", "0"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        url = _serving_url(proc)
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


def test_video_source_runs_as_today_and_keeps_serving(clf, tmp_path):
    """edge-infer MODEL clip.mp4 --json --serve 0: every frame on stdout as without --serve, played at the
    file's 10 fps; then the page keeps the last frame and the API keeps answering until Ctrl-C; the exit
    line's img/s is over the frames' time, not the idle serving after them."""
    cv2 = pytest.importorskip("cv2")
    import numpy as np

    video = tmp_path / "clip.mp4"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"mp4v"), 10.0, (96, 72))
    rng = np.random.default_rng(0)
    for _ in range(20):
        writer.write(rng.integers(0, 255, (72, 96, 3), dtype=np.uint8))
    writer.release()
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(BLOCK_TORCH), str(ROOT)]))
    proc = subprocess.Popen([sys.executable, "-m", "edge.cli.infer", str(clf.path), str(video), "--json", "--serve", "0"],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT)
    try:
        url = _serving_url(proc)
        deadline = time.monotonic() + 60
        while httpx.get(url + "healthz", timeout=10).json()["source"] != "done" and time.monotonic() < deadline:
            time.sleep(0.2)
        health = httpx.get(url + "healthz", timeout=10).json()
        assert health["source"] == "done" and health["frames"] == 20
        assert 8.0 <= health["fps"] <= 11.0  # paced at the file's 10 fps (--realtime is on with --serve)
        time.sleep(1.5)  # serving idle: not classifying time
        with httpx.stream("GET", url + "stream.mjpg", timeout=10) as response:
            first = next(response.iter_bytes())
        assert b"Content-Type: image/jpeg" in first  # the last frame, annotated
        proc.send_signal(signal.SIGINT)
        stdout, stderr = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    rows = [line for line in stdout.splitlines() if line.startswith("{")]
    assert len(rows) == 20 and "20 classified" in stderr and "Traceback" not in stderr
    assert f"{health['fps']:.1f} img/s" in stderr, stderr  # the page's figure, idle time left out


def _serving_url(proc) -> str:
    lines = []
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        line = proc.stderr.readline()
        if not line:
            break
        lines.append(line)
        if line.startswith("serving http://127.0.0.1:"):
            return line.split()[1]
    raise AssertionError("".join(lines))
