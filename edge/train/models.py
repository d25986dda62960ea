"""Build zoo models: ImageNet backbone (pretrained, local weights or random) + new head."""

from __future__ import annotations

from pathlib import Path

from torch import nn

from edge.errors import EdgeError
from edge.train import multi_backbone
from edge.train.backbones import build_single, get_submodule, set_submodule  # noqa: F401  (the models' front door)
from edge.train.zoo import ModelEntry


def build_imagenet_model(entry: ModelEntry, pretrained: bool, weights: str | Path | None) -> nn.Module:
    """The zoo model with its 1000-class ImageNet head, weights as asked."""
    if entry.family == "multi":  # backbones joined by "+": each loads its own weights
        return multi_backbone.build_imagenet(entry, pretrained, weights)
    return build_single(entry, pretrained, weights)


def swap_head(model: nn.Module, entry: ModelEntry, num_classes: int, dropout: float) -> nn.Module:
    old = get_submodule(model, entry.head_path)
    if not isinstance(old, nn.Linear):
        raise EdgeError(f"{entry.name}: expected a Linear head at {entry.head_path}, found {type(old).__name__}")
    set_submodule(model, entry.head_path, nn.Sequential(nn.Dropout(dropout), nn.Linear(old.in_features, num_classes)))
    return model


def build_model(
    entry: ModelEntry,
    num_classes: int,
    pretrained: bool = True,
    weights: str | Path | None = None,
    dropout: float = 0.2,
) -> nn.Module:
    model = build_imagenet_model(entry, pretrained, weights)
    return swap_head(model, entry, num_classes, dropout)


def head_parameters(model: nn.Module, entry: ModelEntry) -> list[nn.Parameter]:
    return list(get_submodule(model, entry.head_path).parameters())


def backbone_parameters(model: nn.Module, entry: ModelEntry) -> list[nn.Parameter]:
    head_ids = {id(p) for p in head_parameters(model, entry)}
    return [p for p in model.parameters() if id(p) not in head_ids]
