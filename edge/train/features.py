"""Feature extraction done once: run the frozen backbone a few times, train the head many times.

With a frozen backbone every epoch recomputes the same features (up to augmentation). Caching
`feature_views` augmented views per image, then training the Dropout+Linear head on those tensors,
turns a minutes-long epoch into milliseconds.
"""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass

import torch
from torch import nn
from torch.utils.data import Dataset

from edge.train.device import Runtime
from edge.train.engine import accuracy, make_loader, progress, to_device
from edge.train.models import get_submodule, set_submodule
from edge.train.zoo import ModelEntry


@dataclass
class Features:
    x: torch.Tensor  # (N, D) head inputs
    y: torch.Tensor  # (N,) labels


@torch.no_grad()
def extract(model: nn.Module, entry: ModelEntry, ds: Dataset, rt: Runtime, batch_size: int,
            views: int, seed: int, description: str, augment: nn.Module | None = None) -> Features:
    """Head inputs for every image, `views` times (each pass draws new random augmentations)."""
    head = get_submodule(model, entry.head_path)
    set_submodule(model, entry.head_path, nn.Identity())
    model.eval()
    xs, ys = [], []
    try:
        with progress(rt.is_main) as bar:
            loader = make_loader(ds, rt, batch_size, train=False, seed=seed)
            task = bar.add_task(description, total=views * len(loader))
            for v in range(views):
                torch.manual_seed(seed + v)  # augmentations of view v are reproducible
                for images, labels in loader:
                    images, labels = to_device(images, labels, rt, augment)
                    with rt.autocast():
                        xs.append(model(images).float())
                    ys.append(labels)
                    bar.advance(task)
    finally:
        set_submodule(model, entry.head_path, head)
    return Features(torch.cat(xs), torch.cat(ys))


@dataclass
class HeadResult:
    best_accuracy: float
    best_epoch: int
    history: list[dict]
    seconds_per_epoch: float


def train_head(head: nn.Module, train: Features, val: Features, epochs: int, batch_size: int,
               optimizer, scheduler, criterion, seed: int) -> HeadResult:
    """Train `head` in place on cached features; keep the weights of the best validation epoch."""
    generator = torch.Generator(device="cpu").manual_seed(seed)
    best_acc, best_epoch, best_state, history = -1.0, 0, None, []
    start = time.perf_counter()
    for epoch in range(1, epochs + 1):
        head.train()
        order = torch.randperm(len(train.y), generator=generator).to(train.x.device)
        total_loss = 0.0
        for i in range(0, len(order), batch_size):
            idx = order[i : i + batch_size]
            optimizer.zero_grad(set_to_none=True)
            loss = criterion(head(train.x[idx]), train.y[idx])
            loss.backward()
            optimizer.step()
            scheduler.step()
            total_loss += loss.item() * len(idx)
        head.eval()
        with torch.no_grad():
            val_acc = accuracy(head(val.x), val.y)
        history.append({"phase": "head", "epoch": epoch, "loss": total_loss / len(order), "val_accuracy": val_acc})
        if val_acc > best_acc:
            best_acc, best_epoch, best_state = val_acc, epoch, copy.deepcopy(head.state_dict())
    seconds = (time.perf_counter() - start) / max(epochs, 1)
    head.load_state_dict(best_state)
    return HeadResult(best_acc, best_epoch, history, seconds)


def steps_per_epoch(n: int, batch_size: int) -> int:
    return (n + batch_size - 1) // batch_size


