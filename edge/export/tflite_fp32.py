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


def convert(module: torch.nn.Module, job: ExportJob, path: Path) -> Path:
    """litert_torch.convert on a batch-1 example, written to `path`."""
    litert_torch = import_litert_torch()
    with warnings.catch_warnings(), third_party_output(), native_output(), torch.no_grad():
        warnings.simplefilter("ignore")
        edge_model = litert_torch.convert(module, (torch.zeros(1, *job.input_shape),))
        edge_model.export(str(path))
    return path


def export(job: ExportJob) -> Path:
    path = convert(job.model.eval(), job, job.artifact("tflite"))
    embed_manifest(path, job.manifest)
    return path
