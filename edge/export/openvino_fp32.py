"""OpenVINO IR FP32, converted from the checked ONNX file, manifest in rt_info.

Weights stay FP32 by default (`compress_to_fp16=False`): `ov.save_model` would halve them silently
otherwise, and the FP32 artifact must match PyTorch; the INT8 artifact is the small one.
`--fp16-weights` opts in to FP16 storage (compute stays FP32).
"""

from __future__ import annotations

from pathlib import Path

from edge.export.job import ExportJob
from edge.manifest import MANIFEST_KEY, Manifest


def save(model, path: Path, manifest: Manifest, fp16_weights: bool = False) -> Path:
    import openvino as ov

    model.set_rt_info(manifest.to_json(), MANIFEST_KEY)
    ov.save_model(model, str(path), compress_to_fp16=fp16_weights)
    return path


def export(job: ExportJob) -> Path:
    import openvino as ov

    model = ov.convert_model(str(job.artifact("onnx")))
    return save(model, job.artifact("openvino"), job.manifest_for("openvino"), job.fp16_weights)
