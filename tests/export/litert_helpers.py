"""An open-set export job (logits + unknown score) around a small random-init model, for the LiteRT and ncnn tests."""

from __future__ import annotations

import numpy as np
import torch

from edge.export import parity
from edge.export.job import ExportJob
from edge.export.torch_backend import TorchBackend
from edge.train.openset import OpenSetModel
from edge.train.zoo import get_entry
from tests.export.helpers import make_job

NAME = "mobilenet_v3_small"


def open_set_job(images, labels, workdir) -> ExportJob:
    """make_job's model with the unknown score as a second output; far inputs (noise) for the score check."""
    job = make_job(NAME, images, labels, workdir)
    head_path = get_entry(NAME).head_path
    width = [m for m in job.model.get_submodule(head_path).modules() if isinstance(m, torch.nn.Linear)][-1].in_features
    means = torch.from_numpy(np.random.default_rng(0).standard_normal((3, width)).astype(np.float32))
    job.model = OpenSetModel(job.model, head_path, means).eval()
    job.unknown_x = np.random.default_rng(1).standard_normal((6, *job.val_x.shape[1:])).astype(np.float32)
    job.reference_logits, job.reference_unknown = parity.logits_and_scores(
        TorchBackend(job.model).run_all, job.val_x, job.unknown_x)
    return job


def outputs(backend: str, path, job: ExportJob) -> tuple[np.ndarray, np.ndarray]:
    return parity.logits_and_scores(parity.load_backend(backend, path, 2).run_all, job.val_x, job.unknown_x)
