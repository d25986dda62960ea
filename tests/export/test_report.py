"""The export report typed both ways: what export writes reads back the same, older reports still load."""

from __future__ import annotations

from pathlib import Path

import pytest

from edge.errors import EdgeError
from edge.export_dir import ExportReport, FormatResult
from edge.formats import FORMATS, backend_for_file, file_suffixes, slower_than_fp32

INT8_ROW = {"name": "onnx-int8", "path": "model.int8.onnx", "top1_agreement": 1.0, "top1_agreement_ci95": [0.98, 1.0],
            "max_abs_logit_diff": 0.5, "accuracy": 1.0, "accuracy_drop": 0.0, "check_photos": 120, "size_mb": 3.8,
            "export_seconds": 37.7, "latency_ms_b1": 4.2, "settings": "qdq", "budget_points": 1.0,
            "candidates": [{"settings": "qdq", "within_budget": True}], "within_budget": True, "parity_warning": None,
            "slower_than_fp32": False}
FP32_ROW = {"name": "onnx", "path": "model.onnx", "top1_agreement": 1.0, "top1_agreement_ci95": [0.98, 1.0],
            "max_abs_logit_diff": 1e-5, "accuracy": None, "accuracy_drop": None, "check_photos": 120, "size_mb": 13.5,
            "export_seconds": 0.9, "latency_ms_b1": 6.7, "parity_warning": None}
REPORT = {"source": "runs/x", "reference_accuracy": None, "images": 120, "calibration_images": 300, "accuracy_note": "n",
          "threads": 2, "seconds": 80.0, "peak_rss_mb": 1500.0, "formats": [FP32_ROW, INT8_ROW],
          "files": {"model.onnx": {"sha256": "0" * 64, "bytes": 1}}}


def test_a_report_reads_back_to_the_same_keys_and_values():
    report = ExportReport.from_dict(REPORT)
    assert report.to_dict() == REPORT and list(report.to_dict()) == list(REPORT)
    row = report.row("onnx-int8")
    assert row.within_budget is True and row.top1_agreement_ci95 == (0.98, 1.0)
    assert row.extra == {"settings": "qdq", "budget_points": 1.0, "candidates": INT8_ROW["candidates"]}
    assert "within_budget" not in report.row("onnx").to_dict()  # written only where it applies


def test_an_older_report_still_loads():
    old = {"source": "runs/x", "images": 3, "formats": [{"name": "onnx", "path": "model.onnx", "top1_agreement": 1.0}],
           "from_the_future": 1}
    report = ExportReport.from_dict(old)
    assert report.row("onnx").check_photos is None and report.files is None and report.extra == {"from_the_future": 1}
    with pytest.raises(EdgeError, match="not an export report"):
        ExportReport.from_dict({"formats": [{"path": "model.onnx"}]})


def test_format_facts_come_from_the_table():
    for fmt in FORMATS.values():
        assert backend_for_file(Path("x") / fmt.path) == fmt.backend
    assert backend_for_file(Path("model.pb")) is None
    assert file_suffixes({"onnxruntime", "openvino"}) == [".onnx", ".xml"]
    assert slower_than_fp32({"onnx": 5.0, "onnx-int8": 5.0, "openvino-int8": 1.0, "torchscript": 9.0}) == {"onnx-int8": True}
    assert FormatResult(name="onnx", path="model.onnx").to_dict()["latency_ms_b1"] is None
