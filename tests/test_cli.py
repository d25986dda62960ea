"""The CLI contract: help, one-line errors with exit 1, the runtime-only install."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from edge.cli.infer import app as infer_app
from edge.cli.main import app
from tests.conftest import BLOCK_TORCH

runner = CliRunner()
ROOT = Path(__file__).resolve().parents[1]


def _no_torch_env() -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(BLOCK_TORCH), str(ROOT)])
    return env


def test_help_lists_every_stage():
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    for command in ("train", "export", "infer", "bench", "devices", "classify"):
        assert command in result.output


def test_edge_infer_help():
    result = runner.invoke(infer_app, ["--help"])
    assert result.exit_code == 0 and "--json" in result.output and "--top-k" in result.output


def test_train_errors_are_one_line_and_exit_1(tmp_path):
    result = runner.invoke(app, ["train", str(tmp_path / "missing"), "--out", str(tmp_path / "run")])
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: ") and "missing" in lines[0]


def test_unknown_model_and_strategy(tiny_data, tmp_path):
    result = runner.invoke(app, ["train", str(tiny_data), "--out", str(tmp_path / "r"), "--model", "nope"])
    assert result.exit_code == 1 and "unknown model 'nope'" in result.output
    result = runner.invoke(app, ["train", str(tiny_data), "--out", str(tmp_path / "r"), "--strategy", "magic"])
    assert result.exit_code == 1 and "--strategy" in result.output


def test_config_file_values_and_flag_precedence(tmp_path):
    from edge.train.config import load_config

    cfg_file = tmp_path / "c.toml"
    cfg_file.write_text('epochs = 3\nbatch_size = 8\nmodel = "resnet18"\n')
    cfg = load_config(cfg_file, {"epochs": 5, "data": "d", "out": "o", "model": None})
    assert (cfg.epochs, cfg.batch_size, cfg.model) == (5, 8, "resnet18")
    cfg_file.write_text("epoch = 3\n")
    result = runner.invoke(app, ["train", "d", "--out", "o", "--config", str(cfg_file)])
    assert result.exit_code == 1 and "unknown config key(s) epoch" in result.output


def test_runtime_imports_without_torch():
    code = "import sys, edge.runtime, edge.devices, edge.cli.infer, edge.cli.main; assert 'torch' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)


def test_without_torch_train_says_how_to_install(tmp_path):
    code = "from edge.cli.main import main; main()"
    result = subprocess.run([sys.executable, "-c", code, "train", "photos", "--out", "x"], env=_no_torch_env(),
                            capture_output=True, text=True, cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        "error: `edge train` needs PyTorch: install the training extras with pip install 'edge-classifier[train]'"]
    help_run = subprocess.run([sys.executable, "-c", code, "--help"], env=_no_torch_env(), capture_output=True,
                              text=True, cwd=tmp_path)
    assert help_run.returncode == 0 and "infer" in help_run.stdout


def _runtime_venv_python() -> Path:
    """The venv of `make install-runtime` (the wheel, no extras: what a Pi has); CI always makes it."""
    import pytest

    python = ROOT / ".venv-runtime" / "bin" / "python"
    if not python.exists():
        if os.environ.get("CI"):
            pytest.fail("CI must make .venv-runtime (make install-runtime), the install a Pi uses")
        pytest.skip("no .venv-runtime here (make install-runtime)")
    return python


def test_runtime_venv_runs_an_int8_export_folder_without_openvino(tiny_export, tiny_data, tmp_path):
    """The README's Pi path: the wheel in a fresh venv, then `edge-infer EXPORT_DIR photo.jpg`."""
    python = _runtime_venv_python()
    assert subprocess.run([str(python), "-c", "import openvino"], capture_output=True).returncode != 0
    export = shutil.copytree(tiny_export, tmp_path / "export")  # tune caches its choice inside
    photo = next((tiny_data / "tulips").iterdir())
    result = subprocess.run([str(python.parent / "edge-infer"), str(export), str(photo)], capture_output=True,
                            text=True, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(str(photo)) and "skipped openvino" in result.stderr


def test_runtime_only_venv_has_no_torch_and_imports_the_runtime():
    python = _runtime_venv_python()
    code = ("import sys, importlib.util, edge.runtime, edge.devices; assert 'torch' not in sys.modules; "
            "assert importlib.util.find_spec('torch') is None")
    subprocess.run([str(python), "-c", code], check=True, cwd=ROOT)
    edge = python.parent / "edge"
    result = subprocess.run([str(edge), "train", "photos", "--out", "x"], capture_output=True, text=True)
    assert result.returncode == 1 and "pip install 'edge-classifier[train]'" in result.stderr
    version = subprocess.run([str(python.parent / "edge-infer"), "--version"], capture_output=True, text=True)
    assert version.returncode == 0 and version.stdout.startswith("edge-classifier ")
