"""Feature extraction done once: run the frozen backbone a few times, train the head many times.

With a frozen backbone every epoch recomputes the same features (up to augmentation). Caching
`feature_views` augmented views per image, then training the Dropout+Linear head on those tensors,
turns a minutes-long epoch into milliseconds.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from torch.utils.data import Dataset

from edge.train.device import TrainDevice
from edge.train.engine import make_loader, progress, to_device
from edge.train.models import get_submodule, set_submodule
from edge.train.zoo import ModelEntry


@dataclass
class Features:
    x: torch.Tensor  # (N, D) head inputs
    y: torch.Tensor  # (N,) labels


@torch.no_grad()
def extract(*, model: nn.Module, entry: ModelEntry, ds: Dataset, dev: TrainDevice, batch_size: int,
            views: int, seed: int, description: str, augment: nn.Module | None = None) -> Features:
    """Head inputs for every image, `views` times (each pass draws new random augmentations)."""
    head = get_submodule(model, entry.head_path)
    set_submodule(model, entry.head_path, nn.Identity())
    model.eval()
    xs, ys = [], []
    try:
        with progress(dev.is_main) as bar:
            loader = make_loader(ds, dev, batch_size, train=False, seed=seed)
            task = bar.add_task(description, total=views * len(loader))
            for v in range(views):
                torch.manual_seed(seed + v)  # augmentations of view v are reproducible
                for images, labels in loader:
                    images, labels = to_device(images, labels, dev, augment)
                    with dev.autocast():
                        xs.append(model(images).float())
                    ys.append(labels)
                    bar.advance(task)
    finally:
        set_submodule(model, entry.head_path, head)
    return Features(torch.cat(xs), torch.cat(ys))
