"""TFLite FP32 through litert-torch (torch.export, then LiteRT's converter), the manifest inside.

The model keeps PyTorch's NCHW input (the converter adds one transpose at the input; XNNPACK
runs the convolutions in NHWC) and both outputs, logits and the unknown score, in order. Batch 1,
as a camera or a single photo runs it; the runtime loops over a batch.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import torch

from edge.export.job import ExportJob
from edge.export.tflite_meta import embed_manifest, import_litert_torch
from edge.library_output import native_output, third_party_output


def export(job: ExportJob) -> Path:
    """litert_torch.convert on a batch-1 example, then the manifest embedded."""
    litert_torch = import_litert_torch()
    path = job.artifact("tflite")
    with warnings.catch_warnings(), third_party_output(), native_output(), torch.no_grad():
        warnings.simplefilter("ignore")
        litert_torch.convert(job.model.eval(), (torch.zeros(1, *job.input_shape),)).export(str(path))
    embed_manifest(path, job.manifest_for("tflite"))
    return path
