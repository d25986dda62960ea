"""Several frozen zoo backbones as one model: pooled features concatenated into one linear head.

`--model efficientnet_lite0+efficientnet_lite1` builds this. The graph has one input, at the largest
of the backbones' sizes (the manifest's); a branch that wants a smaller size resizes inside the graph
(bilinear, so every exporter and both INT8 quantizers handle it), and a branch whose weights expect
another mean/std re-normalises with one per-channel multiply-add. The head sits at `classifier`, so
the head swap, feature caching, the unknown score (`OpenSetModel`) and every exporter treat it like a
single backbone: the "features" are the concatenation.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from edge.errors import EdgeError
from edge.preprocessing import Preprocessing
from edge.train.backbones import build_single, get_submodule, set_submodule
from edge.train.zoo import ModelEntry, get_entry

HEAD_PATH = "classifier"


def branch_size(input_size: int, native: int, widest: int) -> int:
    """The size a branch runs at: its own, scaled like the input was (an --image-size override)."""
    return int(round(input_size * native / widest))


class Branch(nn.Module):
    """One backbone fed the shared input: resize to its size, re-normalise, pooled features."""

    def __init__(self, backbone: nn.Module, input_size: int, size: int, affine: tuple[list, list] | None):
        super().__init__()
        self.backbone = backbone
        self.input_size, self.size = input_size, size
        self.renormalise = affine is not None
        scale, shift = affine if affine is not None else ([1.0] * 3, [0.0] * 3)
        self.register_buffer("scale", torch.tensor(scale).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("shift", torch.tensor(shift).view(1, 3, 1, 1), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.size != self.input_size:  # static sizes: a constant Resize in every exported graph
            x = nn.functional.interpolate(x, size=(self.size, self.size), mode="bilinear", align_corners=False)
        if self.renormalise:
            x = x * self.scale + self.shift
        return self.backbone(x)


def affine(given: Preprocessing, wanted: Preprocessing) -> tuple[list, list] | None:
    """(scale, shift) taking input normalised with `given`'s mean/std to `wanted`'s; None if equal."""
    if (given.mean, given.std) == (wanted.mean, wanted.std):
        return None
    scale = [sa / sb for sa, sb in zip(given.std, wanted.std)]
    shift = [(ma - mb) / sb for ma, mb, sb in zip(given.mean, wanted.mean, wanted.std)]
    return scale, shift


class MultiBackbone(nn.Module):
    def __init__(self, branches: list[Branch], dims: list[int], natives: list[int], fixed: bool):
        super().__init__()
        self.branches = nn.ModuleList(branches)
        self.dims, self.natives = list(dims), list(natives)
        # no ImageNet head exists for a concatenation: a placeholder the head swap replaces
        self.classifier = nn.Linear(sum(dims), 1000)
        # the branch sizes travel in the state dict, so a rebuilt model resizes as the trained one did
        self.register_buffer("sizes", torch.tensor([branches[0].input_size] + [b.size for b in branches]))
        self.register_load_state_dict_post_hook(_sync_sizes)
        self.fixed = fixed  # False: the first input's size sets the branch sizes (an --image-size run)

    def set_input_size(self, input_size: int) -> None:
        """Branch sizes for this input size, each keeping its ratio to the widest backbone's."""
        sizes = [branch_size(input_size, n, max(self.natives)) for n in self.natives]
        with torch.no_grad():
            self.sizes.copy_(torch.tensor([input_size, *sizes]))
        _sync_sizes(self, None)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        if not self.fixed:
            self.set_input_size(int(x.shape[-1]))
        return torch.cat([branch(x) for branch in self.branches], dim=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x))


def _sync_sizes(module: MultiBackbone, _incompatible) -> None:
    module.fixed = True
    input_size, *sizes = (int(v) for v in module.sizes.tolist())
    for branch, size in zip(module.branches, sizes):
        branch.input_size, branch.size = input_size, size


def parts(entry: ModelEntry) -> list[ModelEntry]:
    return [get_entry(name) for name in entry.name.split("+")]


def headless(entry: ModelEntry, pretrained: bool) -> tuple[nn.Module, int]:
    """A zoo backbone whose head is Identity (it returns pooled features), and their width."""
    model = build_single(entry, pretrained, None)
    width = get_submodule(model, entry.head_path).in_features
    set_submodule(model, entry.head_path, nn.Identity())
    return model, width


def make_branch(pre: Preprocessing, entry: ModelEntry, backbone: nn.Module, widest: int) -> Branch:
    """`entry`'s backbone fed input preprocessed as `pre` (a recipe whose widest backbone is `widest` px)."""
    size = branch_size(pre.crop_size, entry.preprocessing.crop_size, widest)
    return Branch(backbone, pre.crop_size, size, affine(pre, entry.preprocessing))


def assemble(entry: ModelEntry, backbones: list[tuple[nn.Module, int]], input_size: int | None) -> MultiBackbone:
    """The combined model from headless backbones (in the order of entry's name) at one input size
    (None: the widest backbone's, until the first input says otherwise)."""
    natives = [p.preprocessing.crop_size for p in parts(entry)]
    pre = entry.preprocessing.at_size(input_size or max(natives))
    branches = [make_branch(pre, part, module, max(natives)) for part, (module, _) in zip(parts(entry), backbones)]
    return MultiBackbone(branches, [width for _, width in backbones], natives, fixed=input_size is not None)


def build_imagenet(entry: ModelEntry, pretrained: bool, weights: str | Path | None) -> MultiBackbone:
    """models.build_imagenet_model for family "multi": each backbone with its own ImageNet weights."""
    if weights is not None:
        raise EdgeError(f"--weights loads one backbone's state dict; {entry.name} takes each backbone's weights "
                        "from its own package (or use --no-pretrained)")
    return assemble(entry, [headless(part, pretrained) for part in parts(entry)], None)
