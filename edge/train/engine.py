"""The epoch loops: train one epoch, evaluate, with AMP/channels_last/DDP where configured."""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass

import torch
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from torch import nn
from torch.utils.data import DataLoader, Dataset, DistributedSampler

from edge.train.device import TrainDevice


@dataclass
class EpochStats:
    loss: float
    accuracy: float
    seconds: float
    images: int

    @property
    def images_per_second(self) -> float:
        return self.images / max(self.seconds, 1e-9)


def make_loader(ds: Dataset, dev: TrainDevice, batch_size: int, train: bool, seed: int) -> DataLoader:
    if dev.num_workers > 0 and hasattr(ds, "preload"):
        ds.preload()
    sampler = None
    if train and dev.distributed:
        sampler = DistributedSampler(ds, num_replicas=dev.world_size, rank=dev.rank, shuffle=True, seed=seed)
    generator = torch.Generator().manual_seed(seed)
    return DataLoader(
        ds, batch_size=batch_size, shuffle=train and sampler is None, sampler=sampler,
        num_workers=dev.num_workers, pin_memory=dev.pin_memory, drop_last=False, generator=generator,
        persistent_workers=dev.num_workers > 0,
    )


def progress(enabled: bool) -> Progress:
    """A transient bar on a terminal; none in a log or a pipe, where a finished bar leaves a blank line."""
    on_terminal = sys.stdout.isatty()
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                    transient=True, disable=not (enabled and on_terminal))


def to_device(images: torch.Tensor, labels: torch.Tensor, dev: TrainDevice,
              augment: nn.Module | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Move a batch to the device; `augment` (uint8 train crops -> normalized floats) runs there."""
    images = images.to(dev.device, non_blocking=True)
    if augment is not None:
        images = augment(images)
    if dev.channels_last:
        images = images.contiguous(memory_format=torch.channels_last)
    return images, labels.to(dev.device, non_blocking=True)


def set_train_mode(model: nn.Module, head: nn.Module | None, freeze_bn: bool) -> None:
    """Train mode, except: with `head` given only the head trains (frozen backbone); with
    `freeze_bn` BatchNorm layers keep their ImageNet statistics (Keras' fine-tuning advice:
    batch statistics of a few hundred augmented photos are noisy and hurt validation accuracy)."""
    model.train(head is None)
    if head is not None:
        head.train()
    if freeze_bn:
        for module in model.modules():
            if isinstance(module, nn.modules.batchnorm._BatchNorm):
                module.eval()


def train_epoch(*, model: nn.Module, loader: DataLoader, optimizer, scheduler, criterion, dev: TrainDevice,
                scaler: torch.amp.GradScaler | None, description: str, augment: nn.Module,
                head: nn.Module | None = None, freeze_bn: bool = False) -> EpochStats:
    """One pass over `loader` (see set_train_mode for which layers are in train mode).

    Loss and hits stay on the device until the epoch ends: a `.item()` per step would make the
    CPU wait for the GPU every step instead of queueing the next one."""
    set_train_mode(model, head, freeze_bn)
    start, seen = time.perf_counter(), 0
    total_loss = torch.zeros((), device=dev.device)
    correct = torch.zeros((), device=dev.device, dtype=torch.long)
    with progress(dev.is_main) as bar:
        task = bar.add_task(description, total=len(loader))
        for images, labels in loader:
            images, labels = to_device(images, labels, dev, augment)
            optimizer.zero_grad(set_to_none=True)
            with dev.autocast():
                logits = model(images)
                loss = criterion(logits, labels)
            if scaler is not None:
                scaler.scale(loss).backward()
                scaler.step(optimizer)
                scaler.update()
            else:
                loss.backward()
                optimizer.step()
            scheduler.step()
            total_loss += loss.detach().float() * len(labels)
            correct += (logits.argmax(1) == labels).sum()
            seen += len(labels)
            bar.advance(task)
    loss_value, hits = total_loss.item(), correct.item()  # the one sync of the epoch
    return EpochStats(loss_value / max(seen, 1), hits / max(seen, 1), time.perf_counter() - start, seen)


@torch.no_grad()
def predict(model: nn.Module, loader: DataLoader, dev: TrainDevice) -> tuple[torch.Tensor, torch.Tensor]:
    """All logits (float32, CPU) and labels of a loader, in order."""
    model.eval()
    all_logits, all_labels = [], []
    for images, labels in loader:
        images, _ = to_device(images, labels, dev)
        with dev.autocast():
            logits = model(images)
        all_logits.append(logits.float().cpu())
        all_labels.append(labels)
    return torch.cat(all_logits), torch.cat(all_labels)


def accuracy(logits: torch.Tensor, labels: torch.Tensor) -> float:
    return (logits.argmax(1) == labels).float().mean().item() if len(labels) else 0.0
