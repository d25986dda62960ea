"""ONNX FP32: TorchScript-based exporter, opset 17, dynamic batch only, ORT-optimized, checked."""

from __future__ import annotations

import warnings
from pathlib import Path

import torch

from edge.errors import EdgeError
from edge.export.job import ExportJob
from edge.export.onnx_meta import embed_manifest

OPSET = 17


def export(job: ExportJob) -> Path:
    raw = job.path("model.raw.onnx")
    # The TorchScript exporter: one self-contained file (no .onnx.data), a symbolic batch axis,
    # and in ~1 s; torch 2.13's default dynamo exporter fixes batch=1 and writes external data.
    outputs = ["logits", "unknown_score"] if job.manifest.unknown else ["logits"]
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            job.model, (torch.zeros(1, *job.input_shape),), str(raw), dynamo=False, opset_version=OPSET,
            input_names=["input"], output_names=outputs,
            dynamic_axes={name: {0: "batch"} for name in ["input", *outputs]}, do_constant_folding=True,
        )
    path = job.artifact("onnx")
    _optimize(raw, path)
    raw.unlink()
    embed_manifest(path, job.manifest_for("onnx"))
    _check(path)
    return path


def _optimize(src: Path, dst: Path) -> None:
    """ORT's basic level: constant folding, BN fusion, Identity removal. Provider-independent,
    so the saved graph is safe to run anywhere (the extended level is not)."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_BASIC
    options.optimized_model_filepath = str(dst)
    ort.InferenceSession(str(src), options, providers=["CPUExecutionProvider"])


def _check(path: Path) -> None:
    import onnx

    model = onnx.load(str(path))
    onnx.checker.check_model(model)
    opset = max(o.version for o in model.opset_import if o.domain in ("", "ai.onnx"))
    dims = model.graph.input[0].type.tensor_type.shape.dim
    if opset < OPSET or not dims[0].dim_param or any(d.dim_param for d in dims[1:]):
        raise EdgeError(f"{path}: exported graph has opset {opset} / input dims {dims}; expected opset>={OPSET}, "
                        "dynamic batch only")
