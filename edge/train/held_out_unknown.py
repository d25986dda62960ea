"""The unknown score for the SGD paths (fine-tune, uncached head), from their held-out split.

The frozen path cross-validates its threshold (edge.train.frozen). A trained backbone cannot be
cross-validated cheaply, but its held-out split is photos it never trained on: class means come
from the training photos' features, the threshold from the held-out photos' scores.
"""

from __future__ import annotations

import torch

from edge.train import features, openset
from edge.train.datasets import ImageDataset
from edge.train.models import get_submodule
from edge.train.session import Session
from edge.train.transforms import val_transform

MIN_HELD_OUT = 5  # below this a 5 %-quantile threshold means nothing


def held_out_unknown(s: Session) -> tuple[dict, dict, torch.Tensor | None]:
    """(the manifest's `unknown`, the checkpoint's score tensors, the held-out photos' scores); ({}, {}, None)
    when the split is too small or there is no score."""
    if len(s.split.val) < MIN_HELD_OUT:
        s.log(f"unknown: no score ({len(s.split.val)} held-out photos; it needs {MIN_HELD_OUT})")
        return {}, {}, None
    common = {"model": s.model, "entry": s.entry, "dev": s.dev, "batch_size": s.cfg.batch_size, "views": 1,
              "seed": s.cfg.seed}
    train_ds = ImageDataset(s.split.train, val_transform(s.pre), min_side=s.pre.decode_side)
    train = features.extract(ds=train_ds, description="features: training", **common)
    held_out = features.extract(ds=s.val_ds, description="features: held-out", **common)
    with torch.no_grad():
        logits = get_submodule(s.model, s.entry.head_path)(held_out.x).float().cpu()
    x = held_out.x.float().cpu()
    means = openset.class_means(train.x.float().cpu(), train.y.cpu(), len(s.split.classes))
    cosine = openset.cosine_score(x, means)
    unknown, tensors = openset.from_held_out(cosine, logits, means, s.cfg.unknown_score, s.cfg.unknown_keep)
    s.log(openset.describe(unknown))
    standardise = tensors.get(openset.STANDARDISE_KEY)
    scores = cosine if standardise is None else openset.combined_score(logits, cosine, standardise)
    return unknown, tensors, scores
