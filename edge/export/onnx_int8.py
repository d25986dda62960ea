"""INT8 ONNX: ORT static quantization, settings picked by measured accuracy and speed.

Signed int8 activations (ORT's QDQ default) ran 4-5x slower than FP32 on x86; unsigned
activations (U8S8) or QOperator are fast. Rather than guess, every candidate is quantized from
the same calibration set and measured; the fastest one within the accuracy budget wins.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np

from edge.errors import EdgeError
from edge.export import parity
from edge.export.job import ExportJob
from edge.export.onnx_meta import embed_manifest

MAX_DROP_POINTS = 1.0
MIN_AGREEMENT = 0.98
# (name, format, activations, per_channel, calibration method)
CANDIDATES = (
    ("qdq-u8s8-per-channel-minmax", "QDQ", "QUInt8", True, "MinMax"),
    ("qdq-u8s8-per-tensor-minmax", "QDQ", "QUInt8", False, "MinMax"),
    ("qoperator-u8s8-per-channel-minmax", "QOperator", "QUInt8", True, "MinMax"),
    ("qdq-u8s8-per-channel-percentile", "QDQ", "QUInt8", True, "Percentile"),
    ("qdq-s8s8-per-channel-minmax", "QDQ", "QInt8", True, "MinMax"),
)


class _Reader:
    """ORT CalibrationDataReader over preprocessed images, one per call: ORT's histogram
    calibrators (Percentile, Entropy) fail on batches of unequal size."""

    def __init__(self, x: np.ndarray, input_name: str, batch_size: int = 1):
        self.batches = iter([{input_name: x[i : i + batch_size]} for i in range(0, len(x), batch_size)])

    def get_next(self):
        return next(self.batches, None)


def _quantize(pre: Path, out: Path, job: ExportJob, fmt: str, act: str, per_channel: bool, method: str) -> None:
    from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_static

    quantize_static(
        str(pre), str(out), _Reader(job.calibration, "input"),
        quant_format=getattr(QuantFormat, fmt), activation_type=getattr(QuantType, act),
        weight_type=QuantType.QInt8, per_channel=per_channel, calibrate_method=getattr(CalibrationMethod, method),
        extra_options={"ActivationSymmetric": act == "QInt8"},
    )


def _measure(path: Path, job: ExportJob) -> dict:
    run = parity.runner("onnxruntime", path, job.threads)
    return {**parity.compare(parity.batched(run, job.val_x), job),
            "latency_ms": round(parity.latency_ms(run, job.val_x), 3)}


def _acceptable(row: dict) -> bool:
    drop_ok = row["accuracy_drop"] is None or row["accuracy_drop"] <= MAX_DROP_POINTS
    return drop_ok and row["top1_agreement"] >= MIN_AGREEMENT


def export(job: ExportJob) -> Path:
    from onnxruntime.quantization.shape_inference import quant_pre_process

    pre = job.path("model.pre.onnx")
    quant_pre_process(str(job.workdir / "model.onnx"), str(pre))
    tried, failed = [], []
    for name, fmt, act, per_channel, method in CANDIDATES:
        candidate = job.path(f".quant/{name}.onnx")
        try:  # one candidate's calibration can fail on degenerate ranges; the others still count
            _quantize(pre, candidate, job, fmt, act, per_channel, method)
        except Exception as exc:
            failed.append({"settings": name, "error": f"{type(exc).__name__}: {str(exc)[:120]}"})
            continue
        tried.append({"settings": name, "path": candidate, **_measure(candidate, job)})
    if not tried:
        raise EdgeError(f"onnx-int8: every quantization setting failed ({failed[0]['error']})")
    good = [row for row in tried if _acceptable(row)]
    best = min(good, key=lambda r: r["latency_ms"]) if good else max(tried, key=lambda r: r["top1_agreement"])
    path = job.path("model.int8.onnx")
    shutil.copyfile(best["path"], path)
    shutil.rmtree(job.workdir / ".quant")
    pre.unlink()
    embed_manifest(path, job.manifest.with_updates(precision="int8"))
    job.notes["onnx-int8"] = {
        "settings": best["settings"],
        "within_budget": bool(good),
        "candidates": [{k: v for k, v in row.items() if k != "path"} for row in tried] + failed,
    }
    return path
