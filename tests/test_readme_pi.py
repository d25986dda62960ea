"""The README's Raspberry Pi block, run as written: a fresh venv from the wheel, then `edge-infer ... --serve`.

Only what a Pi has and this machine cannot is replaced: the apt line is skipped, `~` is a temporary
home, `picam` a short video, port 8080 a free port on 127.0.0.1, and `exports/flowers` a small
export folder holding the `tflite-int8` artifact every Pi profile runs first. pip installs from the
registry as on a Pi (its download cache is shared, so a second run is quick).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import ROOT, make_dataset

MARKER = "**On a Raspberry Pi**"


def readme_pi_block() -> list[str]:
    """The command lines of the first bash block after the Raspberry Pi paragraph, comments dropped."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    block = re.search(r"```bash\n(.*?)```", text[text.index(MARKER):], re.S).group(1)
    return [line.split("  #")[0].strip() for line in block.splitlines() if line.strip()]


def test_readme_pi_block_names_the_pi_extra():
    lines = readme_pi_block()
    assert lines[0].startswith("sudo apt") and any("[pi]" in line for line in lines)
    assert lines[-1].endswith("edge-infer exports/flowers picam --serve 8080")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _video(path: Path, photos: list[Path], frames: int = 60) -> Path:
    import cv2

    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 15.0, (160, 120))
    for i in range(frames):
        writer.write(cv2.resize(cv2.imread(str(photos[i % len(photos)])), (160, 120)))
    writer.release()
    return path


@pytest.fixture(scope="module")
def pi_export(tiny_run, tmp_path_factory) -> Path:
    """The tiny run exported with tflite-int8 (and the ONNX pair), through the CLI like a user."""
    if importlib_missing("litert_torch") or importlib_missing("ai_edge_quantizer"):
        pytest.skip("tflite-int8 export needs the litert extra (make install has it)")
    out = tmp_path_factory.mktemp("piexport") / "export"
    result = subprocess.run([str(Path(sys.executable).parent / "edge"), "export", str(tiny_run), "--out", str(out),
                             "--format", "onnx-int8", "--format", "tflite-int8"], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-2000:]
    return out


def importlib_missing(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is None


def _wheel(tmp: Path) -> Path:
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp), str(ROOT)], check=True,
                   env=os.environ | {"PIP_CONFIG_FILE": os.devnull})
    return next(tmp.glob("edge_classifier-*.whl"))


def _wait_for(url: str, process: subprocess.Popen, seconds: float = 90) -> dict:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"edge-infer --serve exited {process.returncode}: {process.stderr.read()[-2000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                return json.loads(response.read())
        except OSError:
            time.sleep(0.5)
    pytest.fail(f"{url} did not answer in {seconds} s")


def test_readme_pi_block_runs_as_written(pi_export, tmp_path):
    home, work = tmp_path / "home", tmp_path / "work"
    home.mkdir()
    shutil.copytree(pi_export, work / "exports" / "flowers")
    photos = sorted(make_dataset(tmp_path / "photos", 3).rglob("*.jpg"))
    video, port, wheel = _video(tmp_path / "clip.mp4", photos), _free_port(), _wheel(tmp_path / "dist")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VIRTUAL_ENV", "PYTHONPATH"))}
    env |= {"HOME": str(home), "PIP_CACHE_DIR": str(Path.home() / ".cache" / "pip")}
    *setup, serve = [line for line in readme_pi_block() if not line.startswith("sudo apt")]
    for line in setup:
        line = line.replace("./edge_classifier-0.1.0-py3-none-any.whl", str(wheel)).replace("~", str(home))
        result = subprocess.run(line, shell=True, env=env, cwd=work, capture_output=True, text=True, timeout=600)
        assert result.returncode == 0, f"{line}: {result.stderr[-2000:]}"
    bin_dir = home / "edge-venv" / "bin"
    runnable = subprocess.run([str(bin_dir / "python"), "-c", "from edge.runtime.backends import runnable; "
                               "from edge.export_dir import ExportDir; from pathlib import Path; import sys; "
                               "print(' '.join(f.name for f in runnable(ExportDir(Path(sys.argv[1])))[0]))",
                               str(work / "exports" / "flowers")], capture_output=True, text=True, env=env)
    assert "tflite-int8" in runnable.stdout.split(), runnable.stderr
    command = serve.replace("~", str(home)).replace("picam", str(video)).replace("8080", str(port))
    process = subprocess.Popen(command, shell=True, env=env, cwd=work, stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        health = _wait_for(f"http://127.0.0.1:{port}/healthz", process)
        request = urllib.request.Request(f"http://127.0.0.1:{port}/v1/classify", data=photos[0].read_bytes(),
                                         headers={"Content-Type": "image/jpeg"})
        with urllib.request.urlopen(request, timeout=30) as response:
            answer = json.loads(response.read())
    finally:
        os.killpg(process.pid, signal.SIGINT)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    stderr = process.stderr.read()
    assert health and answer["top"][0]["label"] in {"daisy", "roses", "tulips"}
    assert not re.search(r"skipped [^\n]*tflite-int8", stderr), stderr
