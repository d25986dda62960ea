"""An honest "none of these": cosine similarity of the features to the nearest class mean.

Measured on flowers5 (scripts/unknown_check.py): far-away images (scikit-image samples, noise,
flat colours, gradients) score AUROC 0.998 and all are rejected at 95 % in-class keep, against
40 % for the maximum softmax probability. The score is part of the exported graph (a second output,
one 5 x D matrix product), so every format carries it and parity checks it like the logits.

`--unknown-score cosine+softmax` adds the maximum softmax probability, each standardised by its
held-out in-class mean and spread: a flower of a sixth kind looks like a blend of two known ones
(low softmax) more often than it looks far from every class. It trades far rejection (96 % instead
of 100 %) for near-unknown AUROC (0.81 instead of 0.75, leave-one-class-out), so it is opt-in.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from edge.train import crossval
from edge.train.models import get_submodule, set_submodule

# --unknown-score -> the name the manifest records
SCORES = {"cosine": "cosine_to_class_mean", "cosine+softmax": "cosine_plus_softmax_standardised"}
KEEPS = (0.9, 0.95, 0.98, 0.99, 0.995)  # in-class keep rates the manifest has a threshold for


def class_means(x: torch.Tensor, y: torch.Tensor, classes: int) -> torch.Tensor:
    return torch.stack([x[y == c].mean(0) for c in range(classes)])


def cosine_score(x: torch.Tensor, means: torch.Tensor) -> torch.Tensor:
    unit = nn.functional.normalize
    return (unit(x, dim=1) @ unit(means, dim=1).T).amax(1)


def combined_score(logits: torch.Tensor, cosine: torch.Tensor, standardise: torch.Tensor) -> torch.Tensor:
    """Max softmax and cosine, each as (value - held-out in-class mean) / held-out spread, summed."""
    softmax = torch.softmax(logits, 1).amax(1)
    return (softmax - standardise[0]) / standardise[1] + (cosine - standardise[2]) / standardise[3]


def standardiser(softmax: torch.Tensor, cosine: torch.Tensor) -> torch.Tensor:
    """(mean, std) of held-out in-class max softmax, then of cosine: the graph's four constants."""
    return torch.stack([softmax.mean(), softmax.std().clamp_min(1e-6), cosine.mean(), cosine.std().clamp_min(1e-6)])


def held_out_cosine(bank: crossval.FeatureBank, folds: int, seed: int) -> torch.Tensor:
    """Each photo's score against class means computed without it (k-fold)."""
    scores = torch.empty(len(bank.labels))
    for fold in crossval.stratified_folds(bank.labels.numpy(), folds, seed):
        train = torch.as_tensor(np.setdiff1d(np.arange(len(bank.labels)), fold))
        means = class_means(bank.center[train], bank.labels[train], bank.num_classes)
        scores[torch.as_tensor(fold)] = cosine_score(bank.center[torch.as_tensor(fold)], means)
    return scores


MEANS_KEY, STANDARDISE_KEY = "class_means", "unknown_standardise"  # the checkpoint's score tensors


def from_held_out(cosine: torch.Tensor, logits: torch.Tensor | None, means: torch.Tensor, kind: str,
                  keep: float) -> tuple[dict, dict]:
    """(the manifest's `unknown`, the checkpoint's score tensors) from held-out in-class cosine scores
    (and logits, which the combined score needs); `means` are the deployed model's class means."""
    if kind == "cosine":
        return unknown_spec(cosine, keep), {MEANS_KEY: means}
    standardise = standardiser(torch.softmax(logits, 1).amax(1), cosine)
    return (unknown_spec(combined_score(logits, cosine, standardise), keep, kind),
            {MEANS_KEY: means, STANDARDISE_KEY: standardise})


def describe(unknown: dict) -> str:
    return (f"unknown: {unknown['score']} below {unknown['threshold']:.3f} keeps {unknown['keep']:.0%} of the "
            f"{unknown['photos']} held-out photos")


def unknown_spec(scores: torch.Tensor, keep: float, kind: str = "cosine") -> dict:
    """Thresholds that keep the given share of held-out in-class photos; the manifest's `unknown`."""
    values = scores.numpy()
    thresholds = {str(k): round(float(np.quantile(values, 1 - k)), 6) for k in sorted({*KEEPS, keep})}
    return {"score": SCORES[kind], "keep": keep, "threshold": thresholds[str(keep)], "thresholds": thresholds,
            "photos": len(values)}


class OpenSetModel(nn.Module):
    """The classifier with a second output: (logits, unknown_score). Built for export only.

    `standardise` (the combined score's four constants) switches cosine alone to cosine + softmax."""

    def __init__(self, model: nn.Module, head_path: str, means: torch.Tensor, standardise: torch.Tensor | None = None):
        super().__init__()
        self.head = get_submodule(model, head_path)
        set_submodule(model, head_path, nn.Identity())
        self.backbone = model
        self.register_buffer("unit_means", nn.functional.normalize(means.float(), dim=1))
        self.standardise = None if standardise is None else nn.Buffer(standardise.float())

    @classmethod
    def from_checkpoint(cls, model: nn.Module, head_path: str, payload: dict) -> OpenSetModel | None:
        """The open-set wrapper when the checkpoint keeps the score's tensors; else None."""
        if MEANS_KEY not in payload:
            return None
        return cls(model, head_path, payload[MEANS_KEY], payload.get(STANDARDISE_KEY)).eval()

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        features = self.backbone(x)
        logits = self.head(features)
        score = (nn.functional.normalize(features, dim=1) @ self.unit_means.T).amax(1)
        if self.standardise is not None:
            score = combined_score(logits, score, self.standardise)
        return logits, score
