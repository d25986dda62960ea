"""Build export jobs around small random-init models with realistic BatchNorm statistics."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from edge.export.data import preprocess_all
from edge.export.fixpad import fix_same_padding
from edge.export.job import ExportJob
from edge.train.models import build_model
from edge.train.zoo import get_entry, manifest_for


@torch.no_grad()
def reestimate_bn(model: torch.nn.Module, x: np.ndarray, passes: int = 5) -> None:
    """Random-init BN (mean 0, var 1) gives near-zero logits; a few train-mode passes on real
    images give it real statistics, so quantization is tested on a realistic activation range."""
    model.train()
    for _ in range(passes):
        model(torch.from_numpy(x))
    model.eval()


def make_job(name: str, images: list[Path], labels: list[int], workdir: Path, size: int = 64) -> ExportJob:
    torch.manual_seed(0)
    entry = get_entry(name)
    pre = entry.preprocessing.at_size(size)
    manifest = manifest_for(entry, pre, ["a", "b", "c"], "")
    model = build_model(entry, 3, pretrained=False)
    x = preprocess_all(images, manifest)
    reestimate_bn(model, x)
    fix_same_padding(model, (3, size, size))
    with torch.no_grad():
        reference = model(torch.from_numpy(x)).numpy()
    workdir.mkdir(parents=True, exist_ok=True)
    return ExportJob(model=model, manifest=manifest, workdir=workdir, val_x=x, val_y=np.array(labels),
                     reference_logits=reference, make_calibration=lambda: x, threads=2)
