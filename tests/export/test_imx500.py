"""imx500: the score's sensor form, the toolchain's one-line errors, the converter's reports, and (slow, with
the toolchain) a real export of a tiny run checked like every format."""

from __future__ import annotations

import json
import os
import stat
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from edge.errors import EdgeError
from edge.export import imx500_convert, imx500_tools
from edge.export.imx500 import threshold_note
from edge.export.imx500_graph import sensor_model, to_sensor_input
from edge.export.job import ExportJob
from edge.formats import FORMATS, runtime_preference
from edge.manifest import Manifest
from edge.preprocessing import Preprocessing
from edge.train.openset import OpenSetModel

MANIFEST = dict(schema_version=1, arch="tiny", labels=("a", "b", "c"), input_size=(3, 8, 8),
                preprocessing=Preprocessing(8, 8, "bilinear", (0.5, 0.5, 0.5), (0.5, 0.5, 0.5)), channel_order="RGB",
                layout="NCHW", precision="fp32")


class Tiny(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(nn.Conv2d(3, 6, 3), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.classifier = nn.Linear(6, 3)

    def forward(self, x):
        return self.classifier(self.features(x))


def open_set(standardise=None) -> OpenSetModel:
    torch.manual_seed(0)
    return OpenSetModel(Tiny(), "classifier", torch.rand(3, 6), standardise).eval()


@torch.no_grad()
def test_the_sensor_score_is_the_training_score():
    model, x = open_set(), torch.randn(16, 3, 8, 8)
    logits, score = model(x)
    sensor_logits, sensor_score = sensor_model(model, Manifest(**MANIFEST))(x)
    assert torch.equal(logits, sensor_logits)
    assert sensor_score.shape == (16, 1)  # the converter refuses an output with no axis beyond the batch
    assert torch.allclose(score, sensor_score[:, 0], atol=1e-6)


@torch.no_grad()
def test_another_normalisation_becomes_the_graphs_first_op():
    imagenet = replace(MANIFEST["preprocessing"], mean=(0.485, 0.456, 0.406), std=(0.229, 0.224, 0.225))
    manifest = Manifest(**{**MANIFEST, "preprocessing": imagenet})
    model, x = open_set(), torch.randn(4, 3, 8, 8)
    sensor = sensor_model(model, manifest)  # fed the sensor's input: pixel / 127.5 - 1
    fed = torch.from_numpy(to_sensor_input(x.numpy(), manifest))
    assert torch.allclose(model(x)[1], sensor(fed)[1][:, 0], atol=1e-5)
    assert to_sensor_input(x.numpy(), Manifest(**MANIFEST)) is not None


def test_cosine_plus_softmax_is_refused_in_one_line():
    with pytest.raises(EdgeError, match="cosine\\+softmax.*--unknown-score cosine"):
        sensor_model(open_set(torch.tensor([0.5, 0.1, 0.5, 0.1])), Manifest(**MANIFEST))


def test_the_table_row_and_the_runtime_never_offers_it_to_the_cpu():
    fmt = FORMATS["imx500"]
    assert fmt.sensor and fmt.int8 and fmt.check_photos == 100 and fmt.path == "imx500/packerOut.zip"
    assert fmt not in runtime_preference()


def test_a_slow_check_runs_on_evenly_spread_photos_and_every_non_photo():
    job = ExportJob(model=nn.Identity(), manifest=Manifest(**MANIFEST), workdir=Path("."), val_x=np.arange(10.0),
                    val_y=np.arange(10), reference_logits=np.arange(10.0) * 2, make_calibration=lambda: None,
                    unknown_x=np.zeros(3), reference_unknown=np.arange(13.0))
    small = job.subset(4)
    assert small.val_x.tolist() == [0, 3, 6, 9] and small.val_y.tolist() == [0, 3, 6, 9]
    assert small.reference_logits.tolist() == [0, 6, 12, 18]
    assert small.reference_unknown.tolist() == [0, 3, 6, 9, 10, 11, 12] and small.notes is job.notes
    assert job.subset(None) is job and job.subset(50) is job


def test_memory_report_and_output_steps(tmp_path):
    report = tmp_path / "model_MemoryReport.json"
    report.write_text(json.dumps({"Memory Report": {
        "Runtime Memory Physical Size": "1.59MB", "Model Memory Physical Size": "3.60MB", "Memory Usage": "5.20MB",
        "Total Memory Available On Chip": "8.00MB", "Fit In Chip": True}}))
    memory = imx500_convert.MemoryReport.read(report)
    assert memory.fits and memory.utilisation == 0.65 and "5.20 of 8 MB on the chip (65%" in memory.line()
    xml = tmp_path / "dnnParams.xml"
    xml.write_text('<dnnParams><outputTensors><outputTensor bitsPerElement="8" scale="0.125" format="signed"/>'
                   '<outputTensor bitsPerElement="8" scale="0.00390625" format="unsigned"/></outputTensors></dnnParams>')
    assert imx500_convert.output_steps(xml) == [{"bits": 8, "format": "signed", "step": 0.125},
                                                {"bits": 8, "format": "unsigned", "step": 0.00390625}]


def test_the_threshold_on_the_chips_steps():
    manifest = Manifest(**MANIFEST).with_updates(unknown={"score": "cosine_to_class_mean", "keep": 0.95,
                                                          "threshold": 0.434569, "thresholds": {"0.95": 0.434569}})
    note = threshold_note(manifest, 1 / 256)
    assert "'below 0.4346' acts as 'below 0.4375' (112 steps)" in note


def _script(path: Path, text: str) -> Path:
    path.write_text("#!/bin/sh\n" + text + "\n")
    path.chmod(path.stat().st_mode | stat.S_IEXEC)
    return path


def test_a_missing_toolchain_says_what_to_install(tmp_path, monkeypatch):
    if imx500_tools.find_spec("model_compression_toolkit") is not None:
        pytest.skip("MCT is importable in this Python: the toolchain is never missing here")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    _script(bin_dir / "java", 'echo \'openjdk version "11.0.2" 2019-01-15\' >&2')
    monkeypatch.setenv("EDGE_IMX500_VENV", str(tmp_path / "none"))
    monkeypatch.setenv("PATH", str(bin_dir))
    monkeypatch.delenv("JAVA_HOME", raising=False)
    problem = imx500_tools.missing()
    assert "make install-imx500" in problem and "imxconv-pt" in problem and "MCT" in problem
    assert "Java 17+" in problem and "openjdk-17-jre-headless" in problem and "Java 11" in problem
    with pytest.raises(EdgeError) as err:
        imx500_tools.find()
    assert "\n" not in str(err.value)


def test_the_export_command_refuses_without_the_toolchain_in_one_line(tiny_run, tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from edge.cli.main import app

    monkeypatch.setenv("EDGE_IMX500_VENV", str(tmp_path / "none"))
    monkeypatch.setenv("PATH", os.pathsep.join(p for p in os.environ["PATH"].split(os.pathsep)
                                               if not (Path(p) / "imxconv-pt").exists()))
    if imx500_tools.missing() is None:
        pytest.skip("the IMX500 toolchain is installed outside EDGE_IMX500_VENV")
    result = CliRunner().invoke(app, ["export", str(tiny_run), "--out", str(tmp_path / "e"), "--format", "imx500",
                                      "--calibration-size", "6"])
    assert result.exit_code == 1
    assert "make install-imx500" in result.output and len(result.output.strip().splitlines()) <= 4


@pytest.mark.slow
def test_a_real_export_is_checked_like_every_format(tiny_run, tmp_path):
    """MCT, imxconv-pt and the parity check on a tiny run (~2-3 min on 2 cores); skipped without the toolchain."""
    problem = imx500_tools.missing()
    if problem:
        pytest.skip(problem)
    from edge.export.pipeline import export

    report = export(source=str(tiny_run), out=tmp_path / "e", formats=["imx500"], calibration_size=6, log=print)
    row = report.row("imx500").to_dict()
    folder = tmp_path / "e" / "imx500"
    assert {"packerOut.zip", "model.onnx", "model_MemoryReport.json", "dnnParams.xml"} <= {p.name for p in folder.iterdir()}
    assert row["memory"]["fits"] and 0 < row["memory"]["utilisation"] < 1
    assert row["latency_ms_b1"] is None and row["check_photos"] <= 100 and "within_budget" in row
    assert row["output_steps"]["logits"]["bits"] == 8
    assert 0 <= row["top1_agreement"] <= 1 and "max_abs_logit_diff" in row
