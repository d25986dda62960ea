"""Train/val transforms built from a zoo entry's preprocessing (never hard-coded elsewhere).

Training is split in two: per image on the loader's CPU workers, only the geometric part
(RandomResizedCrop, flip) down to a small uint8 tensor; per batch on the training device, the
photometric part (ColorJitter) and normalization. On a GPU the per-image PIL ColorJitter was what
starved the model (780 img/s fed vs 2,370 img/s the model trains at on resident tensors).
"""

from __future__ import annotations

import torch
from torch import nn
from torchvision import transforms as T

from edge.preprocessing import Preprocessing

_INTERP = {"bilinear": T.InterpolationMode.BILINEAR, "bicubic": T.InterpolationMode.BICUBIC,
           "nearest": T.InterpolationMode.NEAREST}


def val_transform(pre: Preprocessing) -> T.Compose:
    """Resize the shorter side, center crop, normalize: what the runtime reproduces exactly."""
    return T.Compose([
        T.Resize(pre.resize_size, interpolation=_INTERP[pre.interpolation], antialias=True),
        T.CenterCrop(pre.crop_size),
        T.ToTensor(),
        T.Normalize(pre.mean, pre.std),
    ])


def train_transform(pre: Preprocessing, min_scale: float = 0.6) -> T.Compose:
    """Per image, on the CPU: random crop and flip to a uint8 (3, H, W) tensor."""
    return T.Compose([
        T.RandomResizedCrop(pre.crop_size, scale=(min_scale, 1.0), interpolation=_INTERP[pre.interpolation],
                            antialias=True),
        T.RandomHorizontalFlip(),
        T.PILToTensor(),
    ])


def _grey(x: torch.Tensor) -> torch.Tensor:
    weights = torch.tensor([0.299, 0.587, 0.114], device=x.device, dtype=x.dtype).view(1, 3, 1, 1)
    return (x * weights).sum(1, keepdim=True)


class BatchAugment(nn.Module):
    """Per batch, on the training device: ColorJitter(brightness, contrast, saturation) with an
    independent random factor per image (as torchvision's would draw), then normalize."""

    def __init__(self, pre: Preprocessing, jitter: float = 0.3):
        super().__init__()
        self.jitter = jitter
        self.register_buffer("mean", torch.tensor(pre.mean).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(pre.std).view(1, 3, 1, 1), persistent=False)

    def _factor(self, x: torch.Tensor) -> torch.Tensor:
        low = max(0.0, 1.0 - self.jitter)
        return torch.empty(x.shape[0], 1, 1, 1, device=x.device).uniform_(low, 1.0 + self.jitter)

    @torch.no_grad()
    def forward(self, images: torch.Tensor) -> torch.Tensor:
        x = images.float().div_(255.0)
        if self.jitter > 0:
            x = (x * self._factor(x)).clamp_(0, 1)  # brightness
            mean = _grey(x).mean(dim=(1, 2, 3), keepdim=True)
            x = ((x - mean) * self._factor(x) + mean).clamp_(0, 1)  # contrast
            grey = _grey(x)
            x = ((x - grey) * self._factor(x) + grey).clamp_(0, 1)  # saturation
        return (x - self.mean.to(x.device)) / self.std.to(x.device)
