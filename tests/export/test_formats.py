"""Every format against PyTorch on small random-init models of every exportable zoo family."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from edge.export import onnx_fp32, onnx_int8, openvino_fp32, openvino_int8, parity, torchscript
from edge.export.fixpad import fix_same_padding
from edge.export.job import MAX_DROP_POINTS
from edge.train.models import build_model
from edge.train.zoo import get_entry
from tests.conftest import real_photos
from tests.export.helpers import make_job

FAMILIES = ["mobilenet_v3_small", "mobilenet_v2", "efficientnet_b0", "efficientnet_lite0", "resnet18"]


@pytest.fixture(scope="module")
def photos():
    by_class = real_photos(8)
    images = [p for paths in by_class.values() for p in paths]
    labels = [i for i, paths in enumerate(by_class.values()) for _ in paths]
    return images, labels


def _check(job, runtime: str, path, max_diff: float | None, min_agreement: float) -> dict:
    logits = parity.batched(parity.load_backend(runtime, path, 2).run, job.val_x)
    result = parity.compare(logits, job.reference_logits, job.val_y)
    assert logits.shape == job.reference_logits.shape
    assert result["top1_agreement"] >= min_agreement, result
    if max_diff is not None:
        assert result["max_abs_logit_diff"] <= max_diff, result
    return result


def test_fixed_padding_is_exact():
    model = build_model(get_entry("efficientnet_lite0"), 3, pretrained=False).eval()
    x = torch.randn(2, 3, 96, 96)
    with torch.no_grad():
        before = model(x)
        assert fix_same_padding(model, (3, 96, 96)) == 5
        after = model(x)
    assert torch.equal(before, after)


@pytest.mark.openvino
@pytest.mark.parametrize("name", FAMILIES)
def test_fp32_formats_match_pytorch(name, photos, tmp_path):
    job = make_job(name, *photos, tmp_path)
    _check(job, "torch", torchscript.export(job), 1e-3, 1.0)
    onnx_path = onnx_fp32.export(job)
    _check(job, "onnxruntime", onnx_path, 1e-3, 1.0)
    _check(job, "openvino", openvino_fp32.export(job), 1e-3, 1.0)


@pytest.mark.openvino
# Lite0 takes ~100 s of INT8 searches on 2 cores: make test-slow; the fast suite keeps MobileNetV3.
@pytest.mark.parametrize("name", [pytest.param("efficientnet_lite0", marks=pytest.mark.slow), "mobilenet_v3_small"])
def test_int8_formats_stay_close_to_pytorch(name, photos, tmp_path):
    job = make_job(name, *photos, tmp_path)
    onnx_fp32.export(job)
    _check(job, "onnxruntime", onnx_int8.export(job), None, 0.75)
    notes = job.notes["onnx-int8"]
    assert notes["settings"] in {s.name for s in onnx_int8.SETTINGS}
    tried = notes["candidates"]  # best-first: every candidate before the winner missed the budget
    assert tried[-1]["settings"] == notes["settings"] or not notes["within_budget"]
    assert all(not row["within_budget"] for row in tried[:-1])
    openvino_fp32.export(job)
    _check(job, "openvino", openvino_int8.export(job), None, 0.75)
    assert job.notes["openvino-int8"]["settings"].startswith("nncf-")


def test_onnx_graph_is_clean(photos, tmp_path):
    import onnx

    job = make_job("efficientnet_lite0", *photos, tmp_path)
    model = onnx.load(str(onnx_fp32.export(job)))
    ops = {node.op_type for node in model.graph.node}
    assert not ops & {"Shape", "Ceil", "Pad", "Identity"}  # no run-time padding subgraph left
    assert model.graph.input[0].type.tensor_type.shape.dim[0].dim_param == "batch"
    assert not list(tmp_path.glob("*.data"))
    assert np.isfinite(job.reference_logits).all()


def test_bias_correction_reduces_the_int8_error(photos, tmp_path):
    import shutil

    from onnxruntime.quantization.shape_inference import quant_pre_process

    from edge.export import bias_correction

    job = make_job("efficientnet_lite0", *photos, tmp_path)
    quant_pre_process(str(onnx_fp32.export(job)), str(tmp_path / "pre.onnx"))
    plain, corrected = tmp_path / "plain.onnx", tmp_path / "corrected.onnx"
    onnx_int8._quantize(tmp_path / "pre.onnx", job, onnx_int8.Setting("plain"), plain)
    shutil.copy(plain, corrected)
    assert bias_correction.correct(tmp_path / "pre.onnx", corrected, job.val_x) > 10

    def mean_error(path) -> float:
        logits = parity.batched(parity.load_backend("onnxruntime", path, 2).run, job.val_x)
        return float(np.abs(logits - job.reference_logits).mean())

    assert mean_error(corrected) < mean_error(plain)


@pytest.mark.parametrize("max_drop,winner,within,built", [(None, "a", True, ["a"]), (0.5, "b", True, ["a", "b"]),
                                                           (0.1, "b", False, ["a", "b"])])
def test_search_judges_against_the_users_budget(monkeypatch, tmp_path, max_drop, winner, within, built):
    from edge.export import int8_search

    rows = {"a": (0.83, 0.99), "b": (0.4, 0.995)}  # name -> (accuracy drop in points, agreement)
    monkeypatch.setattr(int8_search, "measure", lambda runtime, path, job: {
        "accuracy_drop": rows[path.name][0], "top1_agreement": rows[path.name][1], "latency_ms": 1.0})
    job = type("Job", (), {"budget": MAX_DROP_POINTS if max_drop is None else max_drop})()
    seen: list[str] = []
    candidates = [int8_search.Candidate(n, lambda path, n=n: seen.append(n) or path) for n in rows]
    best, ok, tried = int8_search.search(candidates, "onnxruntime", job, tmp_path, "")
    assert (best["settings"], ok) == (winner, within)
    assert tried[0]["within_budget"] is (max_drop is None)  # 0.83 points is outside a 0.5 budget
    assert seen == built  # the search stops at the first candidate within budget


def test_max_drop_binds_onnx_int8(photos, tmp_path):
    job = make_job("mobilenet_v3_small", *photos, tmp_path)
    job.max_drop = 0.0
    onnx_fp32.export(job)
    onnx_int8.export(job)
    notes = job.notes["onnx-int8"]
    assert notes["budget_points"] == 0.0
    assert all(row["within_budget"] == (row["accuracy_drop"] <= 0.0 and row["top1_agreement"] >= 0.98)
               for row in notes["candidates"] if "error" not in row)


def test_format_table_and_exporters_are_in_step():
    from edge.export.exporters import EXPORTERS
    from edge.formats import FORMATS, runtime_preference

    assert list(EXPORTERS) == list(FORMATS)
    assert [f.name for f in runtime_preference()] == ["onnx-int8", "onnx", "openvino-int8", "tflite-int8", "openvino",
                                                      "tflite", "ncnn"]


@pytest.mark.parametrize("formats,options,message", [(["onnx"], {"max_drop": 0.5}, "--max-drop applies to onnx-int8"),
                                                      (["onnx"], {"fp16_weights": True}, "--fp16-weights applies"),
                                                      (["tensorrt"], {}, "unknown format 'tensorrt'")])
def test_options_are_checked_against_the_table(formats, options, message):
    from edge.errors import EdgeError
    from edge.formats import check_options, resolve_formats

    with pytest.raises(EdgeError, match=message):
        check_options(resolve_formats(formats, False), options)


def test_defaults_add_litert_only_where_its_converter_is_installed(monkeypatch):
    import importlib.util

    from edge.formats import resolve_formats

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: real(name) if name != "litert_torch" else None)
    assert [f.name for f in resolve_formats(None, True)] == ["torchscript", "onnx", "onnx-int8", "openvino",
                                                              "openvino-int8"]
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: object() if name == "litert_torch" else real(name))
    assert {"tflite", "tflite-int8"} <= {f.name for f in resolve_formats(None, True)}
    assert [f.name for f in resolve_formats(["tflite-int8"], False)] == ["tflite", "tflite-int8"]  # its FP32 input
