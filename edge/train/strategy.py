"""Pick a transfer-learning strategy and set up what trains at which learning rate."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from edge.train.config import TrainConfig
from edge.train.models import backbone_parameters, head_parameters
from edge.train.zoo import ModelEntry


@dataclass(frozen=True)
class Plan:
    head_phase: bool  # a new head on frozen-backbone features (cached: cross-validated linear head)
    finetune_phase: bool  # train all layers with differential learning rates
    reason: str
    name: str


FROZEN_BELOW = 1000  # labelled photos


def choose_plan(strategy: str, n_images: int) -> Plan:
    """The usual transfer-learning rule, keyed on how many labelled photos there are."""
    if strategy == "feature-extract":
        return Plan(True, False, "requested", "feature-extract")
    if strategy == "finetune":
        return Plan(False, True, "requested", "finetune")
    if n_images < FROZEN_BELOW:
        return Plan(True, False, f"{n_images} labelled images < {FROZEN_BELOW}: a frozen backbone with a "
                    "cross-validated linear head (fine-tuning was not tried on this data: "
                    "--strategy finetune tries it)",
                    "feature-extract")
    return Plan(False, True, f"{n_images} labelled images >= {FROZEN_BELOW}: full fine-tune with differential LRs",
                "finetune")


def freeze_backbone(model: nn.Module, entry: ModelEntry) -> str:
    """Freeze everything but the head; return the `Trainable: N / M (x%)` line."""
    for p in backbone_parameters(model, entry):
        p.requires_grad_(False)
    for p in head_parameters(model, entry):
        p.requires_grad_(True)
    return trainable_line(model)


def unfreeze_all(model: nn.Module) -> str:
    for p in model.parameters():
        p.requires_grad_(True)
    return trainable_line(model)


def trainable_line(model: nn.Module) -> str:
    total = sum(p.numel() for p in model.parameters())
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    return f"Trainable: {trainable:,} / {total:,} ({100 * trainable / total:.2f}%)"


def differential_optimizer(
    model: nn.Module, entry: ModelEntry, cfg: TrainConfig, steps: int, max_lr_head: float
) -> tuple[torch.optim.Optimizer, torch.optim.lr_scheduler.OneCycleLR]:
    """AdamW with a small LR for the backbone and a larger one for the head, under OneCycle."""
    groups = [
        {"params": backbone_parameters(model, entry), "lr": cfg.lr_backbone},
        {"params": head_parameters(model, entry), "lr": cfg.lr_head},
    ]
    optimizer = torch.optim.AdamW(groups, weight_decay=cfg.weight_decay)
    scheduler = torch.optim.lr_scheduler.OneCycleLR(
        optimizer, max_lr=[cfg.max_lr_backbone, max_lr_head], total_steps=max(1, steps)
    )
    return optimizer, scheduler


def head_optimizer(
    params: list[nn.Parameter], cfg: TrainConfig, steps: int
) -> tuple[torch.optim.Optimizer, torch.optim.lr_scheduler.OneCycleLR]:
    optimizer = torch.optim.AdamW(params, lr=cfg.lr_head, weight_decay=cfg.weight_decay)
    scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=cfg.max_lr_head, total_steps=max(1, steps))
    return optimizer, scheduler
