"""Train/val transforms built from a zoo entry's preprocessing (never hard-coded elsewhere)."""

from __future__ import annotations

from torchvision import transforms as T

from edge.train.zoo import Preprocessing

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


def train_transform(pre: Preprocessing, min_scale: float = 0.6, jitter: float = 0.3) -> T.Compose:
    return T.Compose([
        T.RandomResizedCrop(pre.crop_size, scale=(min_scale, 1.0), interpolation=_INTERP[pre.interpolation],
                            antialias=True),
        T.RandomHorizontalFlip(),
        T.ColorJitter(jitter, jitter, jitter),
        T.ToTensor(),
        T.Normalize(pre.mean, pre.std),
    ])
