"""The DDP path, for real: torchrun with 2 CPU processes (gloo) on a tiny dataset."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.skipif(shutil.which("torchrun", path=str(Path(sys.executable).parent)) is None,
                    reason="torchrun not installed next to this python")
def test_torchrun_two_cpu_processes(tiny_data, tmp_path):
    torchrun = shutil.which("torchrun", path=str(Path(sys.executable).parent))
    out = tmp_path / "run"
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=str(ROOT))
    cmd = [torchrun, "--standalone", "--nproc_per_node", "2", "-m", "edge.cli.main", "train", str(tiny_data),
           "--out", str(out), "--model", "mobilenet_v3_small", "--strategy", "finetune", "--epochs", "1",
           "--no-pretrained", "--image-size", "64", "--batch-size", "4", "--device", "cpu"]
    result = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["world_size"] == 2
    assert result.stdout.count("estimated accuracy on unseen photos") == 1  # only rank 0 reports
