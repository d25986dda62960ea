"""TorchScript: traced, frozen, with the manifest in `_extra_files`."""

from __future__ import annotations

from pathlib import Path

import torch

from edge.export.job import ExportJob

MANIFEST_FILE = "manifest.json"  # name inside the TorchScript archive's extra files


def export(job: ExportJob) -> Path:
    example = torch.zeros(1, *job.input_shape)
    with torch.no_grad():
        traced = torch.jit.trace(job.model, example)
        frozen = torch.jit.freeze(traced.eval())
    path = job.artifact("torchscript")
    torch.jit.save(frozen, str(path), _extra_files={MANIFEST_FILE: job.manifest_for("torchscript").to_json()})
    return path
