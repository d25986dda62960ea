"""INT8 ONNX: ORT static quantization, settings picked by measured accuracy and speed.

Signed int8 activations (ORT's QDQ default) ran 4-5x slower than FP32 on x86; unsigned
activations (U8S8) or QOperator are fast. Rather than guess, every candidate is quantized from
the same calibration set (after ORT's quantization pre-processing) and measured; the fastest one
within the accuracy budget wins, and the report lists what every other one measured. ORT has no
bias correction of its own; `bias_correction.py` adds it (on flowers5 Lite0 it took the drop from
2.5 points to 0).
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from edge.errors import EdgeError
from edge.export import bias_correction, selection
from edge.export.job import ExportJob
from edge.export.onnx_meta import embed_manifest


@dataclass(frozen=True)
class Candidate:
    name: str
    fmt: str = "QDQ"  # QDQ | QOperator
    activations: str = "QUInt8"  # QUInt8 (u8s8) | QInt8 (s8s8)
    per_channel: bool = True
    method: str = "MinMax"  # MinMax | Entropy | Percentile
    reduce_range: bool = False  # 7-bit weights: avoids u8s8 saturation on CPUs without VNNI
    float_edges: bool = False  # keep the first conv and the classifier in float
    bias_correction: bool = False  # move each conv's mean output error into its bias (QDQ only)


BIAS_CORRECTION_IMAGES = 64  # calibration images used to measure the per-channel mean errors

CANDIDATES = (
    Candidate("qdq-u8s8-per-channel-minmax"),
    Candidate("qdq-u8s8-per-channel-minmax-bias-corrected", bias_correction=True),
    Candidate("qdq-u8s8-per-channel-minmax-float-edges", float_edges=True),
    Candidate("qdq-u8s8-per-channel-minmax-float-edges-bias-corrected", float_edges=True, bias_correction=True),
    Candidate("qdq-u8s8-per-channel-percentile", method="Percentile"),
    Candidate("qdq-u8s8-per-channel-reduce-range", reduce_range=True),
    Candidate("qdq-u8s8-per-tensor-minmax", per_channel=False),
    Candidate("qoperator-u8s8-per-channel-minmax", fmt="QOperator"),
    Candidate("qdq-s8s8-per-channel-minmax", activations="QInt8"),
)


class _Reader:
    """ORT CalibrationDataReader over preprocessed images, one per call: ORT's histogram
    calibrators (Percentile, Entropy) fail on batches of unequal size."""

    def __init__(self, x: np.ndarray, input_name: str):
        self.batches = iter([{input_name: x[i : i + 1]} for i in range(len(x))])

    def get_next(self):
        return next(self.batches, None)


def _edge_nodes(model_path: Path) -> list[str]:
    """Names of the first Conv and the last Gemm/MatMul (the classifier)."""
    import onnx

    nodes = onnx.load(str(model_path)).graph.node
    first = next((n.name for n in nodes if n.op_type == "Conv"), None)
    last = next((n.name for n in reversed(nodes) if n.op_type in ("Gemm", "MatMul")), None)
    return [n for n in (first, last) if n]


def _quantize(pre: Path, out: Path, job: ExportJob, c: Candidate) -> None:
    from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_static

    quantize_static(
        str(pre), str(out), _Reader(job.calibration, "input"),
        quant_format=getattr(QuantFormat, c.fmt), activation_type=getattr(QuantType, c.activations),
        weight_type=QuantType.QInt8, per_channel=c.per_channel, reduce_range=c.reduce_range,
        calibrate_method=getattr(CalibrationMethod, c.method),
        nodes_to_exclude=_edge_nodes(pre) if c.float_edges else None,
        extra_options={"ActivationSymmetric": c.activations == "QInt8"},
    )
    if c.bias_correction:
        step = max(1, len(job.calibration) // BIAS_CORRECTION_IMAGES)
        bias_correction.correct(pre, out, job.calibration[::step][:BIAS_CORRECTION_IMAGES], job.threads)


def export(job: ExportJob) -> Path:
    from onnxruntime.quantization.shape_inference import quant_pre_process

    pre = job.path("model.pre.onnx")
    quant_pre_process(str(job.workdir / "model.onnx"), str(pre))
    tried, failed = [], []
    for c in CANDIDATES:
        candidate = job.path(f".quant/{c.name}.onnx")
        try:  # one candidate's calibration can fail on degenerate ranges; the others still count
            _quantize(pre, candidate, job, c)
        except Exception as exc:
            failed.append({"settings": c.name, "error": f"{type(exc).__name__}: {str(exc)[:120]}"})
            continue
        tried.append({"settings": c.name, "path": candidate, **selection.measure("onnxruntime", candidate, job)})
    if not tried:
        raise EdgeError(f"onnx-int8: every quantization setting failed ({failed[0]['error']})")
    best, within = selection.choose(tried)
    path = job.path("model.int8.onnx")
    shutil.copyfile(best["path"], path)
    shutil.rmtree(job.workdir / ".quant")
    pre.unlink()
    embed_manifest(path, job.manifest.with_updates(precision="int8"))
    job.notes["onnx-int8"] = {"settings": best["settings"], "within_budget": within,
                              "candidates": selection.public(tried) + failed}
    return path
