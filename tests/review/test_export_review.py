"""edge review EXPORT_DIR --data DIR: the same review through the runtime, plus INT8 vs FP32."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from edge.cli.main import app

pytest.importorskip("cleanlab")
pytest.importorskip("imagehash")


def test_export_on_a_labelled_folder(tiny_export, tiny_data, tmp_path):
    (tiny_data / "not_a_class").mkdir()
    out = tmp_path / "rv"
    result = CliRunner().invoke(app, ["review", str(tiny_export), "--data", str(tiny_data), "--out", str(out)])
    assert result.exit_code == 0, result.output
    d = json.loads((out / "review.json").read_text())
    assert d["photos"] == 18 and d["classes"] == ["daisy", "roses", "tulips"]
    assert any("not_a_class" in n for n in d["notes"]) and any("not out-of-fold" in n for n in d["notes"])
    pair = d["int8"]["pairs"][0]
    assert (pair["int8_format"], pair["fp32_format"]) == ("onnx-int8", "onnx") and pair["photos"] == 18
    assert pair["agree"] + len(pair["disagreements"]) == 18
    assert "model.int8.onnx" in d["method"]  # the runtime's first choice is what is reviewed
    assert sum(map(sum, d["confusion"]["counts"])) == 18


def test_export_needs_data(tiny_export):
    result = CliRunner().invoke(app, ["review", str(tiny_export)])
    assert result.exit_code == 1 and "--data DIR" in result.output
