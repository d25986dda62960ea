"""The CUDA training path (AMP, channels_last) where a GPU is visible; skipped elsewhere (the `gpu` marker)."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from edge.cli.main import app

runner = CliRunner()


@pytest.mark.gpu
def test_a_run_trained_on_cuda_exports_and_checks_on_cpu(tiny_data, tmp_path):
    """The checkpoint of a GPU run loads on a CPU-only export, whose parity check then passes."""
    run, export = tmp_path / "run", tmp_path / "export"
    result = runner.invoke(app, ["train", str(tiny_data), "--out", str(run), "--model", "mobilenet_v3_small",
                                 "--strategy", "finetune", "--epochs", "2", "--no-pretrained", "--image-size", "64",
                                 "--batch-size", "4", "--device", "cuda"])
    assert result.exit_code == 0, result.output
    assert json.loads((run / "metrics.json").read_text())["device"].startswith("cuda")
    result = runner.invoke(app, ["export", str(run), "--out", str(export), "--format", "onnx"])
    assert result.exit_code == 0, result.output
    row = {r["name"]: r for r in json.loads((export / "export_report.json").read_text())["formats"]}["onnx"]
    assert row["top1_agreement"] == 1.0 and row["max_abs_logit_diff"] < 1e-3
